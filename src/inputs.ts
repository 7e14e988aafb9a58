import { atMost, lookupIn } from './conditional';
import { Architecture, BastionSchedule, SshBastionServiceProps } from './props';
import {
  allMatch,
  AMI_ID,
  ARM64_INSTANCE_TYPE,
  BUCKET_NAME,
  cidrList,
  CRON,
  DNS_DOMAIN_MAX,
  DNS_LABEL_MAX,
  DNS_NAME_MAX,
  dnsName,
  DOCKER_REFERENCE,
  emptyOr,
  HOST_OPERATING_SYSTEMS,
  HOSTED_ZONE_ID,
  IAM_GROUP,
  idList,
  INSTANCE_TYPE,
  integerBetween,
  integerIn,
  integerRule,
  isInteger,
  isYamlMapping,
  KEY_PAIR_NAME,
  KMS_KEY,
  KMS_KEY_ARN,
  length,
  LIFETIME_MAX,
  LIFETIME_MIN,
  LOG_RETENTION_DAYS,
  LONGEST_REGION,
  LOWER_LABEL,
  matches,
  matching,
  NAME_BUDGET,
  NAME_PART,
  needsZone,
  nullOr,
  ROLE_ARN,
  RuleDefinition,
  SCHEDULE_NAME,
  SECURITY_GROUP_ID,
  SUBNET_ID,
  TIME_ZONE,
  v,
  VPC_ID,
  withDefault,
} from './rules';

/**
 * The construct's inputs, one entry per property of {@link SshBastionServiceProps}: its module
 * variable's type and description, and its default. The construct's defaults (config.ts) and the
 * registry module's variables (module-stack.ts, and from them the module README's tables) are
 * derived from this table; the props' TSDoc, which users read in their editor, is checked against
 * it (test/validation/inputs.test.ts). Each input's rules are here too; their building blocks are in rules.ts.
 */

type Prop = keyof SshBastionServiceProps;

/** The type of the schedules variable: a schedule's name and desired capacity may be left out. */
export const SCHEDULES_TYPE =
  'list(object({ name = optional(string), recurrence = string, min_size = number, max_size = number, desired_capacity = optional(number) }))';

export type VariableKind = 'string' | 'number' | 'bool' | 'list(string)' | 'map(string)' | typeof SCHEDULES_TYPE;

/** Default instance types per architecture: burstable, enough memory for ~50 idle sessions. */
export const DEFAULT_INSTANCE_TYPES: { readonly [A in Architecture]: string[] } = {
  arm64: ['t4g.small', 't4g.medium'],
  x86_64: ['t3.small', 't3.medium'],
};

/** The admin port the hosts' own sshd listens on; fixed so the worker image and rules agree. */
export const ADMIN_PORT = 2222;

/** AWS's bound on a lifecycle hook's wait: 48 hours. */
export const MAX_DRAIN_SECONDS = 172800;

/** The default of an input computed from other inputs: the module variable's default is null, which stands for it. */
export const DERIVED = Symbol('derived default');

/** The other inputs as a derived default sees them: given values, or their literal defaults. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each derivation reads the inputs it names
export type DerivationInputs = { readonly [P in Prop]-?: any };

export interface Derivation {
  /** The default from the other inputs, literal or a Terraform expression as they are. */
  readonly from: (inputs: DerivationInputs) => unknown;
  /**
   * How the module replaces the variable's null by it: Terraform's coalesce() or coalescelist(),
   * or `null-check` (`var.x == null ? default : var.x`) where "" or [] is a value of its own.
   */
  readonly inTerraform: 'coalesce' | 'coalescelist' | 'null-check';
}

export interface InputDefinition {
  readonly prop: Prop;
  /** The module variable's type. */
  readonly type: VariableKind;
  /** The module variable's description (the props' TSDoc says the same for TypeScript users). */
  readonly description: string;
  /**
   * The default: the construct's when the property is left out and the module variable's.
   * Absent: required. {@link DERIVED}: computed from other inputs, by `derive` or, without it,
   * where it is used (targetSessionsPerHost: scaling.ts).
   */
  readonly default?: unknown;
  readonly derive?: Derivation;
  /** The variable in the hosts' bastion.env that carries the value (host-settings.ts), if any. */
  readonly hostSetting?: string;
  /** What a literal default stands for where it is used, when the TSDoc documents that instead (`@default - ...`). */
  readonly standsFor?: string;
  /**
   * Its rules, each checked by the construct at synth time for literal values and by Terraform as
   * a `validation` block of the module variable (validation.ts). A rule comparing with other inputs
   * names them in `uses`.
   */
  readonly rules?: RuleDefinition[];
}

function defaultInstanceTypes(architecture: string): string[] {
  return lookupIn(DEFAULT_INSTANCE_TYPES, architecture, DEFAULT_INSTANCE_TYPES.arm64);
}

/** The VPC label's default: the VPC id (the name-length rule of serviceName reads it too). */
const VPC_LABEL_DEFAULT: Derivation = { from: (inputs) => inputs.vpcId, inTerraform: 'null-check' };

/** The bastion.env variable of an input. */
export function hostSettingOf(prop: Prop): string {
  const name = INPUTS.find((input) => input.prop === prop)?.hostSetting;
  if (name === undefined) throw new Error(`input ${prop} has no host setting`);
  return name;
}

