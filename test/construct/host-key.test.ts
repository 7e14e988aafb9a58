// The stable host key at rest: the KMS key of its SSM parameter, what the hosts' role may do with
// that key, and the generation that replaces the key.
import { dataSources, onlyResource, resources, synthBastion, Json } from '../helpers/synth';

const PARAMETER = 'parameter/staging/vpc-0123456789abcdef0/bastion-service/ssh-host-ed25519-key';
const hostKeyParameter = (json: Json) =>
  resources(json, 'aws_ssm_parameter').find((p) => String(p.name).endsWith('/ssh-host-ed25519-key'))!;
const kmsPolicy = (json: Json) => resources(json, 'aws_iam_role_policy').find((p) => p.name_prefix === 'host-key-kms-');

describe('host key: KMS key of the SSM parameter', () => {
  test('by default the AWS-managed aws/ssm key: no key id, no KMS lookup, no KMS permission', () => {
    const json = synthBastion();
    expect(hostKeyParameter(json).key_id ?? null).toBeNull();
    expect(dataSources(json, 'aws_kms_key')).toHaveLength(0);
    expect(kmsPolicy(json)).toBeUndefined();
  });

  test('hostKeyKmsKeyId encrypts the parameter; the hosts may decrypt with it only through SSM, only this parameter', () => {
    const json = synthBastion({ hostKeyKmsKeyId: 'alias/ssh-bastion' });
    expect(hostKeyParameter(json).key_id).toBe('alias/ssh-bastion');
    const [key] = dataSources(json, 'aws_kms_key');
    expect(key.key_id).toBe('alias/ssh-bastion');
    // an HCL jsonencode() expression: its one statement, checked as text
    const policy: string = kmsPolicy(json)!.policy;
    expect(policy.match(/"Sid" = /g)).toHaveLength(1);
    expect(policy).toContain('"Action" = ["kms:Decrypt"]');
    // the key's ARN from the lookup: an alias cannot scope an IAM policy
    expect(policy).toMatch(/"Resource" = data\.aws_kms_key\.\w+\.arn,/);
    expect(policy).toMatch(/"kms:ViaService" = "ssm\.\$\{data\.aws_region\.\w+\.region\}\.amazonaws\.com"/);
    expect(policy).toMatch(new RegExp(`"kms:EncryptionContext:PARAMETER_ARN" = "arn:[^"]*:${PARAMETER}"`));
  });

  test('without stable host keys the KMS key is not used', () => {
    const json = synthBastion({ stableHostKeys: false, hostKeyKmsKeyId: 'alias/ssh-bastion' });
    expect(dataSources(json, 'aws_kms_key')).toHaveLength(0);
    expect(kmsPolicy(json)).toBeUndefined();
  });
});

describe('host key: generation', () => {
  test('the key is replaced when its generation changes (terraform_data in replace_triggered_by)', () => {
    for (const generation of [undefined, 2]) {
      const json = synthBastion(generation === undefined ? {} : { hostKeyGeneration: generation });
      const [name, data] = Object.entries(json.resource.terraform_data as Json)[0];
      expect(data.input).toEqual({ generation: generation ?? 1 });
      expect(onlyResource(json, 'tls_private_key').lifecycle.replace_triggered_by).toEqual([`terraform_data.${name}`]);
    }
  });

  test('without stable host keys there is no generation', () => {
    expect(resources(synthBastion({ stableHostKeys: false }), 'terraform_data')).toHaveLength(0);
  });
});
