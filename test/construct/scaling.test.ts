// Scaling on sessions and draining before scale-in: the target-tracking policy on the hosts'
// SessionsOpen metric, the Terminating lifecycle hook the drainer answers, the schedules, the
// instance lifetime and refresh, and the settings and permissions the hosts get for them.
import { Testing } from 'cdktf';
import { SshBastionModuleStack } from '../../src';
import { defaultTargetSessions, heartbeatTimeout } from '../../src/scaling';
import { dataSources, onlyResource, resources, synthBastion } from '../helpers/synth';
import { resolveConfig } from '../../src/config';
import { HOST_SETTING_VARIABLES, HostSettings } from '../../src/host-settings';
import { SshBastionServiceProps } from '../../src/props';
import { hostSettings } from '../../src/user-data';
import { REQUIRED_PROPS } from '../helpers/synth';

/** bastion.env's values for these properties, as the construct writes them. */
function settingsOf(props: Partial<SshBastionServiceProps>): Record<string, string> {
  const settings = hostSettings(resolveConfig({ ...REQUIRED_PROPS, ...props }), {
    region: 'eu-west-1',
    bucket: 'b',
    key: 'k',
    sha256: 's',
  });
  return Object.fromEntries(
    (Object.keys(HOST_SETTING_VARIABLES) as (keyof HostSettings)[]).map((key) => [HOST_SETTING_VARIABLES[key], settings[key]]),
  );
}

describe('scaling: target tracking on sessions per host', () => {
  test('by default the target is half the session cap of the first instance type, computed by Terraform from its memory', () => {
    const json = synthBastion();
    const [instanceType] = dataSources(json, 'aws_ec2_instance_type');
    expect(instanceType.instance_type).toBe('t4g.small');
    const policy = onlyResource(json, 'aws_autoscaling_policy');
    expect(policy.policy_type).toBe('TargetTrackingScaling');
    const spec = policy.target_tracking_configuration.customized_metric_specification;
    expect(spec).toEqual(
      expect.objectContaining({ namespace: 'SshBastion', metric_name: 'SessionsOpen', statistic: 'Average', unit: 'Count' }),
    );
    expect(spec.metric_dimension).toEqual([
      { name: 'AutoScalingGroupName', value: expect.stringMatching(/^\$\{aws_autoscaling_group\.\w+\.name\}$/) },
    ]);
    expect(policy.target_tracking_configuration.target_value).toMatch(
      /^\$\{max\(1, floor\(\(\(\(data\.aws_ec2_instance_type\.\w+\.memory_size - max\(floor\(\(data\.aws_ec2_instance_type\.\w+\.memory_size \/ 5\)\), 512\)\) \/ 16\) \/ 2\)\)\)\}$/,
    );
  });

  test("the derivation is the front's session cap (lib.sh derive_limits) halved: 48 on 2 GiB, 102 on 4 GiB, at least 1", () => {
    expect(defaultTargetSessions(2048)).toBe(48);
    expect(defaultTargetSessions(4096)).toBe(102);
    expect(defaultTargetSessions(8192)).toBe(204);
    expect(defaultTargetSessions(512)).toBe(1);
  });

  test('a given target is written as it is, with no instance type lookup', () => {
    const json = synthBastion({ targetSessionsPerHost: 25 });
    expect(onlyResource(json, 'aws_autoscaling_policy').target_tracking_configuration.target_value).toBe(25);
    expect(dataSources(json, 'aws_ec2_instance_type')).toHaveLength(0);
  });

  test('terraform leaves the desired capacity to the policy and the schedules once the group exists', () => {
    expect(onlyResource(synthBastion(), 'aws_autoscaling_group').lifecycle.ignore_changes).toEqual(['desired_capacity']);
  });
});

