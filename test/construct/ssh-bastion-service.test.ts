import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { buildHostBundle } from '../../src/bundle';
import { appliedUserData } from '../helpers/terraform';
import { parse } from 'yaml';
import { App, Testing, TerraformStack } from 'cdktf';
import { SshBastionService } from '../../src';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { TlsProvider } from '@cdktf/provider-tls/lib/provider';
import { dataSources, onlyResource, resources, synthBastion, REQUIRED_PROPS } from '../helpers/synth';

/** The user data text as Terraform renders it (the bundle's bucket and region are Terraform's). */
function userData(json: any): string {
  return appliedUserData(json);
}

function ingressPorts(json: any, groupSuffix: string): number[] {
  return resources(json, 'aws_vpc_security_group_ingress_rule')
    .filter((rule) => String(rule.security_group_id).includes(groupSuffix))
    .map((rule) => rule.from_port)
    .sort();
}

describe('SshBastionService: construct', () => {
  test('defines no provider of its own', () => {
    const stack = new TerraformStack(Testing.app(), 'bare');
    new SshBastionService(stack, 'bastion', REQUIRED_PROPS);
    const json = JSON.parse(Testing.synth(stack));
    expect(json.provider).toBeUndefined();
  });
});

describe('SshBastionService: compute', () => {
  test('launch template requires IMDSv2 with a hop limit of 1', () => {
    const template = onlyResource(synthBastion(), 'aws_launch_template');
    expect(template.metadata_options).toEqual(expect.objectContaining({ http_tokens: 'required', http_put_response_hop_limit: 1 }));
  });

  test("root volume is encrypted gp3 of root_volume_size GiB on the AMI's root device", () => {
    const template = onlyResource(synthBastion({ rootVolumeSize: 30 }), 'aws_launch_template');
    expect(template.block_device_mappings[0]).toEqual({
      device_name: expect.stringMatching(/^\$\{data\.aws_ami\.bastion_image_[0-9A-F]{8}\.root_device_name\}$/),
      ebs: { delete_on_termination: 'true', encrypted: 'true', volume_size: 30, volume_type: 'gp3' },
    });
  });

  test('defaults to the latest Amazon Linux 2023 for arm64 from the public SSM parameter', () => {
    const json = synthBastion();
    expect(dataSources(json, 'aws_ssm_parameter')[0].name).toBe('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64');
    expect(onlyResource(json, 'aws_autoscaling_group').mixed_instances_policy.launch_template.dynamic.override.for_each).toContain(
      't4g.small',
    );
  });

  test('x86_64 switches the AMI parameter and the default instance types', () => {
    const json = synthBastion({ architecture: 'x86_64' });
    expect(dataSources(json, 'aws_ssm_parameter')[0].name).toContain('kernel-default-x86_64');
    expect(onlyResource(json, 'aws_launch_template').instance_type).toContain('t3.small');
  });

  test('ami_id replaces the SSM lookup', () => {
    const json = synthBastion({ amiId: 'ami-0123456789abcdef0' });
    expect(dataSources(json, 'aws_ssm_parameter')).toHaveLength(0);
    expect(dataSources(json, 'aws_ami')[0].filter[0].values).toEqual(['ami-0123456789abcdef0']);
  });

  test('key_name is set only when given', () => {
    expect(onlyResource(synthBastion(), 'aws_launch_template').key_name ?? null).toBeNull();
    expect(onlyResource(synthBastion({ keyName: 'admins' }), 'aws_launch_template').key_name).toBe('admins');
  });

  test('group spans the subnets with min, max and desired size, ELB health checks and a grace period', () => {
    const group = onlyResource(
      synthBastion({ minSize: 2, maxSize: 4, desiredCapacity: 3, healthCheckGracePeriod: 300 }),
      'aws_autoscaling_group',
    );
    expect(group).toEqual(
      expect.objectContaining({ min_size: 2, max_size: 4, desired_capacity: 3, health_check_type: 'ELB', health_check_grace_period: 300 }),
    );
    expect(group.vpc_zone_identifier).toEqual(REQUIRED_PROPS.subnetIds);
  });

  test('on-demand by default, spot as an opt-in', () => {
    const distribution = (json: any) => onlyResource(json, 'aws_autoscaling_group').mixed_instances_policy.instances_distribution;
    expect(distribution(synthBastion()).on_demand_percentage_above_base_capacity).toBe(100);
    expect(distribution(synthBastion({ spot: true })).on_demand_percentage_above_base_capacity).toBe(0);
  });

  test('instance types keep their order of preference', () => {
    const group = onlyResource(synthBastion({ instanceTypes: ['t4g.small', 'm7g.medium', 't4g.medium'] }), 'aws_autoscaling_group');
    const override = group.mixed_instances_policy.launch_template.dynamic.override;
    expect(override.for_each).toBe(
      '${zipmap(formatlist("%02d", range(0, length(["t4g.small", "m7g.medium", "t4g.medium"]), 1)), ["t4g.small", "m7g.medium", "t4g.medium"])}',
    );
    expect(override.content.instance_type).toBe('${each.value}');
  });

  test('a changed launch template refreshes the instances', () => {
    const group = onlyResource(synthBastion(), 'aws_autoscaling_group');
    expect(group.instance_refresh.strategy).toBe('Rolling');
    expect(group.mixed_instances_policy.launch_template.launch_template_specification.version).toMatch(/latest_version/);
  });

  test('user data is one gzipped cloud-config document, base64-encoded by Terraform', () => {
    const json = synthBastion();
    expect(onlyResource(json, 'aws_launch_template').user_data).toMatch(/^\$\{local\.[a-z_]*user_data[A-Za-z0-9_]*\}$/);
    expect(Object.values(json.locals).join('')).toMatch(/^\$\{base64gzip\(/);
    const text = userData(json);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const config = parse(text);
    const env = config.write_files.find((file: any) => file.path === '/etc/ssh-bastion/bastion.env').content;
    expect(env).toContain('BASTION_SERVICE_PORT=22\n');
    expect(env).toContain('BASTION_SESSION_MAX_SECONDS=43200\n');
  });

  test('with the defaults, the user data is at most 4 KB gzipped: 12 KB of the 16 KiB stay free for the custom scripts and extra cloud-config', () => {
    // The bucket name and region are Terraform's placeholders here (15 characters); real ones
    // are at most 63 and 14: 64 bytes of margin.
    const size = gzipSync(Buffer.from(userData(synthBastion()), 'utf-8'), { level: 9 }).length + 64;
    console.log(`user data with the defaults: about ${size} of 16384 bytes gzipped, ${16384 - size} free`);
    expect(size).toBeLessThanOrEqual(4096);
    expect(16384 - size).toBeGreaterThanOrEqual(12288);
  });

  test('literal scripts that cannot fit stop the synth with the size', () => {
    // Hex digits of a hash chain: gzip cannot shrink them below half.
    const noise = Array.from({ length: 800 }, (_, i) => createHash('sha256').update(String(i)).digest('hex')).join('');
    expect(() => synthBastion({ extraUserDataScript: `#!/bin/sh\necho ${noise.slice(0, 40000)}\n` })).toThrow(
      /user data is \d+ bytes gzipped, above EC2's limit of 16384/,
    );
    // 12 KB of hex (about 6 KB gzipped) still fits
    expect(() => synthBastion({ extraUserDataScript: `#!/bin/sh\necho ${noise.slice(0, 12000)}\n` })).not.toThrow();
  });

  test('extra cloud-config makes a MIME multipart whose second part appends', () => {
    const text = userData(synthBastion({ extraCloudConfig: '#cloud-config\nruncmd:\n  - echo extra\n' }));
    expect(text).toMatch(/^Content-Type: multipart\/mixed; boundary=/);
    expect(text).toContain('Merge-Type: list(append)+dict(no_replace,recurse_list)+str()');
    expect(text.indexOf('echo extra')).toBeGreaterThan(text.indexOf('runcmd:'));
  });

  test('tags reach every taggable resource and propagate to instances and volumes', () => {
    const json = synthBastion({ tags: { team: 'platform' } });
    for (const type of [
      'aws_lb',
      'aws_lb_target_group',
      'aws_security_group',
      'aws_iam_role',
      'aws_launch_template',
      'aws_ssm_parameter',
    ]) {
      for (const block of resources(json, type)) expect(block.tags).toEqual(expect.objectContaining({ team: 'platform' }));
    }
    const template = onlyResource(json, 'aws_launch_template');
    expect(template.tag_specifications.map((spec: any) => spec.resource_type).sort()).toEqual(['instance', 'network-interface', 'volume']);
    const tagBlock = onlyResource(json, 'aws_autoscaling_group').dynamic.tag;
    expect(tagBlock.content.propagate_at_launch).toBe(true);
  });
});

describe('SshBastionService: load balancer and security groups', () => {
  test('a TCP listener on service_port forwards to the hosts', () => {
    const json = synthBastion({ servicePort: 443 });
    const listener = resources(json, 'aws_lb_listener');
    expect(listener).toHaveLength(1);
    expect(listener[0]).toEqual(expect.objectContaining({ port: 443, protocol: 'TCP' }));
    expect(onlyResource(json, 'aws_lb').load_balancer_type).toBe('network');
  });

  test('internal load balancer with lb_internal', () => {
    expect(onlyResource(synthBastion(), 'aws_lb').internal).toBe(false);
    expect(onlyResource(synthBastion({ lbInternal: true }), 'aws_lb').internal).toBe(true);
  });

  test('health checks ask the health port over HTTP (200 = every check passed), which only the load balancer may reach', () => {
    const json = synthBastion({ healthCheckPort: 2300 });
    expect(resources(json, 'aws_lb_target_group')[0].health_check).toEqual(
      expect.objectContaining({ port: 2300, protocol: 'HTTP', path: '/', matcher: '200' }),
    );
    const health = resources(json, 'aws_vpc_security_group_ingress_rule').find((rule) => rule.from_port === 2300);
    expect(health?.referenced_security_group_id).toMatch(/aws_security_group\.bastion_lb_security_group/);
  });

  test('no client can connect unless allowed_cidr_blocks says so', () => {
    const json = synthBastion();
    expect(resources(json, 'aws_vpc_security_group_ingress_rule').filter((rule) => rule.from_port === 22)).toHaveLength(0);
  });

  test('clients from allowed_cidr_blocks reach the configured service port, IPv4 and IPv6', () => {
    const json = synthBastion({ servicePort: 443, allowedCidrBlocks: ['203.0.113.0/24', '2001:db8::/32'] });
    const rules = resources(json, 'aws_vpc_security_group_ingress_rule').filter((rule) => rule.from_port === 443);
    expect(rules).toHaveLength(2); // load balancer and hosts
    for (const rule of rules) {
      expect(rule.for_each).toBe('${toset(["203.0.113.0/24", "2001:db8::/32"])}');
      expect(rule.cidr_ipv4).toBe('${strcontains(each.value, ":") ? null : each.value}');
      expect(rule.to_port).toBe(443);
    }
  });

  test('admin port 2222: listener, target group and rules only with host_allowed_cidr_blocks', () => {
    const without = synthBastion();
    expect(resources(without, 'aws_lb_listener')).toHaveLength(1);
    expect(ingressPorts(without, 'host_security_group')).not.toContain(2222);
    const withAdmin = synthBastion({ hostAllowedCidrBlocks: ['198.51.100.7/32'] });
    expect(
      resources(withAdmin, 'aws_lb_listener')
        .map((listener) => listener.port)
        .sort(),
    ).toEqual([22, 2222]);
    expect(resources(withAdmin, 'aws_lb_target_group')).toHaveLength(2);
    expect(ingressPorts(withAdmin, 'host_security_group')).toContain(2222);
  });

  test('additional security groups are attached to the hosts', () => {
    const template = onlyResource(synthBastion({ additionalSecurityGroupIds: ['sg-0123456789abcdef0'] }), 'aws_launch_template');
    expect(template.network_interfaces[0].security_groups).toContain('sg-0123456789abcdef0');
  });

  test('egress is configurable and can be left to the caller', () => {
    expect(resources(synthBastion(), 'aws_vpc_security_group_egress_rule').some((rule) => rule.ip_protocol === '-1')).toBe(true);
    expect(
      resources(synthBastion({ egressCidrBlocks: [] }), 'aws_vpc_security_group_egress_rule').some((rule) => rule.ip_protocol === '-1'),
    ).toBe(false);
  });
});

describe('SshBastionService: identity', () => {
  const policyOf = (json: any, namePrefix: string) => {
    const found = resources(json, 'aws_iam_role_policy').find((policy) => policy.name_prefix === namePrefix);
    return found;
  };

  test('same account: key lookup actions only, scoped to users and the allowed groups', () => {
    const json = synthBastion({ allowedIamGroups: ['ssh-users'] });
    const policy = policyOf(json, 'key-lookup-');
    expect(policy?.policy).toContain('iam:ListSSHPublicKeys');
    expect(policy?.policy).toContain(':group/ssh-users"');
    expect(policy?.policy).not.toContain('group/*"');
    expect(policy?.policy).not.toContain('iam:ListUsers');
    expect(policyOf(json, 'assume-identity-role-')).toBeUndefined();
  });

  test('without groups the role may list users', () => {
    expect(policyOf(synthBastion(), 'key-lookup-')?.policy).toContain('iam:ListUsers');
  });

  test('cross account: only sts:AssumeRole on assume_role_arn, and the identity account policy', () => {
    const arn = 'arn:aws:iam::111122223333:role/bastion-identity';
    const stack = new TerraformStack(Testing.app(), 'x');
    const bastion = new SshBastionService(stack, 'bastion', { ...REQUIRED_PROPS, assumeRoleArn: arn });
    const json = JSON.parse(Testing.synth(stack));
    expect(policyOf(json, 'key-lookup-')).toBeUndefined();
    expect(policyOf(json, 'assume-identity-role-')?.policy).toContain(arn);
    expect(bastion.identityAccountPolicy).not.toBe('');
  });
});

describe('SshBastionService: stable host keys', () => {
  test("an ED25519 key in an SSM SecureString that only the hosts' role may read", () => {
    const json = synthBastion();
    expect(onlyResource(json, 'tls_private_key').algorithm).toBe('ED25519');
    const parameter = resources(json, 'aws_ssm_parameter').find((p) => String(p.name).endsWith('/ssh-host-ed25519-key'))!;
    expect(parameter.type).toBe('SecureString');
    expect(parameter.name).toBe('/staging/vpc-0123456789abcdef0/bastion-service/ssh-host-ed25519-key');
    const policy = resources(json, 'aws_iam_role_policy').find((p) => p.name_prefix === 'host-key-');
    expect(policy?.policy).toContain('parameter/staging/vpc-0123456789abcdef0/bastion-service/ssh-host-ed25519-key');
  });

  test('without stable host keys: no key, no parameter, no permission', () => {
    const json = synthBastion({ stableHostKeys: false });
    expect(resources(json, 'tls_private_key')).toHaveLength(0);
    // only the parameter with the group's name
    expect(resources(json, 'aws_ssm_parameter').map((p) => p.name)).toEqual([
      '/staging/vpc-0123456789abcdef0/bastion-service/autoscaling-group-name',
    ]);
    expect(resources(json, 'aws_iam_role_policy').find((p) => p.name_prefix === 'host-key-')).toBeUndefined();
  });
});

describe('SshBastionService: DNS and names', () => {
  test('no record without a hosted zone', () => {
    expect(resources(synthBastion(), 'aws_route53_record')).toHaveLength(0);
  });

  test('alias record <environment>-<region>-<vpc name>-<service>.<domain>', () => {
    const record = onlyResource(
      synthBastion({ route53ZoneId: 'Z0123456789ABC', dnsDomain: 'example.com', environmentName: 'dev' }),
      'aws_route53_record',
    );
    expect(record.type).toBe('A');
    expect(record.name).toMatch(
      /^\$\{join\("-", compact\(\["dev", data\.aws_region\.[^.]+\.region, "vpc-0123456789abcdef0", "bastion-service"\]\)\)\}\.\$\{trimsuffix\("example\.com", "\."\)\}$/,
    );
    expect(record.alias.evaluate_target_health).toBe(true);
  });

  test('vpc_name replaces the VPC id; an empty one is left out; route53_fqdn overrides all', () => {
    const name = (props: any) =>
      onlyResource(synthBastion({ route53ZoneId: 'Z0123456789ABC', dnsDomain: 'example.com', ...props }), 'aws_route53_record').name;
    expect(name({ vpcName: 'main' })).toContain('.region, "main", "bastion-service"]');
    expect(name({ vpcName: '' })).toContain('compact(["staging", data.aws_region.');
    expect(name({ vpcName: '' })).toContain('.region, "", "bastion-service"]');
    expect(name({ route53Fqdn: 'ssh.example.com' })).toBe('ssh.example.com');
  });

  test('load balancer and target group names stay within 32 characters', () => {
    const json = synthBastion({ environmentName: 'production-eu', serviceName: 'bastion-service-long', vpcName: 'main' });
    expect(onlyResource(json, 'aws_lb').name).toMatch(
      /^\$\{substr\("production-eu-bastion-service-long", 0, 25\)\}-\$\{random_id\.[^}]+\.hex\}$/,
    );
    // 25 + 1 + 6 hex characters
    expect(25 + 1 + 6).toBeLessThanOrEqual(32);
    for (const group of resources(json, 'aws_lb_target_group'))
      expect(group.name).toContain('substr("production-eu-bastion-service-long", 0, 23)');
  });

  test('IAM names include the region, as IAM is global', () => {
    expect(onlyResource(synthBastion(), 'aws_iam_role').name_prefix).toMatch(
      /^\$\{substr\("staging-bastion-service-\$\{data\.aws_region\.[^.]+\.region\}-", 0, 38\)\}$/,
    );
  });
});

describe('SshBastionService: host bundle', () => {
  test('is a file asset whose hash names the S3 object and is written in the user data', () => {
    const json = synthBastion();
    const bundle = buildHostBundle();
    const object = onlyResource(json, 'aws_s3_object');
    expect(object.source).toMatch(/^assets\/.+\/ssh-bastion-host\.tar\.gz$/);
    expect(object.key).toContain(`ssh-bastion-host-${bundle.sha256}.tar.gz`);
    expect(object.lifecycle).toEqual({ create_before_destroy: true });
    const env = parse(userData(json)).write_files.find((file: any) => file.path === '/etc/ssh-bastion/bastion.env').content;
    expect(env).toContain(`BASTION_BUNDLE_SHA256=${bundle.sha256}\n`);
  });

  test('lives in a private, encrypted, versioned, TLS-only bucket that expires old versions', () => {
    const json = synthBastion();
    expect(onlyResource(json, 'aws_s3_bucket').bucket_prefix).toBe('staging-bastion-service-');
    expect(onlyResource(json, 'aws_s3_bucket_public_access_block')).toEqual(
      expect.objectContaining({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      }),
    );
    expect(onlyResource(json, 'aws_s3_bucket_ownership_controls').rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
    expect(
      onlyResource(json, 'aws_s3_bucket_server_side_encryption_configuration').rule[0].apply_server_side_encryption_by_default
        .sse_algorithm,
    ).toBe('AES256');
    expect(onlyResource(json, 'aws_s3_bucket_versioning').versioning_configuration.status).toBe('Enabled');
    const lifecycle = onlyResource(json, 'aws_s3_bucket_lifecycle_configuration').rule[0];
    expect(lifecycle.noncurrent_version_expiration).toEqual([{ noncurrent_days: 30 }]);
    const policy = onlyResource(json, 'aws_s3_bucket_policy').policy as string;
    expect(policy).toContain('"aws:SecureTransport" = "false"');
    expect(policy).toContain('"Effect" = "Deny"');
  });

  test('goes to an existing bucket when bundleBucketName names one, and no bucket is created', () => {
    const json = synthBastion({ bundleBucketName: 'platform-artifacts' });
    expect(resources(json, 'aws_s3_bucket')).toHaveLength(0);
    expect(resources(json, 'aws_s3_bucket_policy')).toHaveLength(0);
    expect(onlyResource(json, 'aws_s3_object').bucket).toBe('platform-artifacts');
  });

  test("the hosts may read the bundle's object and nothing else in its bucket", () => {
    const policies = resources(synthBastion(), 'aws_iam_role_policy').map((p) => String(p.policy));
    const bundle = policies.filter((p) => p.includes('s3:'));
    expect(bundle).toHaveLength(1);
    expect(bundle[0]).toContain('"Action" = ["s3:GetObject"]');
    expect(bundle[0]).toMatch(
      /"Resource" = "arn:\$\{data\.aws_partition\.[^}]+\}:s3:::\$\{aws_s3_object\.[^}]+\.bucket\}\/\$\{aws_s3_object\.[^}]+\.key\}"/,
    );
  });

  test('host OS chooses the AMI parameter and the packages', () => {
    const json = synthBastion({ hostOs: 'ubuntu-24.04', architecture: 'x86_64', instanceTypes: ['t3.small'] });
    expect(onlyResource(json, 'aws_launch_template')).toBeDefined();
    expect(Object.values(json.data.aws_ssm_parameter).map((p: any) => p.name)).toEqual([
      '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
    ]);
    expect(parse(userData(json)).packages).toEqual(['docker.io', 'python3-boto3']);
  });
});

describe('SshBastionService: what cdktf synth writes', () => {
  test('the bundle asset in the synthesized stack holds the very bytes whose hash the user data checks', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-asset-'));
    try {
      const app = new App({ outdir });
      const stack = new TerraformStack(app, 'bastion');
      new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
      new TlsProvider(stack, 'tls');
      new RandomProvider(stack, 'random');
      new SshBastionService(stack, 'bastion', REQUIRED_PROPS);
      app.synth();
      const stackDir = path.join(outdir, 'stacks', 'bastion');
      const json = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf-8'));
      const source = onlyResource(json, 'aws_s3_object').source as string;
      const shipped = fs.readFileSync(path.join(stackDir, source));
      const bundle = buildHostBundle();
      expect(shipped.equals(bundle.bytes)).toBe(true);
      expect(onlyResource(json, 'aws_s3_object').key).toContain(bundle.sha256);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('SshBastionService: warnings', () => {
  test('warns at synth when no client can connect (allowedCidrBlocks empty), and only then', () => {
    const warnings = (props: object) => {
      const stack = new TerraformStack(Testing.app(), 'test');
      const bastion = new SshBastionService(stack, 'bastion', { ...REQUIRED_PROPS, ...props });
      return bastion.node.metadata.filter((entry) => entry.type === '@cdktf/warn').map((entry) => String(entry.data));
    };
    expect(warnings({})).toEqual([expect.stringContaining('allowedCidrBlocks is empty: no client can reach the service port')]);
    expect(warnings({ allowedCidrBlocks: ['203.0.113.0/24'] })).toEqual([]);
  });
});
