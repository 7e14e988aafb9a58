import { Testing } from 'cdktf';
import { Construct } from 'constructs';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { TerraformOutput } from 'cdktf';
import { SshBastionModuleStack } from '../../src';
import { MODULE_VARIABLES, REQUIRED_PROVIDERS } from '../../src/module-stack';
import { variableName } from '../../src/validation';

const REQUIRED_VARIABLES = [
  'vpc_id',
  'subnet_ids',
  'lb_subnet_ids',
  'environment_name',
  'service_name',
  'vpc_name',
  'dns_domain',
  'route53_zone_id',
  'route53_fqdn',
  'allowed_cidr_blocks',
  'host_allowed_cidr_blocks',
  'additional_security_group_ids',
  'service_port',
  'lb_internal',
  'assign_public_ip',
  'allowed_iam_groups',
  'assume_role_arn',
  'instance_types',
  'architecture',
  'ami_id',
  'min_size',
  'max_size',
  'desired_capacity',
  'spot',
  'key_name',
  'root_volume_size',
  'session_max_seconds',
  'stable_host_keys',
  'tags',
];
const REQUIRED_OUTPUTS = [
  'dns_name',
  'lb_dns_name',
  'lb_zone_id',
  'lb_arn',
  'security_group_id',
  'iam_role_arn',
  'iam_role_name',
  'autoscaling_group_name',
  'launch_template_id',
  'host_public_key',
  'known_hosts',
  'ssh_config',
  'identity_account_policy',
];

function synthModule(validations = false): any {
  return JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module'), validations));
}

describe('SshBastionModuleStack: the registry module', () => {
  test('synthesizes with cdktf validations on', () => {
    expect(() => synthModule(true)).not.toThrow();
  });

  test('no provider block and no backend', () => {
    const json = synthModule();
    expect(json.provider).toBeUndefined();
    expect(json.terraform.backend).toBeUndefined();
  });

  test('required_providers with >= minimums only, and required_version', () => {
    const json = synthModule();
    expect(json.terraform.required_version).toBe('>= 1.9');
    for (const [name, requirement] of Object.entries(REQUIRED_PROVIDERS)) {
      expect(json.terraform.required_providers[name]).toEqual({ source: requirement.source, version: requirement.version });
      expect(requirement.version.startsWith('>= ')).toBe(true);
    }
  });

  test('every construct property is a typed, described variable with a stable name', () => {
    const json = synthModule();
    for (const name of REQUIRED_VARIABLES) expect(Object.keys(json.variable)).toContain(name);
    for (const definition of MODULE_VARIABLES) {
      const variable = json.variable[variableName(definition.prop)];
      expect(variable.type).toBe(definition.type);
      expect(variable.description.length).toBeGreaterThan(10);
    }
  });

  test('every output is described; none is sensitive material', () => {
    const json = synthModule();
    for (const name of REQUIRED_OUTPUTS) expect(Object.keys(json.output)).toContain(name);
    for (const output of Object.values<any>(json.output)) {
      expect(output.description.length).toBeGreaterThan(10);
      expect(JSON.stringify(output.value)).not.toMatch(/private_key_(pem|openssh)|insecure_value/);
    }
  });

  test('resource addresses are the construct ids, without hashes', () => {
    const json = synthModule();
    expect(Object.keys(json.resource.aws_lb)).toEqual(['load_balancer']);
    expect(Object.keys(json.resource.aws_autoscaling_group)).toEqual(['autoscaling_group']);
  });

  test('two constructs that would share an address stop the synth, naming both', () => {
    // GIVEN the module and a second aws_s3_bucket with the id of the module's own, in another scope
    const stack = new SshBastionModuleStack(Testing.app(), 'module');
    new S3Bucket(new Construct(stack, 'extra'), 'bundle_bucket', {});
    // THEN the synth fails instead of writing one aws_s3_bucket.bundle_bucket over the other
    expect(() => Testing.synth(stack)).toThrow(
      'The registry module has two constructs at the address resource aws_s3_bucket bundle_bucket: module/bastion/bundle_bucket and module/extra/bundle_bucket. Give one of them another id.',
    );
  });

  test('the same id in different address namespaces is allowed (an output named like a resource)', () => {
    const stack = new SshBastionModuleStack(Testing.app(), 'module');
    new TerraformOutput(new Construct(stack, 'extra'), 'bundle_bucket', { value: 'x' });
    expect(JSON.parse(Testing.synth(stack)).output.bundle_bucket.value).toBe('x');
  });

  test('conditional resources carry count expressions over the variables', () => {
    const json = synthModule();
    expect(json.resource.aws_route53_record.dns_record.count).toBe('${("" != var.route53_zone_id) ? 1 : 0}');
    expect(json.resource.aws_lb_listener.admin_listener.count).toBe('${(0 < length(var.host_allowed_cidr_blocks)) ? 1 : 0}');
    expect(json.resource.tls_private_key.host_key.count).toBe('${var.stable_host_keys ? 1 : 0}');
    expect(json.resource.aws_iam_role_policy.assume_identity_role_policy.count).toBe('${("" != var.assume_role_arn) ? 1 : 0}');
    expect(json.data.aws_ssm_parameter.amazon_linux_2023.count).toBe('${!("" != var.ami_id) ? 1 : 0}');
  });

  test('the complete module matches its snapshot', () => {
    expect(synthModule()).toMatchSnapshot();
  });
});
