import { Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { BastionConfig } from './config';
import { HostKeys } from './host-keys';
import { choose, isExpression, nonEmpty, nonEmptyList, not, presence, Switch } from './conditional';

/** IAM actions the key lookup needs on users; ListUsers only when no group narrows the users. */
export const USER_LOOKUP_ACTIONS = ['iam:GetSSHPublicKey', 'iam:ListGroupsForUser', 'iam:ListSSHPublicKeys'];

export interface Identity {
  readonly role: IamRole;
  readonly instanceProfile: IamInstanceProfile;
  /** JSON: what the identity account applies when users live there; '' otherwise */
  readonly identityAccountPolicy: string;
}

/** The least-privilege IAM statements for looking up keys in `account`. */
function lookupStatements(partition: string, account: string, groups: string[]): object[] {
  const hasGroups = nonEmptyList(groups);
  const groupArns = isExpression(groups)
    ? Fn.concat([
        Fn.formatlist('arn:%s:iam::%s:group/%s', [partition, account, groups]),
        Fn.formatlist('arn:%s:iam::%s:group/*/%s', [partition, account, groups]),
      ])
    : groups.flatMap((group) => [`arn:${partition}:iam::${account}:group/${group}`, `arn:${partition}:iam::${account}:group/*/${group}`]);
  const userActions = choose(hasGroups, USER_LOOKUP_ACTIONS, [...USER_LOOKUP_ACTIONS, 'iam:ListUsers'].sort());
  return [
    { Sid: 'ReadUserKeys', Effect: 'Allow', Action: userActions, Resource: `arn:${partition}:iam::${account}:user/*` },
    // GetGroup on an empty resource list is invalid; with no groups it is never called.
    {
      Sid: 'ReadAllowedGroups',
      Effect: 'Allow',
      Action: ['iam:GetGroup'],
      Resource: choose(hasGroups, groupArns, [Fn.format('arn:%s:iam::%s:group/*', [partition, account])]),
    },
  ];
}

function policyDocument(statements: object[]): string {
  return Fn.jsonencode({ Version: '2012-10-17', Statement: statements });
}

export function defineIdentity(
  scope: Construct,
  config: BastionConfig,
  where: { region: string; account: string; partition: string },
  hostKeys: HostKeys,
  bundleObjectArn: string,
  auditLogGroupArn: string,
  recordingObjectsArn: string,
): Identity {
  const { region, account, partition } = where;
  const stableHostKeys = config.stableHostKeys;
  const crossAccount = nonEmpty(config.assumeRoleArn);
  const namePrefix = Fn.substr(`${config.nameStem}-${region}-`, 0, 38);

  const role = new IamRole(scope, 'host_role', {
    namePrefix,
    description: `Bastion hosts of ${config.nameStem}: IAM SSH key lookup`,
    assumeRolePolicy: policyDocument([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
    tags: config.tags,
  });

  // One inline policy per concern, present only when that concern is.
  const rolePolicy = (id: string, enabled: Switch, namePrefix: string, statements: object[]) => {
    const policy = presence(enabled);
    if (!policy.declare) return;
    new IamRolePolicy(scope, id, { count: policy.count, namePrefix, role: role.id, policy: policyDocument(statements) });
  };
  rolePolicy('key_lookup_policy', not(crossAccount), 'key-lookup-', lookupStatements(partition, account, config.allowedIamGroups));
  rolePolicy('assume_identity_role_policy', crossAccount, 'assume-identity-role-', [
    { Sid: 'AssumeIdentityRole', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: config.assumeRoleArn },
  ]);
  rolePolicy('bundle_policy', true, 'host-bundle-', [
    { Sid: 'ReadHostBundle', Effect: 'Allow', Action: ['s3:GetObject'], Resource: bundleObjectArn },
  ]);
  // The audit shipper: new streams and events in the audit log group, nothing else of CloudWatch Logs.
  rolePolicy('audit_log_policy', true, 'audit-log-', [
    {
      Sid: 'WriteAuditLog',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [auditLogGroupArn, `${auditLogGroupArn}:log-stream:*`],
    },
  ]);
  // Session recordings: new objects under recordings/ of the recordings' bucket; no read, no list, no delete.
  rolePolicy('recording_policy', config.sessionRecording, 'session-recording-', [
    { Sid: 'WriteRecordings', Effect: 'Allow', Action: ['s3:PutObject'], Resource: recordingObjectsArn },
  ]);
  rolePolicy('host_key_policy', stableHostKeys, 'host-key-', [
    { Sid: 'ReadHostKey', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: hostKeys.parameterArn },
  ]);
  // With a customer-managed key: decrypt only through SSM, only this parameter's value.
  rolePolicy('host_key_kms_policy', hostKeys.customKmsKey, 'host-key-kms-', [
    {
      Sid: 'DecryptHostKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: hostKeys.kmsKeyArn,
      Condition: {
        StringEquals: {
          'kms:ViaService': `ssm.${region}.amazonaws.com`,
          'kms:EncryptionContext:PARAMETER_ARN': hostKeys.parameterArn,
        },
      },
    },
  ]);

  const instanceProfile = new IamInstanceProfile(scope, 'host_instance_profile', {
    namePrefix,
    role: role.name,
    tags: config.tags,
  });

  const identityAccount = Fn.element(Fn.split(':', config.assumeRoleArn), 4);
  const identityAccountPolicyValue = Fn.jsonencode({
    role_arn: config.assumeRoleArn,
    trust_policy: {
      Version: '2012-10-17',
      Statement: [{ Sid: 'BastionHosts', Effect: 'Allow', Principal: { AWS: role.arn }, Action: 'sts:AssumeRole' }],
    },
    permissions_policy: {
      Version: '2012-10-17',
      Statement: lookupStatements(partition, identityAccount, config.allowedIamGroups),
    },
  });
  const identityAccountPolicy = Token.asString(choose(crossAccount, identityAccountPolicyValue, ''));

  return { role, instanceProfile, identityAccountPolicy };
}
