import { Fn, Op, TerraformIterator, Token } from 'cdktf';
import { Construct } from 'constructs';
import { AutoscalingLifecycleHook } from '@cdktf/provider-aws/lib/autoscaling-lifecycle-hook';
import { AutoscalingPolicy } from '@cdktf/provider-aws/lib/autoscaling-policy';
import { AutoscalingSchedule } from '@cdktf/provider-aws/lib/autoscaling-schedule';
import { DataAwsEc2InstanceType } from '@cdktf/provider-aws/lib/data-aws-ec2-instance-type';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { BastionConfig } from './config';
import { firstOf, isExpression } from './conditional';
import type { Compute } from './compute';
import type { Identity } from './identity';

/** CloudWatch namespace of the hosts' metrics (the drainer publishes SessionsOpen and ConnectionsWaiting). */
export const METRIC_NAMESPACE = 'SshBastion';
/** The Terminating lifecycle hook the drainer answers (its name is fixed in the drainer). */
export const LIFECYCLE_HOOK_NAME = 'ssh-bastion-drain';
/**
 * The service target group's deregistration delay. Auto Scaling deregisters a leaving host and
 * waits for this (or for its connections to end) before the lifecycle hook's wait begins; the hook
 * then waits at least as long without a heartbeat before it gives up on a silent drainer.
 */
export const DEREGISTRATION_DELAY_SECONDS = 300;
/** What derive_limits (userdata lib.sh) budgets per session, MiB, and the host's least reserve. */
const SESSION_BUDGET_MB = 16;
const HOST_RESERVE_MIN_MB = 512;

export interface Scaling {
  readonly targetSessionsPerHost: number;
  readonly lifecycleHook: AutoscalingLifecycleHook;
}

/**
 * The lifecycle hook's heartbeat timeout: at least the deregistration delay, and long enough that
 * AWS's global timeout of a lifecycle action (100 heartbeat timeouts, at most 48 hours) covers the
 * drain timeout with ten minutes to spare; at most 7200 (AWS's bound).
 */
export function heartbeatTimeout(drainTimeoutSeconds: number): number {
  if (isExpression(drainTimeoutSeconds)) {
    return Token.asNumber(Fn.min([7200, Fn.max([DEREGISTRATION_DELAY_SECONDS, Fn.ceil(Op.div(Op.add(drainTimeoutSeconds, 600), 100))])]));
  }
  return Math.min(7200, Math.max(DEREGISTRATION_DELAY_SECONDS, Math.ceil((drainTimeoutSeconds + 600) / 100)));
}

/** Half the session cap derive_limits gives a host of `memoryMb` MiB, at least 1. */
export function defaultTargetSessions(memoryMb: number): number {
  return Math.max(1, Math.floor((memoryMb - Math.max(Math.floor(memoryMb / 5), HOST_RESERVE_MIN_MB)) / SESSION_BUDGET_MB / 2));
}

/** The same in Terraform, for a memory size only Terraform knows. */
function defaultTargetSessionsExpression(memoryMb: number): number {
  const reserve = Fn.max([Fn.floor(Op.div(memoryMb, 5)), HOST_RESERVE_MIN_MB]);
  return Token.asNumber(Fn.max([1, Fn.floor(Op.div(Op.div(Op.sub(memoryMb, reserve), SESSION_BUDGET_MB), 2))]));
}

/**
 * Scaling on sessions and draining before scale-in: the parameter that tells the hosts their
 * group's name, a target-tracking policy on the hosts' average SessionsOpen, the Terminating
 * lifecycle hook the drainer answers, the scheduled actions, and the hosts' permissions for them.
 */
export function defineScaling(
  scope: Construct,
  config: BastionConfig,
  where: { region: string; account: string; partition: string },
  compute: Compute,
  identity: Identity,
): Scaling {
  const group = compute.autoscalingGroup;
  const { region, account, partition } = where;

  new SsmParameter(scope, 'group_name_parameter', {
    name: config.groupNameParameterName,
    description: `Name of the Auto Scaling group of ${config.nameStem}, read by its hosts for their metrics and lifecycle actions`,
    type: 'String',
    value: group.name,
    tags: config.tags,
  });

  let target: number;
  if (config.targetSessionsPerHost !== undefined && !isExpression(config.targetSessionsPerHost)) {
    target = config.targetSessionsPerHost;
  } else {
    const instanceType = new DataAwsEc2InstanceType(scope, 'host_instance_type', {
      instanceType: firstOf(config.instanceTypes),
    });
    const derived = defaultTargetSessionsExpression(instanceType.memorySize);
    target = config.targetSessionsPerHost === undefined ? derived : Token.asNumber(Fn.coalesce([config.targetSessionsPerHost, derived]));
  }

  new AutoscalingPolicy(scope, 'sessions_scaling_policy', {
    name: 'sessions-per-host',
    autoscalingGroupName: group.name,
    policyType: 'TargetTrackingScaling',
    targetTrackingConfiguration: {
      targetValue: target,
      customizedMetricSpecification: {
        namespace: METRIC_NAMESPACE,
        metricName: 'SessionsOpen',
        statistic: 'Average',
        unit: 'Count',
        metricDimension: [{ name: 'AutoScalingGroupName', value: group.name }],
      },
    },
  });

  const lifecycleHook = new AutoscalingLifecycleHook(scope, 'drain_hook', {
    name: LIFECYCLE_HOOK_NAME,
    autoscalingGroupName: group.name,
    lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    heartbeatTimeout: heartbeatTimeout(config.drainTimeoutSeconds),
    defaultResult: 'CONTINUE',
  });

  // Keyed "00", "01", ... by position; each schedule's name is its own or schedule-<key>.
  const schedules = isExpression(config.schedules)
    ? config.schedules
    : config.schedules.map((s) => ({
        name: s.name ?? '',
        recurrence: s.recurrence,
        min_size: s.minSize,
        max_size: s.maxSize,
        desired_capacity: s.desiredCapacity ?? -1,
      }));
  const each = TerraformIterator.fromMap(
    Fn.zipmap(Fn.formatlist('%02d', [Fn.range(0, Fn.lengthOf(schedules))]), schedules) as unknown as { [key: string]: unknown },
  );
  new AutoscalingSchedule(scope, 'schedule', {
    forEach: each,
    scheduledActionName: Fn.coalesce([each.getString('name'), `schedule-${each.key}`]),
    autoscalingGroupName: group.name,
    recurrence: each.getString('recurrence'),
    timeZone: config.scheduleTimeZone,
    minSize: each.getNumber('min_size'),
    maxSize: each.getNumber('max_size'),
    // -1: the desired capacity is left as it is
    desiredCapacity: Token.asNumber(Fn.coalesce([each.getNumber('desired_capacity'), -1])),
  });

  new IamRolePolicy(scope, 'drain_policy', {
    namePrefix: 'scaling-and-drain-',
    role: identity.role.id,
    policy: Fn.jsonencode({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadGroupName',
          Effect: 'Allow',
          Action: ['ssm:GetParameter'],
          Resource: `arn:${partition}:ssm:${region}:${account}:parameter${config.groupNameParameterName}`,
        },
        {
          Sid: 'AnswerLifecycleActions',
          Effect: 'Allow',
          Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
          Resource: group.arn,
        },
        // PutMetricData has no resource to scope (CloudWatch accepts only "*"): the condition
        // limits it to the bastion's namespace.
        {
          Sid: 'PublishSessionMetrics',
          Effect: 'Allow',
          Action: ['cloudwatch:PutMetricData'],
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
        },
      ],
    }),
  });

  return { targetSessionsPerHost: target, lifecycleHook };
}