describe('scaling: draining before a host leaves', () => {
  test('a Terminating lifecycle hook that the drainer answers, CONTINUE when nobody does', () => {
    const hook = onlyResource(synthBastion(), 'aws_autoscaling_lifecycle_hook');
    expect(hook).toEqual(
      expect.objectContaining({
        name: 'ssh-bastion-drain',
        lifecycle_transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        default_result: 'CONTINUE',
      }),
    );
    // the default drain: session_max_seconds (43200); 100 heartbeat timeouts must cover it
    expect(hook.heartbeat_timeout).toBe(438);
  });

  test('the heartbeat timeout is at least the deregistration delay and lets AWS wait up to 48 hours', () => {
    expect(heartbeatTimeout(0)).toBe(300);
    expect(heartbeatTimeout(172800)).toBe(1734);
    expect(heartbeatTimeout(172800) * 100).toBeGreaterThanOrEqual(172800);
    const group = onlyResource(synthBastion(), 'aws_lb_target_group');
    expect(group.deregistration_delay).toBe('300');
    expect(group.connection_termination).toBe(false);
    // a draining host fails its health check on purpose: its open connections must not be reset
    expect(group.target_health_state).toEqual([{ enable_unhealthy_connection_termination: false }]);
  });

  test('the drain timeout reaches the hosts: session_max_seconds by default, at most 48 hours, or as given', () => {
    expect(settingsOf({}).BASTION_DRAIN_TIMEOUT_SECONDS).toBe('43200');
    expect(settingsOf({ sessionMaxSeconds: 604800 }).BASTION_DRAIN_TIMEOUT_SECONDS).toBe('172800');
    expect(settingsOf({ drainTimeoutSeconds: 600 }).BASTION_DRAIN_TIMEOUT_SECONDS).toBe('600');
    expect(onlyResource(synthBastion({ drainTimeoutSeconds: 600 }), 'aws_autoscaling_lifecycle_hook').heartbeat_timeout).toBe(300);
  });

  test("the hosts learn their group's name from an SSM parameter written once the group exists", () => {
    const json = synthBastion();
    const parameter = resources(json, 'aws_ssm_parameter').find((p) => String(p.name).endsWith('/autoscaling-group-name'))!;
    expect(parameter.name).toBe('/staging/vpc-0123456789abcdef0/bastion-service/autoscaling-group-name');
    expect(parameter.type).toBe('String');
    expect(parameter.value).toMatch(/^\$\{aws_autoscaling_group\.\w+\.name\}$/);
    expect(settingsOf({}).BASTION_GROUP_NAME_PARAMETER).toBe(parameter.name);
  });

  test("the hosts may read that parameter, answer their own group's lifecycle actions and publish to the SshBastion namespace, nothing more", () => {
    const policy: string = resources(synthBastion(), 'aws_iam_role_policy').find((p) => p.name_prefix === 'scaling-and-drain-')!.policy;
    expect(policy.match(/"Sid" = /g)).toHaveLength(3);
    expect(policy).toMatch(
      /"Action" = \["ssm:GetParameter"\], "Resource" = "arn:[^"]*:parameter\/staging\/vpc-0123456789abcdef0\/bastion-service\/autoscaling-group-name"/,
    );
    expect(policy).toMatch(
      /"Action" = \["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"\], "Resource" = aws_autoscaling_group\.\w+\.arn/,
    );
    expect(policy).toContain(
      '"Action" = ["cloudwatch:PutMetricData"], "Resource" = "*", "Condition" = {"StringEquals" = {"cloudwatch:namespace" = "SshBastion"}}',
    );
  });
});

