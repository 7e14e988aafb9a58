import { execFile } from 'child_process';
import * as path from 'path';
import { Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { BastionSchedule, SshBastionModuleStack, SshBastionService, SshBastionServiceProps } from '../../src';
import { MODULE_VARIABLES } from '../../src/module-stack';
import { INPUT_RULES, scheduleAsVariable, variableName } from '../../src/validation';
import { REQUIRED_PROPS, synthBastion } from '../helpers/synth';
import { initialised, removeDir, TerraformRun, terraformBinary, varArgument, variablesOnly } from '../helpers/terraform';

type Props = Partial<SshBastionServiceProps>;

/** One bad input: a title, the properties that make it, and the property (and variable) it must be reported against. */
type BadInput = [title: string, props: Props, reported: keyof SshBastionServiceProps];

const ZONE: Props = { route53ZoneId: 'Z0123456789ABCDEFGHIJ' };
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

const bad = (title: string, prop: keyof SshBastionServiceProps, value: unknown, others: Props = {}): BadInput => [
  title,
  { ...others, [prop]: value },
  prop,
];

const BAD_INPUTS: BadInput[] = [
  bad('vpcId is too short', 'vpcId', 'vpc-123'),
  bad('vpcId is upper case', 'vpcId', 'VPC-0123456789ABCDEF0'),
  bad('subnetIds is empty', 'subnetIds', []),
  bad('subnetIds holds something else', 'subnetIds', ['subnet-0123456789abcdef0', 'subnet-xyz']),
  bad('lbSubnetIds is empty', 'lbSubnetIds', []),
  bad('lbSubnetIds holds a malformed id', 'lbSubnetIds', ['sub-01234567']),
  bad('additionalSecurityGroupIds holds a malformed id', 'additionalSecurityGroupIds', ['sg-1234']),
  bad('environmentName has upper case', 'environmentName', 'Prod'),
  bad('environmentName is "internal"', 'environmentName', 'internal'),
  bad('environmentName ends with a hyphen', 'environmentName', 'prod-'),
  bad('environmentName holds a newline', 'environmentName', 'prod\nX=1'),
  bad('serviceName holds an underscore', 'serviceName', 'bastion_service'),
  bad('serviceName is too long for the DNS label', 'serviceName', 'a-very-long-service-name-indeed'),
  bad('environmentName and serviceName together are too long for the DNS label', 'serviceName', 'bastion-service', {
    environmentName: 'production-eu',
    vpcName: 'shared-services-vpc-01',
  }),
  bad('vpcName holds a space', 'vpcName', 'my-vpc 2'),
  bad('vpcName is longer than a DNS label', 'vpcName', 'x'.repeat(64)),
  bad('dnsDomain has an empty label', 'dnsDomain', 'example..com', ZONE),
  bad('dnsDomain leaves no room for the generated label', 'dnsDomain', `${`${'a'.repeat(63)}.`.repeat(3)}example.com`, ZONE),
  bad('dnsDomain is given without a hosted zone', 'dnsDomain', 'example.com'),
  bad('route53ZoneId is lower case', 'route53ZoneId', 'z0123456789abcdefghij'),
  bad('route53Fqdn starts with a hyphen', 'route53Fqdn', '-bastion.example.com', ZONE),
  bad('route53Fqdn is given without a hosted zone', 'route53Fqdn', 'bastion.example.com'),
  bad('allowedCidrBlocks has an IPv4 prefix above 32', 'allowedCidrBlocks', ['10.0.0.0/33']),
  bad('allowedCidrBlocks holds an address without a prefix', 'allowedCidrBlocks', ['0.0.0.0']),
  bad('allowedCidrBlocks has an IPv6 prefix above 128', 'allowedCidrBlocks', ['2001:db8::/129']),
  bad('allowedCidrBlocks has host bits set (IPv4)', 'allowedCidrBlocks', ['10.0.0.1/8']),
  bad('egressCidrBlocks has host bits set (IPv6)', 'egressCidrBlocks', ['2001:db8::1/32']),
  bad('hostAllowedCidrBlocks holds an impossible address', 'hostAllowedCidrBlocks', ['300.1.2.3/32']),
  bad('egressCidrBlocks holds a word', 'egressCidrBlocks', ['any']),
  bad('servicePort is the admin port', 'servicePort', 2222),
  bad('servicePort is 0', 'servicePort', 0),
  bad('servicePort is above 65535', 'servicePort', 65536),
  bad('servicePort is fractional', 'servicePort', 22.5),
  bad('healthCheckPort is the service port', 'healthCheckPort', 22),
  bad('healthCheckPort is the admin port', 'healthCheckPort', 2222),
  bad('allowedIamGroups holds a comma', 'allowedIamGroups', ['admins,ops']),
  bad('allowedIamGroups holds an empty name', 'allowedIamGroups', ['']),
  bad('allowedIamGroups holds a name above 128 characters', 'allowedIamGroups', ['g'.repeat(129)]),
  bad('allowedIamGroups is empty and allowAllIamUsers is false', 'allowedIamGroups', [], { allowAllIamUsers: false }),
  bad('assumeRoleArn has a short account id', 'assumeRoleArn', 'arn:aws:iam::123:role/key-lookup'),
  bad('assumeRoleArn is a user', 'assumeRoleArn', 'arn:aws:iam::123456789012:user/alice'),
  bad('instanceTypes is empty', 'instanceTypes', []),
  bad('instanceTypes holds a malformed type', 'instanceTypes', ['t4g small']),
  bad('instanceTypes are x86_64 on arm64', 'instanceTypes', ['t3.small']),
  bad('instanceTypes are Graviton on x86_64', 'instanceTypes', ['m7i.large', 't4g.small'], { architecture: 'x86_64' }),
  bad('architecture is amd64', 'architecture', 'amd64'),
  bad('amiId is too short', 'amiId', 'ami-12345'),
  bad('hostOs is a distribution not supported', 'hostOs', 'centos-9' as never),
  bad('hostOs is written in capitals', 'hostOs', 'Debian-12' as never),
  bad('bundleBucketName has upper case', 'bundleBucketName', 'My-Bucket'),
  bad('bundleBucketName is an s3:// address', 'bundleBucketName', 's3://bucket'),
  bad('minSize is negative', 'minSize', -1),
  bad('minSize is above maxSize', 'minSize', 3, { desiredCapacity: 3 }),
  bad('subnetIds names a subnet twice', 'subnetIds', ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef0']),
  bad('extraCloudConfig is not YAML', 'extraCloudConfig', 'runcmd: ['),
  bad('extraCloudConfig is a YAML list, not a cloud-config mapping', 'extraCloudConfig', '- echo hi\n'),
  bad('maxSize is 0', 'maxSize', 0, { minSize: 0, desiredCapacity: 0 }),
  bad('desiredCapacity is above maxSize', 'desiredCapacity', 3),
  bad('desiredCapacity is below minSize', 'desiredCapacity', 1, { minSize: 2 }),
  bad('keyName is longer than 255 characters', 'keyName', 'k'.repeat(256)),
  bad('keyName is not ASCII', 'keyName', 'schlüssel'),
  bad('rootVolumeSize is below 8 GiB', 'rootVolumeSize', 4),
  bad('rootVolumeSize is above 16384 GiB', 'rootVolumeSize', 20000),
  bad('sessionMaxSeconds is below a minute', 'sessionMaxSeconds', 30),
  bad('sessionMaxSeconds is above a week', 'sessionMaxSeconds', 604801),
  bad('healthCheckGracePeriod is negative', 'healthCheckGracePeriod', -1),
  bad('containerMemoryMb is below 64', 'containerMemoryMb', 32),
  bad('sessionDiskMb is below 16', 'sessionDiskMb', 8),
  bad('sessionDiskMb is above containerMemoryMb', 'sessionDiskMb', 1024, { containerMemoryMb: 512 }),
  bad('sessionDiskMb is not whole', 'sessionDiskMb', 100.5),
  bad('containerPidsLimit is below 16', 'containerPidsLimit', 8),
  bad('containerCpus is 0', 'containerCpus', 0),
  bad('maxConnectionsPerSource is 0', 'maxConnectionsPerSource', 0),
  bad('newConnectionsPerMinute is 0', 'newConnectionsPerMinute', 0),
  bad('newConnectionsPerMinute is above 10000', 'newConnectionsPerMinute', 10001),
  bad('loginGraceSeconds is below 5', 'loginGraceSeconds', 2),
  bad('loginGraceSeconds is not whole', 'loginGraceSeconds', 7.5),
  bad('readySessions is negative', 'readySessions', -1),
  bad('readySessions is above 64', 'readySessions', 65),
  bad('workerBaseImage holds a space', 'workerBaseImage', 'ubuntu 24.04'),
  bad('workerBaseImage has an upper-case path', 'workerBaseImage', 'Ubuntu:24.04'),
  bad('hostKeyKmsKeyId is a key name without alias/', 'hostKeyKmsKeyId', 'bastion-key'),
  bad('hostKeyKmsKeyId is an ARN of another service', 'hostKeyKmsKeyId', 'arn:aws:iam::123456789012:role/key'),
  bad('logRetentionDays is a period CloudWatch Logs does not accept', 'logRetentionDays', 366),
  bad('logRetentionDays is negative', 'logRetentionDays', -1),
  bad('recordingRetentionDays is 0: S3 expires objects after at least a day', 'recordingRetentionDays', 0),
  bad('recordingRetentionDays is above 36500', 'recordingRetentionDays', 36501),
  bad('recordingRetentionDays is not whole', 'recordingRetentionDays', 1.5),
  bad('logKmsKeyArn is an alias: CloudWatch Logs takes key ARNs only', 'logKmsKeyArn', 'alias/audit'),
  bad('logKmsKeyArn is a bare key id', 'logKmsKeyArn', '1234abcd-12ab-34cd-56ef-1234567890ab'),
  bad('logKmsKeyArn is an alias ARN', 'logKmsKeyArn', 'arn:aws:kms:eu-west-1:123456789012:alias/audit'),
  bad('hostKeyGeneration is 0', 'hostKeyGeneration', 0),
  bad('hostKeyGeneration is not whole', 'hostKeyGeneration', 1.5),
  bad('workerImage holds a $', 'workerImage', 'registry.example.com/worker:$TAG'),
  bad('workerImage holds a quote', 'workerImage', 'worker"image'),
  bad('targetSessionsPerHost is 0', 'targetSessionsPerHost', 0),
  bad('targetSessionsPerHost is not whole', 'targetSessionsPerHost', 12.5),
  bad('a schedule has four cron fields', 'schedules', [{ recurrence: '0 19 * *', minSize: 0, maxSize: 0 }]),
  bad('a schedule has a cron field with a ?', 'schedules', [{ recurrence: '0 19 ? * MON-FRI', minSize: 0, maxSize: 0 }]),
  bad('a schedule has a rate() expression', 'schedules', [{ recurrence: 'rate(1 day)', minSize: 0, maxSize: 0 }]),
  bad('a schedule has min_size above max_size', 'schedules', [{ recurrence: '0 7 * * *', minSize: 3, maxSize: 2 }]),
  bad('a schedule has desired_capacity above max_size', 'schedules', [
    { recurrence: '0 7 * * *', minSize: 1, maxSize: 2, desiredCapacity: 3 },
  ]),
  bad('a schedule has desired_capacity below min_size', 'schedules', [
    { recurrence: '0 7 * * *', minSize: 2, maxSize: 4, desiredCapacity: 1 },
  ]),
  bad('a schedule has a negative min_size', 'schedules', [{ recurrence: '0 7 * * *', minSize: -1, maxSize: 2 }]),
  bad('two schedules have the same name', 'schedules', [
    { name: 'night', recurrence: '0 19 * * *', minSize: 0, maxSize: 0 },
    { name: 'night', recurrence: '0 7 * * *', minSize: 1, maxSize: 2 },
  ]),
  bad('a schedule is named as the unnamed one at its position', 'schedules', [
    { recurrence: '0 19 * * *', minSize: 0, maxSize: 0 },
    { name: 'schedule-00', recurrence: '0 7 * * *', minSize: 1, maxSize: 2 },
  ]),
  bad('a schedule name holds a space', 'schedules', [{ name: 'office hours', recurrence: '0 7 * * *', minSize: 1, maxSize: 2 }]),
  bad('scheduleTimeZone is an offset', 'scheduleTimeZone', '+02:00'),
  bad('scheduleTimeZone holds a space', 'scheduleTimeZone', 'Europe/Berlin Time'),
  bad('drainTimeoutSeconds is above 48 hours', 'drainTimeoutSeconds', 172801),
  bad('drainTimeoutSeconds is negative', 'drainTimeoutSeconds', -1),
  bad('maxInstanceLifetime is below a day', 'maxInstanceLifetime', 3600),
  bad('maxInstanceLifetime is above a year', 'maxInstanceLifetime', 31536001),
  bad('maxInstanceLifetime is not whole', 'maxInstanceLifetime', 86400.5),
  bad('tags has an aws: key', 'tags', { 'aws:created-by': 'me' }),
  bad('tags has a key above 128 characters', 'tags', { ['k'.repeat(129)]: 'v' }),
  bad('tags has a value above 256 characters', 'tags', { Team: 'v'.repeat(257) }),
];

/** Valid inputs at the edges of the rules: both paths must accept them. */
const GOOD_INPUTS: [title: string, props: Props][] = [
  [
    'Graviton families of every shape on arm64',
    { instanceTypes: ['is4gen.large', 'im4gn.large', 'x2gd.xlarge', 'g5g.xlarge', 'c7gn.16xlarge', 'a1.metal', 'r8g.metal-24xl'] },
  ],
  [
    'Intel and AMD families of every shape on x86_64',
    {
      architecture: 'x86_64',
      instanceTypes: ['u-6tb1.metal', 'm7i-flex.large', 'c6in.large', 'g5.xlarge', 't3a.nano', 'm5zn.large', 'p5.48xlarge'],
    },
  ],
  [
    'the names use the whole DNS label with a VPC label',
    { environmentName: 'e'.repeat(20), serviceName: 's'.repeat(21), vpcName: 'v'.repeat(5) },
  ],
  ['the names use the whole DNS label without a VPC label', { environmentName: 'e'.repeat(20), serviceName: 's'.repeat(27), vpcName: '' }],
  [
    'dnsDomain has the longest length that leaves room for the label',
    { ...ZONE, dnsDomain: `${`${'a'.repeat(62)}.`.repeat(2)}${'b'.repeat(63)}` },
  ],
  ['route53Fqdn has 253 characters and a trailing dot', { ...ZONE, route53Fqdn: `${`${'a'.repeat(62)}.`.repeat(4)}a.` }],
  ['the hosted zone id is as short as it gets', { route53ZoneId: 'Z1' }],
  ['the sizes are all at their smallest', { minSize: 0, maxSize: 1, desiredCapacity: 0, healthCheckGracePeriod: 0 }],
  [
    'the session and container limits are at their edges',
    {
      sessionMaxSeconds: 604800,
      containerMemoryMb: 64,
      sessionDiskMb: 64,
      containerPidsLimit: 16,
      containerCpus: 0.01,
      maxConnectionsPerSource: 1,
      newConnectionsPerMinute: 10000,
      loginGraceSeconds: 600,
      readySessions: 0,
      rootVolumeSize: 16384,
    },
  ],
  ['ports are at their edges', { servicePort: 65535, healthCheckPort: 1 }],
  ['the role is in another partition', { assumeRoleArn: 'arn:aws-us-gov:iam::123456789012:role/path/to/lookup' }],
  ['a worker image from a registry with a port and a digest', { workerImage: `registry.example.com:5000/team/worker@${DIGEST}` }],
  [
    'the host key uses a KMS key ARN and its second generation',
    { hostKeyKmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', hostKeyGeneration: 2 },
  ],
  [
    'the audit log keeps its events forever, encrypted with a multi-Region key',
    { logRetentionDays: 0, logKmsKeyArn: 'arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab' },
  ],
  ['the audit log keeps its events for a day', { logRetentionDays: 1 }],
  ['sessions are recorded and the recordings kept a day', { sessionRecording: true, recordingRetentionDays: 1 }],
  ['recordings are kept a hundred years', { sessionRecording: true, recordingRetentionDays: 36500 }],
  ['the audit log keeps its events for ten years', { logRetentionDays: 3653 }],
  ['the host key uses a KMS alias', { hostKeyKmsKeyId: 'alias/ssh-bastion/host-key' }],
  ['the host key uses a multi-Region KMS key id', { hostKeyKmsKeyId: 'mrk-1234abcd12ab34cd56ef1234567890ab' }],
  ['IAM group names use every allowed character', { allowedIamGroups: ['Ops_Team+1=2.x@y-z', 'g'.repeat(128)] }],
  ['groups named, not every IAM user', { allowedIamGroups: ['ssh-users'], allowAllIamUsers: false }],
  [
    'CIDR blocks cover the whole internet on purpose',
    { allowedCidrBlocks: ['0.0.0.0/0', '::/0'], hostAllowedCidrBlocks: ['192.0.2.1/32', '2001:db8::1/128'] },
  ],
  ['tags at their limits', { tags: { ['k'.repeat(128)]: 'v'.repeat(256), Empty: '' } }],
  [
    'schedules for office hours in a time zone, one named, one unnamed without a desired capacity',
    {
      schedules: [
        { name: 'evening', recurrence: '0 19 * * MON-FRI', minSize: 0, maxSize: 0, desiredCapacity: 0 },
        { recurrence: '*/30 7-9 1,15 JAN-DEC 1-5', minSize: 1, maxSize: 4 },
      ],
      scheduleTimeZone: 'America/Argentina/Buenos_Aires',
    },
  ],
  ['scaling and draining at their edges', { targetSessionsPerHost: 1, drainTimeoutSeconds: 172800, maxInstanceLifetime: 31536000 }],
  [
    'no drain and no lifetime limit',
    { targetSessionsPerHost: 10000, drainTimeoutSeconds: 0, maxInstanceLifetime: 0, scheduleTimeZone: 'Etc/GMT+5' },
  ],
  ['the shortest lifetime', { maxInstanceLifetime: 86400, scheduleTimeZone: 'UTC' }],
];

/** Every property set to a valid value other than its default. */
const FULL: SshBastionServiceProps = {
  vpcId: 'vpc-0123abcd',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  lbSubnetIds: ['subnet-89abcdef'],
  environmentName: 'production',
  serviceName: 'ssh',
  vpcName: 'core',
  dnsDomain: 'example.com.',
  route53ZoneId: 'Z0123456789ABCDEFGHIJ',
  route53Fqdn: 'ssh.example.com',
  allowedCidrBlocks: ['203.0.113.0/24', '2001:db8::/32'],
  hostAllowedCidrBlocks: ['198.51.100.7/32'],
  additionalSecurityGroupIds: ['sg-0123456789abcdef0'],
  egressCidrBlocks: ['10.0.0.0/8', '::/0'],
  servicePort: 443,
  healthCheckPort: 8443,
  lbInternal: true,
  lbDeletionProtection: true,
  assignPublicIp: true,
  allowedIamGroups: ['ssh-users', 'ops+admins@example.com'],
  assumeRoleArn: 'arn:aws:iam::123456789012:role/identity/bastion-key-lookup',
  instanceTypes: ['c7gn.large', 'm7g.large', 'a1.large'],
  architecture: 'arm64',
  hostOs: 'debian-12',
  amiId: 'ami-0123456789abcdef0',
  bundleBucketName: 'platform-artifacts.eu-west-1',
  minSize: 0,
  maxSize: 4,
  desiredCapacity: 2,
  spot: true,
  keyName: 'admin key 2024',
  rootVolumeSize: 30,
  sessionMaxSeconds: 3600,
  stableHostKeys: false,
  healthCheckGracePeriod: 900,
  targetSessionsPerHost: 30,
  schedules: [
    { name: 'night', recurrence: '0 20 * * *', minSize: 0, maxSize: 0, desiredCapacity: 0 },
    { name: 'day', recurrence: '0 6 * * MON-FRI', minSize: 1, maxSize: 3 },
  ],
  scheduleTimeZone: 'Europe/Berlin',
  drainTimeoutSeconds: 3600,
  maxInstanceLifetime: 1209600,
  logRetentionDays: 90,
  logKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  containerMemoryMb: 1024,
  sessionDiskMb: 512,
  containerPidsLimit: 512,
  containerCpus: 0.5,
  maxConnectionsPerSource: 4,
  newConnectionsPerMinute: 120,
  loginGraceSeconds: 30,
  readySessions: 4,
  tunnelOnly: true,
  allowAgentForwarding: true,
  workerBaseImage: `docker.io/library/debian:12-slim@${DIGEST}`,
  workerImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bastion-worker:1.4',
  customHostKeysScript: '#!/bin/bash\necho "own host keys"\n',
  customKeyLookupScript: '#!/bin/bash\necho "own key lookup"\n',
  customContainerImageScript: '#!/bin/bash\necho "own image"\n',
  customUnitsScript: '#!/bin/bash\necho "own units"\n',
  extraUserDataScript: '#!/bin/bash\necho "$HOSTNAME ready"\n',
  extraCloudConfig: '#cloud-config\nruncmd:\n  - [echo, extra]\n',
  tags: { Team: 'platform', 'cost-center': '42' },
};

/** The error the construct throws for `props`, or undefined. */
function constructError(props: Props): string | undefined {
  const stack = new TerraformStack(Testing.app(), 'test');
  try {
    new SshBastionService(stack, 'b', { ...REQUIRED_PROPS, ...props });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** JSON as Terraform's jsonencode writes it: <, > and & escaped, object keys sorted. */
function terraformJson(value: unknown): string {
  const sorted = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sorted);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(
        Object.keys(item)
          .sort()
          .map((key) => [key, sorted((item as { [key: string]: unknown })[key])]),
      );
    }
    return item;
  };
  return JSON.stringify(sorted(value)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/** Terraform wraps its messages at 78 columns: compare with whitespace runs collapsed. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

/** A property's value as its module variable takes it (schedules in snake_case). */
function asVariable(prop: string, value: unknown): unknown {
  return prop === 'schedules' ? (value as BastionSchedule[]).map(scheduleAsVariable) : value;
}

function variableArguments(props: Props): string[] {
  return Object.entries({ ...REQUIRED_PROPS, ...props }).map(([prop, value]) => varArgument(variableName(prop), asVariable(prop, value)));
}

describe('input rules', () => {
  test('every rule checks a module variable', () => {
    const variables = new Set(MODULE_VARIABLES.map((variable) => variable.prop));
    expect(INPUT_RULES.filter((rule) => !variables.has(rule.prop)).map((rule) => rule.prop)).toEqual([]);
  });

  test('every rule is broken by at least one bad input below', () => {
    const reported = new Set(BAD_INPUTS.map(([, , prop]) => prop));
    expect(INPUT_RULES.filter((rule) => !reported.has(rule.prop)).map((rule) => rule.prop)).toEqual([]);
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(BAD_INPUTS.map(([title]) => title)).size).toBe(BAD_INPUTS.length);
  });

  test('module variables are the snake_case of the properties, digits staying with their word', () => {
    expect(variableName('route53ZoneId')).toBe('route53_zone_id');
    expect(variableName('containerMemoryMb')).toBe('container_memory_mb');
  });
});

describe('input rules in the construct', () => {
  test('the defaults synthesize', () => {
    expect(() => synthBastion()).not.toThrow();
  });

  test('a full good configuration synthesizes', () => {
    // GIVEN every property set to a valid non-default value
    // WHEN the construct is synthesized with cdktf's validations
    const json = synthBastion(FULL);
    // THEN it holds the bastion
    expect(Object.keys(json.resource.aws_autoscaling_group)).toHaveLength(1);
  });

  test.each(GOOD_INPUTS)('accepts %s', (_title, props) => {
    expect(constructError(props)).toBeUndefined();
  });

  test.each(BAD_INPUTS)('fails when %s', (_title, props, prop) => {
    const message = constructError(props);
    expect(message).toBeDefined();
    expect(message).toContain(`${prop} `);
    expect(message).toContain(`module variable ${variableName(prop)}`);
    expect(message).toContain(`got ${JSON.stringify(asVariable(prop, props[prop]))}`);
  });

  test('fails with one error listing every bad property', () => {
    const message = constructError({ servicePort: 0, architecture: 'amd64' as never, tags: { 'aws:x': 'y' } }) ?? '';
    expect(
      message
        .split('\n')
        .filter((line) => line.startsWith('- '))
        .map((line) => line.split(' ')[1]),
    ).toEqual(['servicePort', 'architecture', 'tags']);
  });

  test('names only the property the user set when it alone explains the problem (minSize above the default maxSize)', () => {
    const message = constructError({ minSize: 3 }) ?? '';
    expect(
      message
        .split('\n')
        .filter((line) => line.startsWith('- '))
        .map((line) => line.split(' ')[1]),
    ).toEqual(['minSize']);
  });

  test('speaks of properties left out, not of null, to TypeScript users', () => {
    const message = constructError({ lbSubnetIds: [] }) ?? '';
    expect(message).toContain("lbSubnetIds must be left out (undefined: the hosts' subnets) or a non-empty list of subnet ids");
    expect(message).not.toContain('null');
  });

  const ENV_FILE_PROPS: (keyof SshBastionServiceProps)[] = [
    'environmentName',
    'serviceName',
    'vpcName',
    'assumeRoleArn',
    'workerBaseImage',
    'workerImage',
  ];
  const UNSAFE = [' ', '\t', '"', "'", '$', '\\', '\n'];
  test.each(ENV_FILE_PROPS.flatMap((prop) => UNSAFE.map((character) => [prop, JSON.stringify(character)] as const)))(
    'fails when %s, which bastion.env receives, holds %s',
    (prop, character) => {
      const good: Props = {
        environmentName: 'prod',
        serviceName: 'ssh',
        vpcName: 'core',
        assumeRoleArn: 'arn:aws:iam::123456789012:role/lookup',
        workerBaseImage: 'ubuntu:24.04',
        workerImage: 'ubuntu:24.04',
      };
      const value = `${good[prop]}${JSON.parse(character)}x`;
      expect(constructError({ [prop]: value })).toContain(`got ${JSON.stringify(value)}`);
    },
  );

  test('fails when an allowed IAM group, which bastion.env receives, holds whitespace, quotes, $ or a backslash', () => {
    for (const character of [' ', '"', "'", '$', '\\', '\n', ',']) {
      expect(constructError({ allowedIamGroups: [`ops${character}x`] })).toContain('allowedIamGroups ');
    }
  });

  test('fails when allowedIamGroups is left out and allowAllIamUsers is not true: nobody is let in by default', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const { allowAllIamUsers: _, ...withoutAll } = REQUIRED_PROPS;
    const message = (() => {
      try {
        new SshBastionService(stack, 'b', withoutAll);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain('allowedIamGroups must name at least one IAM group');
    expect(message).toContain('set allow_all_iam_users (allowAllIamUsers) to true; got [] (allow_all_iam_users is false)');
    expect(message).toContain('[construct property allowedIamGroups, module variable allowed_iam_groups]');
  });

  test('a cross-property rule leaves the check to Terraform while the other property is a token', () => {
    // GIVEN a health check port that would clash with the service port, which only Terraform knows
    const stack = new TerraformStack(Testing.app(), 'test');
    const servicePort = new TerraformVariable(stack, 'service_port', { type: 'number' }).numberValue;
    // THEN the construct does not judge it
    expect(() => new SshBastionService(stack, 'b', { ...REQUIRED_PROPS, servicePort, healthCheckPort: 22 })).not.toThrow();
  });

  test('tokens are left to Terraform: the module, all variables, synthesizes', () => {
    expect(() => Testing.synth(new SshBastionModuleStack(Testing.app(), 'module'), true)).not.toThrow();
  });
});

const binary = terraformBinary();
if (!binary) {
  console.warn('\n\n*** terraform is not installed: the Terraform half of the input rule tests is SKIPPED ***\n\n');
}
const withTerraform = binary ? describe : describe.skip;

/**
 * `terraform plan` without blocking, so a few run at once. It uses the offline CLI configuration
 * that initialised() left in `dir`; a variables-only configuration needs no provider anyway.
 */
function planInBackground(dir: string, props: Props): Promise<TerraformRun> {
  const args = ['plan', '-input=false', '-no-color', '-lock=false', ...variableArguments(props)];
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: path.join(dir, '.terraformrc'),
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
  };
  return new Promise((resolve) => {
    execFile(binary!, args, { cwd: dir, env, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Runs `work` on every item, at most `size` at a time. */
async function inPool<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

withTerraform('input rules in the module, checked by real terraform offline', () => {
  const GOOD: [string, Props][] = [['the defaults', {}], ['a full good configuration', FULL], ...GOOD_INPUTS];
  const runs = new Map<string, TerraformRun>();
  let dir: string | undefined;

  beforeAll(async () => {
    // GIVEN the module's variables, initialised once; WHEN every case is planned, four at a time
    const module = JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module')));
    dir = initialised(variablesOnly(module), 'tf-input-rules-');
    const cases: [string, Props][] = [...GOOD, ...BAD_INPUTS.map(([title, props]): [string, Props] => [title, props])];
    const results = await inPool(cases, 4, ([, props]) => planInBackground(dir!, props));
    cases.forEach(([title], index) => runs.set(title, results[index]));
  }, 120_000);

  afterAll(() => {
    if (dir) removeDir(dir);
  });

  test.each(GOOD)('plans with %s', (title) => {
    // THEN the good ones plan without changes
    const result = runs.get(title)!;
    expect(result.output).toContain('No changes');
    expect(result.status).toBe(0);
  });

  test.each(BAD_INPUTS)('fails when %s', (title, props, prop) => {
    // THEN each bad one fails with its variable's message, naming the value
    const result = runs.get(title)!;
    expect(result.status).not.toBe(0);
    const output = flat(result.output);
    const name = variableName(prop);
    expect(output).toContain('Invalid value for variable');
    expect(output).toContain(`${name} `);
    expect(output).toContain(flat(`got ${terraformJson(asVariable(prop, props[prop]))}`));
    expect(output).toContain(`[construct property ${prop}, module variable ${name}].`);
  });

  test('fails when allowed_iam_groups is left out and allow_all_iam_users is not set', async () => {
    // the variables of the smallest configuration but allow_all_iam_users: both at their defaults
    const args = [
      'plan',
      '-input=false',
      '-no-color',
      '-lock=false',
      varArgument('vpc_id', REQUIRED_PROPS.vpcId),
      varArgument('subnet_ids', REQUIRED_PROPS.subnetIds),
    ];
    const result = await new Promise<TerraformRun>((resolve) => {
      const env = {
        ...process.env,
        TF_CLI_CONFIG_FILE: path.join(dir!, '.terraformrc'),
        CHECKPOINT_DISABLE: '1',
        TF_IN_AUTOMATION: '1',
        TF_INPUT: '0',
      };
      execFile(binary!, args, { cwd: dir!, env, timeout: 120_000 }, (error, stdout, stderr) => {
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
      });
    });
    expect(result.status).not.toBe(0);
    const output = flat(result.output);
    expect(output).toContain('Invalid value for variable');
    expect(output).toContain('allowed_iam_groups must name at least one IAM group');
    expect(output).toContain(
      'got [] (allow_all_iam_users is false) [construct property allowedIamGroups, module variable allowed_iam_groups].',
    );
  });

  test.each(BAD_INPUTS)('says what the construct says when %s', (title, props, prop) => {
    // THEN the message is the construct's, word for word, after the variable's name: one definition,
    // two paths (where TypeScript users leave a property out, Terraform users write null)
    const output = flat(runs.get(title)!.output);
    const constructMessages = (constructError(props) ?? '')
      .split('\n- ')
      .filter((line) => line.startsWith(`${prop} `))
      .map((line) => line.replace(' must be left out (undefined: ', ' must be null ('));
    expect(constructMessages.length).toBeGreaterThan(0);
    for (const line of constructMessages) expect(output).toContain(flat(`${variableName(prop)} ${line.slice(prop.length + 1)}.`));
  });
});