/** The inputs, in the order users read the module's variables: where, who, how big, how it behaves. */
export const INPUTS: InputDefinition[] = [
  {
    prop: 'vpcId',
    type: 'string',
    description: 'Id of the existing VPC the bastion runs in (vpc-...).',
    rules: [
      {
        prop: 'vpcId',
        condition: matches(VPC_ID, v('vpcId')),
        requirement: 'must be a VPC id: vpc- followed by 8 or 17 hexadecimal digits (lower case), like "vpc-0123456789abcdef0"',
        check: matching(VPC_ID),
      },
    ],
  },
  {
    prop: 'subnetIds',
    type: 'list(string)',
    description:
      'Subnets the bastion hosts run in, ideally one per availability zone. Hosts in private subnets need a NAT gateway or an HTTPS proxy (IAM has no VPC endpoint) and S3 (a gateway endpoint is enough); docs/host-runtime.md lists every endpoint.',
    rules: [
      idList(
        'subnetIds',
        SUBNET_ID,
        'subnet ids (subnet- followed by 8 or 17 lower-case hexadecimal digits), ideally one per availability zone',
        true,
      ),
      {
        prop: 'subnetIds',
        condition: `length(distinct(${v('subnetIds')})) == length(${v('subnetIds')})`,
        requirement: 'must name each subnet once',
        check: (value: string[]) => new Set(value).size === value.length,
      },
    ],
  },
  {
    prop: 'lbSubnetIds',
    type: 'list(string)',
    default: DERIVED,
    derive: { from: (inputs) => inputs.subnetIds, inTerraform: 'coalescelist' },
    description:
      'Subnets of the Network Load Balancer; their availability zones must match subnet_ids. null: the same subnets as the hosts.',
    rules: [
      {
        prop: 'lbSubnetIds',
        condition: nullOr(v('lbSubnetIds'), `length(${v('lbSubnetIds')}) > 0 && ${allMatch(SUBNET_ID, v('lbSubnetIds'))}`),
        requirement:
          "must be null (the hosts' subnets) or a non-empty list of subnet ids (subnet- followed by 8 or 17 lower-case hexadecimal digits)",
        check: (value: string[]) => value.length > 0 && value.every(matching(SUBNET_ID)),
      },
    ],
  },
  {
    prop: 'environmentName',
    type: 'string',
    default: 'staging',
    description: 'Environment name: first part of every resource name and of the DNS name.',
    rules: [
      {
        prop: 'environmentName',
        condition: `${matches(NAME_PART, v('environmentName'))} && ${v('environmentName')} != "internal"`,
        requirement:
          'must start with a lower-case letter, hold only lower-case letters, digits and hyphens, not end with a hyphen, and not be "internal" (load balancer names must not start with "internal-")',
        check: (value: string) => matching(NAME_PART)(value) && value !== 'internal',
      },
    ],
  },
  {
    prop: 'serviceName',
    type: 'string',
    default: 'bastion-service',
    description: 'Service name: part of every resource name and the last label of the generated DNS name.',
    rules: [
      {
        prop: 'serviceName',
        condition: matches(NAME_PART, v('serviceName')),
        requirement: 'must start with a lower-case letter, hold only lower-case letters, digits and hyphens, and not end with a hyphen',
        check: matching(NAME_PART),
      },
      {
        prop: 'serviceName',
        uses: ['environmentName', 'vpcName', 'vpcId'],
        condition: `length(${v('environmentName')}) + length(${v('serviceName')}) + (${withDefault('vpcName', VPC_LABEL_DEFAULT)} == "" ? 0 : length(${withDefault('vpcName', VPC_LABEL_DEFAULT)}) + 1) <= ${NAME_BUDGET + 1}`,
        requirement: `together with environment_name (environmentName) and the VPC label (vpc_name, or vpc_id when vpc_name is null) must fit the generated DNS label <environment>-<region>-<vpc label>-<service> into ${DNS_LABEL_MAX} characters with the longest region names (${LONGEST_REGION} characters): the three may have ${NAME_BUDGET} characters together (${NAME_BUDGET + 1} without a VPC label; the default label, the VPC id, has 21); shorten the names or set a short vpc_name`,
        check: (value: string, inputs) =>
          length(inputs.environmentName) + length(value) + (inputs.vpcLabel === '' ? 0 : length(inputs.vpcLabel) + 1) <= NAME_BUDGET + 1,
      },
    ],
  },
  {
    prop: 'vpcName',
    type: 'string',
    default: DERIVED,
    derive: VPC_LABEL_DEFAULT,
    description: 'VPC label in the generated DNS name and host names. null: the VPC id; "": left out.',
    rules: [
      {
        prop: 'vpcName',
        condition: nullOr(v('vpcName'), `${v('vpcName')} == "" || ${matches(LOWER_LABEL, v('vpcName'))}`),
        requirement:
          'must be null (the VPC id), "" (no VPC label) or a DNS label: 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen',
        check: (value: string) => value === '' || matching(LOWER_LABEL)(value),
      },
    ],
  },
  {
    prop: 'dnsDomain',
    type: 'string',
    default: '',
    standsFor: 'the name of the hosted zone route53ZoneId',
    description: 'Domain of the generated DNS name. "": the name of the hosted zone route53_zone_id.',
    rules: [
      dnsName(
        'dnsDomain',
        DNS_DOMAIN_MAX,
        ` (the generated name adds a label of up to ${DNS_LABEL_MAX} characters and a dot, within DNS's ${DNS_NAME_MAX})`,
      ),
      needsZone('dnsDomain'),
    ],
  },
  {
    prop: 'route53ZoneId',
    type: 'string',
    default: '',
    description: "Route53 hosted zone for the bastion's alias record; empty creates no record.",
    rules: [
      emptyOr(
        'route53ZoneId',
        HOSTED_ZONE_ID,
        'a Route53 hosted zone id: Z followed by 1 to 31 upper-case letters and digits, like "Z0123456789ABCDEFGHIJ"',
      ),
    ],
  },
  {
    prop: 'route53Fqdn',
    type: 'string',
    default: '',
    description: 'Full DNS name of the record, replacing <environment>-<region>-<vpc name>-<service>.<domain>.',
    rules: [dnsName('route53Fqdn', DNS_NAME_MAX, ''), needsZone('route53Fqdn')],
  },
  {
    prop: 'allowedCidrBlocks',
    type: 'list(string)',
    default: [],
    description:
      'IPv4 and IPv6 CIDR blocks allowed to connect to the service port. Nothing is open by default: pass ["0.0.0.0/0"] explicitly to allow the whole internet.',
    rules: [cidrList('allowedCidrBlocks')],
  },
  {
    prop: 'hostAllowedCidrBlocks',
    type: 'list(string)',
    default: [],
    description:
      "CIDR blocks allowed to the hosts' own sshd (port 2222, EC2 key pair login, for administrators). A non-empty list also adds a load balancer listener on 2222.",
    rules: [cidrList('hostAllowedCidrBlocks')],
  },
  {
    prop: 'additionalSecurityGroupIds',
    type: 'list(string)',
    default: [],
    description: 'Further security groups attached to the hosts.',
    rules: [
      idList(
        'additionalSecurityGroupIds',
        SECURITY_GROUP_ID,
        'security group ids (sg- followed by 8 or 17 lower-case hexadecimal digits)',
        false,
      ),
    ],
  },
  {
    prop: 'egressCidrBlocks',
    type: 'list(string)',
    default: ['0.0.0.0/0'],
    description:
      'CIDR blocks the hosts and their sessions may connect to (all ports). An empty list creates no egress rule: bring your own through additional_security_group_ids.',
    rules: [cidrList('egressCidrBlocks')],
  },
  {
    prop: 'servicePort',
    type: 'number',
    hostSetting: 'BASTION_SERVICE_PORT',
    default: 22,
    description: 'TCP port of the bastion service on the load balancer and the hosts.',
    rules: [
      {
        prop: 'servicePort',
        condition: `${integerBetween(v('servicePort'), 1, 65535)} && ${v('servicePort')} != ${ADMIN_PORT}`,
        requirement: `must be a TCP port between 1 and 65535 other than ${ADMIN_PORT} (the hosts' own sshd)`,
        check: (value: number) => integerIn(value, 1, 65535) && value !== ADMIN_PORT,
      },
    ],
  },
  {
    prop: 'healthCheckPort',
    type: 'number',
    hostSetting: 'BASTION_HEALTH_PORT',
    default: 2224,
    description:
      "Port of the load balancer's HTTP health check; it opens once a host is ready, and answers 200 only while docker, the session image, the key lookup service and free disk space pass their checks.",
    rules: [
      {
        prop: 'healthCheckPort',
        uses: ['servicePort'],
        condition: `${integerBetween(v('healthCheckPort'), 1, 65535)} && ${v('healthCheckPort')} != ${ADMIN_PORT} && ${v('healthCheckPort')} != var.service_port`,
        requirement: `must be a TCP port between 1 and 65535 other than ${ADMIN_PORT} (the hosts' own sshd) and other than service_port (servicePort)`,
        check: (value: number, inputs) => integerIn(value, 1, 65535) && value !== ADMIN_PORT && value !== inputs.servicePort,
      },
    ],
  },
  {
    prop: 'lbInternal',
    type: 'bool',
    default: false,
    description: 'Makes the Network Load Balancer internal (reachable only inside the VPC and peered networks).',
  },
  { prop: 'lbDeletionProtection', type: 'bool', default: false, description: 'Turns on deletion protection of the load balancer.' },
  {
    prop: 'assignPublicIp',
    type: 'bool',
    default: false,
    description: 'Gives each host a public IPv4 address (needed in public subnets without NAT).',
  },
  {
    prop: 'allowedIamGroups',
    type: 'list(string)',
    hostSetting: 'BASTION_ALLOWED_IAM_GROUPS',
    default: [],
    description: 'IAM groups whose members may log in. Required (at least one group) unless allow_all_iam_users is true.',
    rules: [
      idList(
        'allowedIamGroups',
        IAM_GROUP,
        'IAM group names: 1 to 128 letters, digits and _+=.@- each (IAM also allows commas, which this list cannot hold)',
        false,
      ),
      {
        prop: 'allowedIamGroups',
        uses: ['allowAllIamUsers'],
        condition: `length(${v('allowedIamGroups')}) > 0 || var.allow_all_iam_users`,
        requirement:
          'must name at least one IAM group whose members may log in; to let every IAM user of the identity account with an SSH key log in ' +
          '(root in their own session container, users who uploaded a key for CodeCommit included), leave it empty and set allow_all_iam_users (allowAllIamUsers) to true',
        check: (value: string[], inputs) => value.length > 0 || inputs.allowAllIamUsers === true,
      },
    ],
  },
  {
    prop: 'allowAllIamUsers',
    type: 'bool',
    default: false,
    description:
      'Lets every IAM user of the identity account with an SSH public key log in (and get root in their session container), including users who uploaded a key for another purpose such as CodeCommit. Must be true when allowed_iam_groups is empty; ignored when it names groups.',
  },
  {
    prop: 'assumeRoleArn',
    type: 'string',
    hostSetting: 'BASTION_ASSUME_ROLE_ARN',
    default: '',
    description:
      'Role in another account that holds the IAM users; the hosts assume it for key lookups. See the identity_account_policy output.',
    rules: [
      emptyOr(
        'assumeRoleArn',
        ROLE_ARN,
        'an IAM role ARN like "arn:aws:iam::123456789012:role/bastion-key-lookup": 12-digit account, role path and name of letters, digits and _+=,.@-/',
      ),
    ],
  },
  {
    prop: 'instanceTypes',
    type: 'list(string)',
    default: DERIVED,
    derive: { from: (inputs) => defaultInstanceTypes(inputs.architecture), inTerraform: 'null-check' },
    description:
      "Instance types, in order of preference, for the group's mixed instances policy. null: t4g.small and t4g.medium for arm64, t3.small and t3.medium for x86_64.",
    rules: [
      {
        prop: 'instanceTypes',
        condition: nullOr(
          v('instanceTypes'),
          `length(${v('instanceTypes')}) > 0 && length(${v('instanceTypes')}) <= 40 && ${allMatch(INSTANCE_TYPE, v('instanceTypes'))}`,
        ),
        requirement:
          'must be null (the defaults of the architecture) or a list of 1 to 40 EC2 instance types written family.size, like "t4g.small" or "m7i-flex.large"',
        check: (value: string[]) => value.length > 0 && value.length <= 40 && value.every(matching(INSTANCE_TYPE)),
      },
      {
        prop: 'instanceTypes',
        uses: ['architecture'],
        condition: nullOr(
          v('instanceTypes'),
          `alltrue([for item in ${v('instanceTypes')} : var.architecture == "arm64" ? ${matches(ARM64_INSTANCE_TYPE, 'item')} : (var.architecture == "x86_64" ? !${matches(ARM64_INSTANCE_TYPE, 'item')} : true)])`,
        ),
        requirement:
          'must match architecture: Graviton types (a "g" after the generation digit, like t4g, m7g, c7gn, or a1) for arm64, the others (t3, m7i, c6a, ...) for x86_64; change the types or the architecture',
        check: (value: string[], inputs) => {
          const arm = matching(ARM64_INSTANCE_TYPE);
          if (inputs.architecture === 'arm64') return value.every(arm);
          if (inputs.architecture === 'x86_64') return !value.some(arm);
          return true;
        },
      },
    ],
  },
  {
    prop: 'architecture',
    type: 'string',
    default: 'arm64',
    description: 'CPU architecture of the hosts, arm64 (Graviton) or x86_64; chooses the default AMI and instance types.',
    rules: [
      {
        prop: 'architecture',
        condition: `contains(["arm64", "x86_64"], ${v('architecture')})`,
        requirement: 'must be "arm64" (Graviton) or "x86_64"',
        check: (value: string) => value === 'arm64' || value === 'x86_64',
      },
    ],
  },
  {
    prop: 'hostOs',
    type: 'string',
    default: 'amazon-linux-2023',
    description:
      'Operating system of the hosts, amazon-linux-2023, debian-12 or ubuntu-24.04: chooses the default AMI and the packages the user data installs (docker on Amazon Linux, docker.io on Debian and Ubuntu, and python3-boto3).',
    rules: [
      {
        prop: 'hostOs',
        condition: `contains(${JSON.stringify(HOST_OPERATING_SYSTEMS)}, ${v('hostOs')})`,
        requirement: 'must be "amazon-linux-2023", "debian-12" or "ubuntu-24.04"',
        check: (value: string) => HOST_OPERATING_SYSTEMS.includes(value),
      },
    ],
  },
  {
    prop: 'amiId',
    type: 'string',
    default: '',
    standsFor: "the latest AMI of hostOs and architecture, from its publisher's public SSM parameter",
    description:
      'AMI of the hosts, of the operating system host_os. It needs systemd >= 229, cloud-init, docker and python3 with boto3 in its repositories. "": the latest AMI of host_os and the architecture, from its publisher\'s public SSM parameter.',
    rules: [emptyOr('amiId', AMI_ID, 'an AMI id: ami- followed by 8 or 17 lower-case hexadecimal digits')],
  },
  {
    prop: 'bundleBucketName',
    type: 'string',
    default: '',
    description:
      "Existing S3 bucket for the host bundle (the hosts' programs, units and worker image recipe, fetched and checked against its SHA-256 at boot). The hosts may read only the bundle's object. The bucket must be in the hosts' region; with SSE-KMS encryption the hosts' role also needs kms:Decrypt on its key. \"\": a private bucket is created (encrypted, versioned, public access blocked, TLS only).",
    rules: [
      emptyOr(
        'bundleBucketName',
        BUCKET_NAME,
        'an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit',
      ),
    ],
  },
  {
    prop: 'minSize',
    type: 'number',
    default: 1,
    description: 'Minimum number of hosts.',
    rules: [
      {
        prop: 'minSize',
        uses: ['maxSize'],
        condition: `${integerBetween(v('minSize'), 0)} && ${v('minSize')} <= var.max_size`,
        requirement: 'must be a whole number from 0 up to max_size (maxSize)',
        check: (value: number, inputs) => integerIn(value, 0, inputs.maxSize),
      },
    ],
  },
  {
    prop: 'maxSize',
    type: 'number',
    default: 2,
    description: 'Maximum number of hosts.',
    rules: [integerRule('maxSize', 1, undefined, 'must be a whole number of at least 1')],
  },
  {
    prop: 'desiredCapacity',
    type: 'number',
    default: DERIVED,
    derive: { from: (inputs) => inputs.minSize, inTerraform: 'coalesce' },
    description: 'Desired number of hosts. null: min_size.',
    rules: [
      {
        // Checked only when given: left out, it is min_size, whose own rule explains any problem.
        prop: 'desiredCapacity',
        uses: ['minSize', 'maxSize'],
        condition: nullOr(
          v('desiredCapacity'),
          `${isInteger(v('desiredCapacity'))} && ${v('desiredCapacity')} >= var.min_size && ${v('desiredCapacity')} <= var.max_size`,
        ),
        requirement: 'must be a whole number from min_size (minSize) up to max_size (maxSize)',
        check: (value: number, inputs) => integerIn(value, inputs.minSize, inputs.maxSize),
      },
    ],
  },
  { prop: 'spot', type: 'bool', default: false, description: 'Runs the hosts on Spot capacity instead of on-demand.' },
  {
    prop: 'keyName',
    type: 'string',
    default: '',
    description:
      'EC2 key pair for the hosts\' own sshd on port 2222 (user ec2-user on Amazon Linux, admin on Debian, ubuntu on Ubuntu). "": none.',
    rules: [emptyOr('keyName', KEY_PAIR_NAME, 'an EC2 key pair name: 1 to 255 printable ASCII characters')],
  },
  {
    prop: 'rootVolumeSize',
    type: 'number',
    default: 16,
    description: 'Size of the encrypted gp3 root volume in GiB.',
    rules: [
      integerRule('rootVolumeSize', 8, 16384, "must be a whole number of GiB from 8 (the AMI's snapshot) to 16384 (gp3's largest volume)"),
    ],
  },
  {
    prop: 'sessionMaxSeconds',
    type: 'number',
    hostSetting: 'BASTION_SESSION_MAX_SECONDS',
    default: 43200,
    description: 'Seconds after which a session is ended, whatever it is doing.',
    rules: [integerRule('sessionMaxSeconds', 60, 7 * 86400, 'must be a whole number of seconds from 60 (a minute) to 604800 (a week)')],
  },
  {
    prop: 'stableHostKeys',
    type: 'bool',
    default: true,
    description:
      'Keeps one ED25519 host key for every host and every respawn, stored in an SSM SecureString parameter. Terraform state then holds the private key: protect it. With false every host generates its own key at boot, and users see a host key warning after every respawn.',
  },
  {
    prop: 'hostKeyKmsKeyId',
    type: 'string',
    default: '',
    description:
      "KMS key that encrypts the host key's SSM parameter: a key id, key ARN, alias name (alias/...) or alias ARN. The hosts' role may decrypt with it only through SSM and only for that parameter; the key's policy must let IAM policies of the account grant that (the default key policy does). Only used with stable_host_keys. \"\": the AWS-managed aws/ssm key.",
    rules: [
      emptyOr(
        'hostKeyKmsKeyId',
        KMS_KEY,
        'a KMS key id ("1234abcd-12ab-34cd-56ef-1234567890ab" or "mrk-..."), key ARN, alias name ("alias/bastion") or alias ARN',
      ),
    ],
  },
  {
    prop: 'hostKeyGeneration',
    type: 'number',
    default: 1,
    description:
      'Generation of the stable host key: changing it (1 to 2, ...) makes Terraform generate a new key and store it in the SSM parameter. Hosts started afterwards present the new key, and the known_hosts output changes: see docs/security.md for the transition. Hosts already running keep the old key until they are replaced (an instance refresh).',
    rules: [integerRule('hostKeyGeneration', 1, undefined, 'must be a whole number of at least 1; change it to replace the host key')],
  },
  {
    prop: 'healthCheckGracePeriod',
    type: 'number',
    default: 600,
    description: 'Seconds a new host has before failing load balancer health checks replaces it.',
    rules: [integerRule('healthCheckGracePeriod', 0, 86400, 'must be a whole number of seconds from 0 to 86400 (a day)')],
  },
  {
    prop: 'targetSessionsPerHost',
    type: 'number',
    default: DERIVED,
    description:
      "Sessions per host that the group's target-tracking policy aims at: it adds hosts when the hosts hold more on average (the SessionsOpen metric every host publishes) and removes hosts, drained first, when they hold fewer; min_size and max_size bound it. null: half the session cap of a host of the first instance type, (memory - max(memory / 5, 512 MiB)) / 16 MiB / 2 (48 on 2 GiB).",
    rules: [
      {
        prop: 'targetSessionsPerHost',
        condition: nullOr(v('targetSessionsPerHost'), integerBetween(v('targetSessionsPerHost'), 1, 10000)),
        requirement:
          'must be null (half the session cap of a host of the first instance type) or a whole number of sessions from 1 to 10000',
        check: (value: number) => integerIn(value, 1, 10000),
      },
    ],
  },
  {
    prop: 'schedules',
    type: SCHEDULES_TYPE,
    default: [],
    description:
      'Scheduled changes of min_size, max_size and desired_capacity (Auto Scaling scheduled actions), for example no hosts out of office hours. A host that a schedule removes is drained like any other: its open sessions go on for up to drain_timeout_seconds.',
    rules: [
      {
        prop: 'schedules',
        condition: `alltrue([for s in ${v('schedules')} : ${matches(CRON, 's.recurrence')}])`,
        requirement:
          'must have a recurrence of five cron fields separated by single spaces (minute hour day-of-month month day-of-week) made of digits, *, /, , and - (month and weekday also of names such as JAN or MON-FRI), like "0 19 * * MON-FRI"',
        check: (value: BastionSchedule[]) => value.every((s) => matching(CRON)(s.recurrence)),
      },
      {
        prop: 'schedules',
        condition: `alltrue([for s in ${v('schedules')} : ${integerBetween('s.min_size', 0)} && ${isInteger('s.max_size')} && s.min_size <= s.max_size && (${nullOr('s.desired_capacity', `${isInteger('s.desired_capacity')} && s.desired_capacity >= s.min_size && s.desired_capacity <= s.max_size`)})])`,
        requirement:
          'must have whole numbers with 0 <= min_size <= desired_capacity <= max_size in every schedule (desired_capacity may be left out: unchanged)',
        check: (value: BastionSchedule[]) =>
          value.every(
            (s) =>
              integerIn(s.minSize, 0) &&
              integerIn(s.maxSize, s.minSize) &&
              (s.desiredCapacity === undefined || s.desiredCapacity === null || integerIn(s.desiredCapacity, s.minSize, s.maxSize)),
          ),
      },
      {
        prop: 'schedules',
        condition: `alltrue([for s in ${v('schedules')} : s.name == null ? true : (s.name == "" || ${matches(SCHEDULE_NAME, 's.name')})]) && length(distinct([for i, s in ${v('schedules')} : coalesce(s.name, format("schedule-%02d", i))])) == length(${v('schedules')})`,
        requirement:
          'must have names of 1 to 200 letters, digits and ._- that differ from each other and from schedule-NN, the name of an unnamed schedule at position NN',
        check: (value: BastionSchedule[]) => {
          const named = value.map((s, i) => (s.name ? s.name : `schedule-${String(i).padStart(2, '0')}`));
          return value.every((s) => !s.name || matching(SCHEDULE_NAME)(s.name)) && new Set(named).size === named.length;
        },
      },
    ],
  },
  {
    prop: 'scheduleTimeZone',
    type: 'string',
    default: 'Etc/UTC',
    description: 'Time zone of the schedules\' cron expressions: an IANA name such as "Europe/Berlin".',
    rules: [
      {
        prop: 'scheduleTimeZone',
        condition: matches(TIME_ZONE, v('scheduleTimeZone')),
        requirement: 'must be an IANA time zone name such as "Etc/UTC", "Europe/Berlin" or "America/New_York"',
        check: matching(TIME_ZONE),
      },
    ],
  },
  {
    prop: 'drainTimeoutSeconds',
    type: 'number',
    hostSetting: 'BASTION_DRAIN_TIMEOUT_SECONDS',
    default: DERIVED,
    derive: { from: (inputs) => atMost(inputs.sessionMaxSeconds, MAX_DRAIN_SECONDS), inTerraform: 'coalesce' },
    description:
      "Seconds a leaving host (scale-in, instance refresh, max_instance_lifetime, a schedule) waits for its open sessions to end before it goes, after it stopped taking new ones; at most 172800 (AWS's 48 hours for a lifecycle hook). 0: it goes at once, cutting its sessions. null: session_max_seconds, at most 172800.",
    rules: [
      {
        prop: 'drainTimeoutSeconds',
        condition: nullOr(v('drainTimeoutSeconds'), integerBetween(v('drainTimeoutSeconds'), 0, 172800)),
        requirement:
          'must be null (session_max_seconds, at most 172800) or a whole number of seconds from 0 to 172800 (48 hours, the longest AWS keeps a lifecycle hook waiting)',
        check: (value: number) => integerIn(value, 0, 172800),
      },
    ],
  },
  {
    prop: 'maxInstanceLifetime',
    type: 'number',
    default: 604800,
    description:
      'Seconds a host lives before the group replaces it (drained first), so that hosts pick up the latest AMI and packages: 86400 (a day) to 31536000 (a year), or 0 for no limit.',
    rules: [
      {
        prop: 'maxInstanceLifetime',
        condition: `${v('maxInstanceLifetime')} == 0 || (${integerBetween(v('maxInstanceLifetime'), LIFETIME_MIN, LIFETIME_MAX)})`,
        requirement: `must be 0 (hosts live until something else replaces them) or a whole number of seconds from ${LIFETIME_MIN} (a day) to ${LIFETIME_MAX} (a year), AWS's bounds`,
        check: (value: number) => value === 0 || integerIn(value, LIFETIME_MIN, LIFETIME_MAX),
      },
    ],
  },
  {
    prop: 'logRetentionDays',
    type: 'number',
    default: 365,
    description:
      'Days the audit log group (CloudWatch Logs, one JSON event per line: session start and end, authentication results, key lookup decisions, every TCP connection a session opens) keeps its events: one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), or 0 to keep them forever.',
    rules: [
      {
        prop: 'logRetentionDays',
        condition: `contains(${JSON.stringify(LOG_RETENTION_DAYS)}, ${v('logRetentionDays')})`,
        requirement: `must be a retention period CloudWatch Logs accepts, in days: ${LOG_RETENTION_DAYS.filter((days) => days > 0).join(', ')}, or 0 to keep the events forever`,
        check: (value: number) => LOG_RETENTION_DAYS.includes(value),
      },
    ],
  },
  {
    prop: 'logKmsKeyArn',
    type: 'string',
    default: '',
    description:
      'ARN of a customer-managed KMS key that encrypts the audit log group (arn:aws:kms:<region>:<account>:key/<key id>: CloudWatch Logs takes the key\'s ARN only, no alias). The key\'s policy must let the CloudWatch Logs service of the region use it (docs/security.md, "Audit log"). "": CloudWatch Logs\' own encryption.',
    rules: [
      emptyOr(
        'logKmsKeyArn',
        KMS_KEY_ARN,
        'a KMS key ARN like "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" (CloudWatch Logs takes no key id or alias)',
      ),
    ],
  },
  {
    prop: 'sessionRecording',
    type: 'bool',
    default: false,
    description:
      "Records sessions in asciicast v2: the terminal of interactive sessions, and the input and output of commands run without a terminal (file transfers: their command line only), streamed to the host as they happen and stored in S3 at the session's end, one object per session (recordings/<yyyy>/<mm>/<dd>/<session id>-<user>.cast) in a private encrypted bucket made for them (the recordings_location output). A login shell then needs a terminal (ssh -t), a connection has one session channel only (a second one, such as a ControlMaster's second shell or scp, ends the session), remote forwarding (ssh -R) is refused, and so are TCP connections of users to the session container's own addresses (ssh -L to a listener in the container). Port forwarding's payload is not recorded (its connections are in the audit log). The message of the day tells users their session is recorded.",
  },
  {
    prop: 'recordingRetentionDays',
    type: 'number',
    default: 365,
    description: "Days a session recording is kept in S3 before the bucket's lifecycle rule deletes it: 1 to 36500.",
    rules: [
      integerRule(
        'recordingRetentionDays',
        1,
        36500,
        'must be a whole number of days from 1 to 36500 (a hundred years): S3 deletes each session recording that many days after it was stored',
      ),
    ],
  },
  {
    prop: 'containerMemoryMb',
    type: 'number',
    hostSetting: 'BASTION_CONTAINER_MEMORY_MB',
    default: 512,
    description: 'Memory limit of one session container in MiB.',
    rules: [integerRule('containerMemoryMb', 64, undefined, 'must be a whole number of MiB of at least 64 (what sshd and a shell need)')],
  },
  {
    prop: 'sessionDiskMb',
    type: 'number',
    hostSetting: 'BASTION_SESSION_DISK_MB',
    default: 256,
    description:
      "Space a session can write, in MiB: the size of each of its writable file systems (/home, /tmp, /var/tmp), memory-backed file systems on a read-only root. What a session writes never reaches the host's disk; it counts against container_memory_mb, so this must be at most that.",
    rules: [
      {
        prop: 'sessionDiskMb',
        uses: ['containerMemoryMb'],
        condition: `${integerBetween(v('sessionDiskMb'), 16)} && ${v('sessionDiskMb')} <= var.container_memory_mb`,
        requirement:
          "must be a whole number of MiB from 16 up to container_memory_mb (containerMemoryMb): a session's files are held in memory and count against its memory limit",
        check: (value: number, inputs) => integerIn(value, 16, inputs.containerMemoryMb),
      },
    ],
  },
  {
    prop: 'containerPidsLimit',
    type: 'number',
    hostSetting: 'BASTION_CONTAINER_PIDS',
    default: 256,
    description: 'Process limit of one session container.',
    rules: [
      integerRule(
        'containerPidsLimit',
        16,
        undefined,
        'must be a whole number of at least 16 (sshd, its privilege separation and a shell)',
      ),
    ],
  },
  {
    prop: 'containerCpus',
    type: 'number',
    hostSetting: 'BASTION_CONTAINER_CPUS',
    default: 1,
    description: 'CPU limit of one session container, in CPUs (docker --cpus).',
    rules: [
      {
        prop: 'containerCpus',
        condition: `${v('containerCpus')} >= 0.01`,
        requirement: "must be a number of CPUs of at least 0.01 (docker's smallest --cpus), like 0.5 or 2",
        check: (value: number) => typeof value === 'number' && value >= 0.01,
      },
    ],
  },
  {
    prop: 'maxConnectionsPerSource',
    type: 'number',
    hostSetting: 'BASTION_MAX_CONNECTIONS_PER_SOURCE',
    default: 10,
    description: 'Concurrent connections one client address may hold on one host.',
    rules: [integerRule('maxConnectionsPerSource', 1, undefined, 'must be a whole number of at least 1')],
  },
  {
    prop: 'newConnectionsPerMinute',
    type: 'number',
    hostSetting: 'BASTION_NEW_CONNECTIONS_PER_MINUTE',
    default: 30,
    description:
      'New connections one client address (IPv6: its /64) may open per minute on one host, that many at once at most; beyond it connections are closed at once, without a container.',
    rules: [integerRule('newConnectionsPerMinute', 1, 10000, 'must be a whole number from 1 to 10000')],
  },
  {
    prop: 'readySessions',
    type: 'number',
    hostSetting: 'BASTION_READY_SESSIONS',
    default: 2,
    description:
      'Session containers each host keeps started and waiting, so that a login does not wait for a container to start. Each is given one connection only and holds nothing of a session until then (about 7 MiB each). 0 = every connection starts its own.',
    rules: [integerRule('readySessions', 0, 64, 'must be a whole number from 0 to 64')],
  },
  {
    prop: 'loginGraceSeconds',
    type: 'number',
    hostSetting: 'BASTION_LOGIN_GRACE_SECONDS',
    default: 20,
    description:
      "Seconds a client has to send its SSH identification line, and then again to log in (sshd's LoginGraceTime). A connection costs a container only once it has sent that line; a silent one is closed after this.",
    rules: [integerRule('loginGraceSeconds', 5, 600, 'must be a whole number of seconds from 5 to 600')],
  },
  {
    prop: 'tunnelOnly',
    type: 'bool',
    hostSetting: 'BASTION_TUNNEL_ONLY',
    default: false,
    description: 'Allows port forwarding only: no shell, no command, no TTY.',
  },
  {
    prop: 'allowAgentForwarding',
    type: 'bool',
    hostSetting: 'BASTION_ALLOW_AGENT_FORWARDING',
    default: false,
    description:
      "Allows SSH agent forwarding (ssh -A) into sessions. Off by default: root in a session could use a forwarded agent to sign with the user's keys. ssh -J (ProxyJump) does not need it. Ignored with tunnel_only, which never allows it.",
  },
  {
    prop: 'workerBaseImage',
    type: 'string',
    hostSetting: 'BASTION_WORKER_BASE_IMAGE',
    default: 'public.ecr.aws/docker/library/ubuntu:24.04',
    description: 'Base image of the session container image built on each host at boot.',
    rules: [
      {
        prop: 'workerBaseImage',
        condition: matches(DOCKER_REFERENCE, v('workerBaseImage')),
        requirement:
          'must be a docker image reference like "public.ecr.aws/docker/library/ubuntu:24.04": [registry/]path[:tag][@digest], lower-case path, no whitespace, quotes, $ or backslashes',
        check: matching(DOCKER_REFERENCE),
      },
    ],
  },
  {
    prop: 'workerImage',
    type: 'string',
    hostSetting: 'BASTION_WORKER_IMAGE',
    default: '',
    description: 'Prebuilt session container image to pull instead of building one at boot.',
    rules: [
      emptyOr(
        'workerImage',
        DOCKER_REFERENCE,
        'a docker image reference like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/bastion-worker:1.4": [registry/]path[:tag][@digest], lower-case path, no whitespace, quotes, $ or backslashes',
      ),
    ],
  },
  {
    prop: 'customHostKeysScript',
    type: 'string',
    default: '',
    description: 'Replaces the host key section of the user data with this shell script.',
  },
  {
    prop: 'customKeyLookupScript',
    type: 'string',
    default: '',
    description: 'Replaces the key lookup section of the user data with this shell script.',
  },
  {
    prop: 'customContainerImageScript',
    type: 'string',
    default: '',
    description: 'Replaces the container image section of the user data with this shell script.',
  },
  {
    prop: 'customUnitsScript',
    type: 'string',
    default: '',
    description: 'Replaces the systemd units section of the user data with this shell script.',
  },
  {
    prop: 'extraUserDataScript',
    type: 'string',
    default: '',
    description:
      "Shell script run after the module's sections and before the host reports healthy. It travels in the user data, as do extra_cloud_config and the custom section scripts: together they have about 12 KB gzipped of EC2's 16 KiB (the module's own part is at most 4 KB).",
  },
  {
    prop: 'extraCloudConfig',
    type: 'string',
    default: '',
    description:
      "A cloud-config document merged after the module's (lists appended, keys added), so its runcmd entries run after the module's setup. It shares the about 12 KB gzipped of user data left to extra_user_data_script and the custom section scripts.",
    rules: [
      {
        prop: 'extraCloudConfig',
        condition: `${v('extraCloudConfig')} == "" || can(keys(yamldecode(${v('extraCloudConfig')})))`,
        requirement:
          'must be "" or a cloud-config document: YAML whose top level is a mapping (keys such as runcmd, packages, write_files), usually starting with the line #cloud-config',
        check: (value: string) => value === '' || isYamlMapping(value),
      },
    ],
  },
  {
    prop: 'tags',
    type: 'map(string)',
    default: {},
    description: 'Tags for every taggable resource; propagated to the hosts and their volumes.',
    rules: [
      {
        prop: 'tags',
        condition: `alltrue([for key, value in ${v('tags')} : length(key) >= 1 && length(key) <= 128 && length(value) <= 256 && !startswith(lower(key), "aws:")])`,
        requirement:
          'must have keys of 1 to 128 characters that do not start with "aws:" (reserved by AWS) and values of at most 256 characters',
        check: (value: { [key: string]: string }) =>
          Object.entries(value).every(
            ([key, tag]) => length(key) >= 1 && length(key) <= 128 && length(tag) <= 256 && !key.toLowerCase().startsWith('aws:'),
          ),
      },
    ],
  },
];