describe('scaling: schedules, lifetime and refresh', () => {
  test('no schedules by default: a for_each over an empty list', () => {
    const schedule = onlyResource(synthBastion(), 'aws_autoscaling_schedule');
    expect(schedule.for_each).toBe('${zipmap(formatlist("%02d", range(0, length([]), 1)), [])}');
  });

  test('each schedule is a scheduled action in the time zone, named or schedule-NN, -1 leaving the desired capacity', () => {
    const json = synthBastion({
      schedules: [
        { name: 'evening', recurrence: '0 19 * * MON-FRI', minSize: 0, maxSize: 0, desiredCapacity: 0 },
        { recurrence: '0 7 * * MON-FRI', minSize: 1, maxSize: 4 },
      ],
      scheduleTimeZone: 'Europe/Berlin',
    });
    const schedule = onlyResource(json, 'aws_autoscaling_schedule');
    expect(schedule.for_each).toContain(
      '{"name" = "evening", "recurrence" = "0 19 * * MON-FRI", "min_size" = 0, "max_size" = 0, "desired_capacity" = 0}',
    );
    expect(schedule.for_each).toContain(
      '{"name" = "", "recurrence" = "0 7 * * MON-FRI", "min_size" = 1, "max_size" = 4, "desired_capacity" = -1}',
    );
    expect(schedule).toEqual(
      expect.objectContaining({
        scheduled_action_name: '${coalesce(each.value.name, "schedule-${each.key}")}',
        recurrence: '${each.value.recurrence}',
        time_zone: 'Europe/Berlin',
        min_size: '${each.value.min_size}',
        max_size: '${each.value.max_size}',
        desired_capacity: '${coalesce(each.value.desired_capacity, -1)}',
      }),
    );
  });

  test('hosts live 7 days by default, then are replaced (drained first); 0 lifts the limit', () => {
    expect(onlyResource(synthBastion(), 'aws_autoscaling_group').max_instance_lifetime).toBe(604800);
    expect(onlyResource(synthBastion({ maxInstanceLifetime: 0 }), 'aws_autoscaling_group').max_instance_lifetime).toBe(0);
  });

  test('an instance refresh launches the new host before its old one leaves: capacity stays while hosts drain', () => {
    expect(onlyResource(synthBastion(), 'aws_autoscaling_group').instance_refresh).toEqual({
      strategy: 'Rolling',
      preferences: { min_healthy_percentage: 100, max_healthy_percentage: 200 },
    });
  });
});

describe('scaling in the registry module', () => {
  const module = JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module')));

  test('the variables: target_sessions_per_host and drain_timeout_seconds null by default, schedules typed with optional name and desired capacity', () => {
    expect(module.variable.target_sessions_per_host).toEqual(expect.objectContaining({ type: 'number', default: null, nullable: true }));
    expect(module.variable.drain_timeout_seconds).toEqual(expect.objectContaining({ type: 'number', default: null, nullable: true }));
    expect(module.variable.max_instance_lifetime).toEqual(expect.objectContaining({ type: 'number', default: 604800 }));
    expect(module.variable.schedule_time_zone).toEqual(expect.objectContaining({ type: 'string', default: 'Etc/UTC' }));
    expect(module.variable.schedules.type).toBe(
      'list(object({ name = optional(string), recurrence = string, min_size = number, max_size = number, desired_capacity = optional(number) }))',
    );
    expect(module.variable.schedules.default).toEqual([]);
  });

  test("a null drain timeout is session_max_seconds, at most 48 hours; the hook's heartbeat timeout follows it", () => {
    expect(module.resource.aws_autoscaling_lifecycle_hook.drain_hook.heartbeat_timeout).toBe(
      '${min(7200, max(300, ceil(((coalesce(var.drain_timeout_seconds, min(var.session_max_seconds, 172800)) + 600) / 100))))}',
    );
    expect(module.resource.aws_autoscaling_schedule.schedule.for_each).toBe(
      '${zipmap(formatlist("%02d", range(0, length(var.schedules), 1)), var.schedules)}',
    );
    expect(module.resource.aws_autoscaling_policy.sessions_scaling_policy.target_tracking_configuration.target_value).toMatch(
      /^\$\{coalesce\(var\.target_sessions_per_host, max\(1, /,
    );
  });
});
