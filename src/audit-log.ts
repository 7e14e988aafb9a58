import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { BastionConfig } from './config';
import { choose, nonEmpty } from './conditional';

export interface AuditLog {
  readonly logGroup: CloudwatchLogGroup;
  readonly logGroupName: string;
  /** The group's ARN (no `:*`) from the group's name attribute, to scope the hosts' permission */
  readonly logGroupArn: string;
}

/**
 * The CloudWatch Logs group the hosts ship their audit events to (audit-shipper on each host):
 * one JSON object per event, one log stream per host. Its name is derived from the inputs alone
 * (`/<environment>/<vpc label>/<service>/audit`), so the hosts' user data stays literal.
 */
export function defineAuditLog(
  scope: Construct,
  config: BastionConfig,
  where: { region: string; account: string; partition: string },
): AuditLog {
  const { region, account, partition } = where;
  const logGroupName = config.auditLogGroupName;
  const logGroup = new CloudwatchLogGroup(scope, 'audit_log_group', {
    name: logGroupName,
    retentionInDays: config.logRetentionDays,
    kmsKeyId: choose(nonEmpty(config.logKmsKeyArn), config.logKmsKeyArn, Token.nullValue() as unknown as string),
    tags: config.tags,
  });
  return { logGroup, logGroupName, logGroupArn: `arn:${partition}:logs:${region}:${account}:log-group:${logGroup.name}` };
}
