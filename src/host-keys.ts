import { DataResource, Fn, Lazy, Token } from 'cdktf';
import { Construct } from 'constructs';
import { DataAwsKmsKey } from '@cdktf/provider-aws/lib/data-aws-kms-key';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { BastionConfig } from './config';
import { attributeOf, both, choose, nonEmpty, presence, Switch } from './conditional';
import { TlsPrivateKey } from './tls-private-key';

export interface HostKeys {
  /** OpenSSH public key line; '' without stable host keys */
  readonly publicKey: string;
  /** ARN of the SSM parameter, used to scope the hosts' permission */
  readonly parameterArn: string;
  readonly parameterName: string;
  /** Whether the parameter uses a customer-managed KMS key (hostKeyKmsKeyId) */
  readonly customKmsKey: Switch;
  /** ARN of that key ('' without one), for the hosts' kms:Decrypt */
  readonly kmsKeyArn: string;
}

/**
 * One ED25519 host key for every host and every respawn, in an SSM SecureString parameter
 * that the hosts read at boot, encrypted with the AWS-managed aws/ssm key or hostKeyKmsKeyId.
 * The private key is also in Terraform state (docs/security.md says why it cannot be kept out).
 * A new hostKeyGeneration replaces the key: the terraform_data resource changes, and
 * replace_triggered_by replaces tls_private_key (adding it to an existing state replaces nothing).
 */
export function defineHostKeys(
  scope: Construct,
  config: BastionConfig,
  where: { region: string; account: string; partition: string },
): HostKeys {
  const { region, account, partition } = where;
  const parameterName = config.hostKeyParameterName;
  const parameterArn = `arn:${partition}:ssm:${region}:${account}:parameter${parameterName}`;
  const stable = presence(config.stableHostKeys);
  if (!stable.declare) return { publicKey: '', parameterArn, parameterName: '', customKmsKey: false, kmsKeyArn: '' };

  const generation = new DataResource(scope, 'host_key_generation', {
    count: stable.count,
    input: { generation: config.hostKeyGeneration },
  });
  // A plain address: cdktf renders a resource given here as "${terraform_data.x}", which Terraform's
  // JSON syntax refuses in replace_triggered_by.
  const generationAddress = Lazy.stringValue({ produce: () => `${generation.terraformResourceType}.${generation.friendlyUniqueId}` });
  const key = new TlsPrivateKey(scope, 'host_key', {
    count: stable.count,
    algorithm: 'ED25519',
    lifecycle: { replaceTriggeredBy: [generationAddress] },
  });
  const customKmsKey = both(config.stableHostKeys, nonEmpty(config.hostKeyKmsKeyId));
  const kms = presence(customKmsKey);
  // The key's ARN whatever form hostKeyKmsKeyId takes (an alias cannot scope an IAM policy).
  const kmsKey = kms.declare
    ? new DataAwsKmsKey(scope, 'host_key_kms_key', { count: kms.count, keyId: config.hostKeyKmsKeyId })
    : undefined;
  new SsmParameter(scope, 'host_key_parameter', {
    count: stable.count,
    name: parameterName,
    description: `ED25519 SSH host key of ${config.nameStem}, read by the hosts at boot`,
    type: 'SecureString',
    value: attributeOf(scope, key, 'private_key_openssh'),
    keyId: choose(nonEmpty(config.hostKeyKmsKeyId), config.hostKeyKmsKeyId, Token.nullValue() as unknown as string),
    tags: config.tags,
  });
  const publicKey = attributeOf(scope, key, 'public_key_openssh');
  const kmsKeyArn = kmsKey === undefined ? '' : attributeOf(scope, kmsKey, 'arn');
  return {
    publicKey,
    parameterArn,
    parameterName: stable.count === undefined ? parameterName : Token.asString(Fn.conditional(config.stableHostKeys, parameterName, '')),
    customKmsKey,
    kmsKeyArn,
  };
}
