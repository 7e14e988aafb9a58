import { Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { PrivateKey } from '@cdktf/provider-tls/lib/private-key';
import { BastionConfig } from './config';
import { attributeOf, presence } from './conditional';

export interface HostKeys {
  /** OpenSSH public key line; '' without stable host keys */
  readonly publicKey: string;
  /** ARN of the SSM parameter, used to scope the hosts' permission */
  readonly parameterArn: string;
  readonly parameterName: string;
}

/**
 * One ED25519 host key for every host and every respawn, in an SSM SecureString parameter
 * that the hosts read at boot. The private key is also in Terraform state.
 */
export function defineHostKeys(scope: Construct, config: BastionConfig, where: { region: string; account: string; partition: string }): HostKeys {
  const { region, account, partition } = where;
  const parameterName = config.hostKeyParameterName;
  const parameterArn = `arn:${partition}:ssm:${region}:${account}:parameter${parameterName}`;
  const stable = presence(config.stableHostKeys);
  if (!stable.declare) return { publicKey: '', parameterArn, parameterName: '' };

  const key = new PrivateKey(scope, 'host_key', { count: stable.count, algorithm: 'ED25519' });
  new SsmParameter(scope, 'host_key_parameter', {
    count: stable.count,
    name: parameterName,
    description: `ED25519 SSH host key of ${config.nameStem}, read by the hosts at boot`,
    type: 'SecureString',
    value: attributeOf(scope, key, 'private_key_openssh'),
    tags: config.tags,
  });
  const publicKey = attributeOf(scope, key, 'public_key_openssh');
  return { publicKey, parameterArn, parameterName: stable.count === undefined ? parameterName : Token.asString(Fn.conditional(config.stableHostKeys, parameterName, '')) };
}
