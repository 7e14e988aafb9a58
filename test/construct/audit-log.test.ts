// The audit log group: its retention and KMS key reach the resource, its name reaches the hosts,
// and the hosts' role may write to it and to nothing else of CloudWatch Logs.
import { Testing } from 'cdktf';
import { SshBastionModuleStack } from '../../src';
import { resolveConfig } from '../../src/config';
import { hostEnvironmentParts } from '../../src/host-settings';
import { hostSettings } from '../../src/user-data';
import { onlyResource, REQUIRED_PROPS, resources, synthBastion, Json } from '../helpers/synth';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const auditPolicy = (json: Json) => resources(json, 'aws_iam_role_policy').find((p) => p.name_prefix === 'audit-log-');

/** Every logs: action any policy of the role grants, with the resources it names (HCL jsonencode text). */
function logsStatements(json: Json): string[] {
  return resources(json, 'aws_iam_role_policy')
    .map((p) => p.policy as string)
    .filter((policy) => policy.includes('"logs:'));
}

describe('audit log group', () => {
  test("defaults: 365 days, CloudWatch Logs' own encryption, a name derived from the inputs", () => {
    const group = onlyResource(synthBastion(), 'aws_cloudwatch_log_group');
    expect(group.retention_in_days).toBe(365);
    expect(group.kms_key_id ?? null).toBeNull();
    expect(group.name).toBe('/staging/vpc-0123456789abcdef0/bastion-service/audit');
  });

  test('logRetentionDays and logKmsKeyArn reach the group', () => {
    const group = onlyResource(synthBastion({ logRetentionDays: 731, logKmsKeyArn: KEY_ARN }), 'aws_cloudwatch_log_group');
    expect(group.retention_in_days).toBe(731);
    expect(group.kms_key_id).toBe(KEY_ARN);
  });

  test('the group name reaches the hosts in bastion.env', () => {
    const config = resolveConfig({ ...REQUIRED_PROPS, vpcName: 'main' });
    const env = hostEnvironmentParts(hostSettings(config, { region: 'eu-west-1', bucket: 'b', key: 'k', sha256: '0' })).join('');
    expect(env).toContain('\nBASTION_AUDIT_LOG_GROUP=/staging/main/bastion-service/audit\n');
  });

  test('the hosts may create streams in and put events to this group only; no other logs: permission', () => {
    const json = synthBastion();
    const policy: string = auditPolicy(json)!.policy;
    expect(policy.match(/"Sid" = /g)).toHaveLength(1);
    expect(policy).toContain('"Action" = ["logs:CreateLogStream", "logs:PutLogEvents"]');
    const group = String.raw`log-group:\$\{aws_cloudwatch_log_group\.\w+\.name\}`;
    const arn = String.raw`arn:\$\{data\.aws_partition\.\w+\.partition\}:logs:\$\{data\.aws_region\.\w+\.region\}:\$\{data\.aws_caller_identity\.\w+\.account_id\}:`;
    expect(policy).toMatch(new RegExp(`"Resource" = \\["${arn}${group}", "${arn}${group}:log-stream:\\*"\\]`));
    expect(logsStatements(json)).toEqual([policy]);
  });
});

describe('audit log group in the registry module', () => {
  const module = JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module')));

  test('variables with defaults and validation reach the group', () => {
    expect(module.variable.log_retention_days.default).toBe(365);
    expect(module.variable.log_kms_key_arn.default).toBe('');
    expect(module.variable.log_retention_days.validation[0].condition).toContain(
      'contains([0,1,3,5,7,14,30,60,90,120,150,180,365,400,545,731,1096,1827,2192,2557,2922,3288,3653], var.log_retention_days)',
    );
    const group = module.resource.aws_cloudwatch_log_group.audit_log_group;
    expect(group.retention_in_days).toBe('${var.log_retention_days}');
    expect(group.kms_key_id).toBe('${("" != var.log_kms_key_arn) ? var.log_kms_key_arn : null}');
    expect(module.output.audit_log_group_name.value).toBeDefined();
  });

  test("the role's only CloudWatch Logs permission is the audit group and its streams", () => {
    const policies = Object.entries(module.resource.aws_iam_role_policy as Json).filter(([, p]) => (p.policy as string).includes('logs:'));
    expect(policies.map(([address]) => address)).toEqual(['audit_log_policy']);
    const policy: string = policies[0][1].policy;
    expect(policy).not.toMatch(/logs:\*|log-group:\*|"\*"/);
    const arns = policy.match(/"Resource" = \[([^\]]*)\]/)![1].split(', ');
    const group =
      '"arn:${data.aws_partition.partition.partition}:logs:${data.aws_region.region.region}:${data.aws_caller_identity.caller.account_id}:log-group:${aws_cloudwatch_log_group.audit_log_group.name}';
    expect(arns).toEqual([`${group}"`, `${group}:log-stream:*"`]);
  });
});
