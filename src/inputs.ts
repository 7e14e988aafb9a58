import { atMost, lookupIn } from './conditional';
import { Architecture, SshBastionServiceProps } from './props';

/**
 * The construct's inputs, one entry per property of {@link SshBastionServiceProps}: its module
 * variable's type and description, and its default. The construct's defaults (config.ts) and the
 * registry module's variables (module-stack.ts, and from them the module README's tables) are
 * derived from this table; the props' TSDoc, which users read in their editor, is checked against
 * it (test/validation/inputs.test.ts). The rules of each input are in validation.ts.
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
}

function defaultInstanceTypes(architecture: string): string[] {
  return lookupIn(DEFAULT_INSTANCE_TYPES, architecture, DEFAULT_INSTANCE_TYPES.arm64);
}

/** The bastion.env variable of an input. */
export function hostSettingOf(prop: Prop): string {
  const name = INPUTS.find((input) => input.prop === prop)?.hostSetting;
  if (name === undefined) throw new Error(`input ${prop} has no host setting`);
  return name;
}

/** The inputs, in the order users read the module's variables: where, who, how big, how it behaves. */
export const INPUTS: InputDefinition[] = [
  { prop: 'vpcId', type: 'string', description: 'Id of the existing VPC the bastion runs in (vpc-...).' },
  {
    prop: 'subnetIds',
    type: 'list(string)',
    description:
      'Subnets the bastion hosts run in, ideally one per availability zone. Hosts in private subnets need a NAT gateway or an HTTPS proxy (IAM has no VPC endpoint) and S3 (a gateway endpoint is enough); docs/host-runtime.md lists every endpoint.',
  },
  {
    prop: 'lbSubnetIds',
    type: 'list(string)',
    default: DERIVED,
    derive: { from: (inputs) => inputs.subnetIds, inTerraform: 'coalescelist' },
    description:
      'Subnets of the Network Load Balancer; their availability zones must match subnet_ids. null: the same subnets as the hosts.',
  },
  {
    prop: 'environmentName',
    type: 'string',
    default: 'staging',
    description: 'Environment name: first part of every resource name and of the DNS name.',
  },
  {
    prop: 'serviceName',
    type: 'string',
    default: 'bastion-service',
    description: 'Service name: part of every resource name and the last label of the generated DNS name.',
  },
  {
    prop: 'vpcName',
    type: 'string',
    default: DERIVED,
    derive: { from: (inputs) => inputs.vpcId, inTerraform: 'null-check' },
    description: 'VPC label in the generated DNS name and host names. null: the VPC id; "": left out.',
  },
  {
    prop: 'dnsDomain',
    type: 'string',
    default: '',
    standsFor: 'the name of the hosted zone route53ZoneId',
    description: 'Domain of the generated DNS name. "": the name of the hosted zone route53_zone_id.',
  },
  {
    prop: 'route53ZoneId',
    type: 'string',
    default: '',
    description: "Route53 hosted zone for the bastion's alias record; empty creates no record.",
  },
  {
    prop: 'route53Fqdn',
    type: 'string',
    default: '',
    description: 'Full DNS name of the record, replacing <environment>-<region>-<vpc name>-<service>.<domain>.',
  },
  {
    prop: 'allowedCidrBlocks',
    type: 'list(string)',
    default: [],
    description:
      'IPv4 and IPv6 CIDR blocks allowed to connect to the service port. Nothing is open by default: pass ["0.0.0.0/0"] explicitly to allow the whole internet.',
  },
  {
    prop: 'hostAllowedCidrBlocks',
    type: 'list(string)',
    default: [],
    description:
      "CIDR blocks allowed to the hosts' own sshd (port 2222, EC2 key pair login, for administrators). A non-empty list also adds a load balancer listener on 2222.",
  },
  { prop: 'additionalSecurityGroupIds', type: 'list(string)', default: [], description: 'Further security groups attached to the hosts.' },
  {
    prop: 'egressCidrBlocks',
    type: 'list(string)',
    default: ['0.0.0.0/0'],
    description:
      'CIDR blocks the hosts and their sessions may connect to (all ports). An empty list creates no egress rule: bring your own through additional_security_group_ids.',
  },
  {
    prop: 'servicePort',
    type: 'number',
    hostSetting: 'BASTION_SERVICE_PORT',
    default: 22,
    description: 'TCP port of the bastion service on the load balancer and the hosts.',
  },
  {
    prop: 'healthCheckPort',
    type: 'number',
    hostSetting: 'BASTION_HEALTH_PORT',
    default: 2224,
    description:
      "Port of the load balancer's HTTP health check; it opens once a host is ready, and answers 200 only while docker, the session image, the key lookup service and free disk space pass their checks.",
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
  },
  {
    prop: 'instanceTypes',
    type: 'list(string)',
    default: DERIVED,
    derive: { from: (inputs) => defaultInstanceTypes(inputs.architecture), inTerraform: 'null-check' },
    description:
      "Instance types, in order of preference, for the group's mixed instances policy. null: t4g.small and t4g.medium for arm64, t3.small and t3.medium for x86_64.",
  },
  {
    prop: 'architecture',
    type: 'string',
    default: 'arm64',
    description: 'CPU architecture of the hosts, arm64 (Graviton) or x86_64; chooses the default AMI and instance types.',
  },
  {
    prop: 'hostOs',
    type: 'string',
    default: 'amazon-linux-2023',
    description:
      'Operating system of the hosts, amazon-linux-2023, debian-12 or ubuntu-24.04: chooses the default AMI and the packages the user data installs (docker on Amazon Linux, docker.io on Debian and Ubuntu, and python3-boto3).',
  },
  {
    prop: 'amiId',
    type: 'string',
    default: '',
    standsFor: "the latest AMI of hostOs and architecture, from its publisher's public SSM parameter",
    description:
      'AMI of the hosts, of the operating system host_os. It needs systemd >= 229, cloud-init, docker and python3 with boto3 in its repositories. "": the latest AMI of host_os and the architecture, from its publisher\'s public SSM parameter.',
  },
  {
    prop: 'bundleBucketName',
    type: 'string',
    default: '',
    description:
      "Existing S3 bucket for the host bundle (the hosts' programs, units and worker image recipe, fetched and checked against its SHA-256 at boot). The hosts may read only the bundle's object. The bucket must be in the hosts' region; with SSE-KMS encryption the hosts' role also needs kms:Decrypt on its key. \"\": a private bucket is created (encrypted, versioned, public access blocked, TLS only).",
  },
  { prop: 'minSize', type: 'number', default: 1, description: 'Minimum number of hosts.' },
  { prop: 'maxSize', type: 'number', default: 2, description: 'Maximum number of hosts.' },
  {
    prop: 'desiredCapacity',
    type: 'number',
    default: DERIVED,
    derive: { from: (inputs) => inputs.minSize, inTerraform: 'coalesce' },
    description: 'Desired number of hosts. null: min_size.',
  },
  { prop: 'spot', type: 'bool', default: false, description: 'Runs the hosts on Spot capacity instead of on-demand.' },
  {
    prop: 'keyName',
    type: 'string',
    default: '',
    description:
      'EC2 key pair for the hosts\' own sshd on port 2222 (user ec2-user on Amazon Linux, admin on Debian, ubuntu on Ubuntu). "": none.',
  },
  { prop: 'rootVolumeSize', type: 'number', default: 16, description: 'Size of the encrypted gp3 root volume in GiB.' },
  {
    prop: 'sessionMaxSeconds',
    type: 'number',
    hostSetting: 'BASTION_SESSION_MAX_SECONDS',
    default: 43200,
    description: 'Seconds after which a session is ended, whatever it is doing.',
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
  },
  {
    prop: 'hostKeyGeneration',
    type: 'number',
    default: 1,
    description:
      'Generation of the stable host key: changing it (1 to 2, ...) makes Terraform generate a new key and store it in the SSM parameter. Hosts started afterwards present the new key, and the known_hosts output changes: see docs/security.md for the transition. Hosts already running keep the old key until they are replaced (an instance refresh).',
  },
  {
    prop: 'healthCheckGracePeriod',
    type: 'number',
    default: 600,
    description: 'Seconds a new host has before failing load balancer health checks replaces it.',
  },
  {
    prop: 'targetSessionsPerHost',
    type: 'number',
    default: DERIVED,
    description:
      "Sessions per host that the group's target-tracking policy aims at: it adds hosts when the hosts hold more on average (the SessionsOpen metric every host publishes) and removes hosts, drained first, when they hold fewer; min_size and max_size bound it. null: half the session cap of a host of the first instance type, (memory - max(memory / 5, 512 MiB)) / 16 MiB / 2 (48 on 2 GiB).",
  },
  {
    prop: 'schedules',
    type: SCHEDULES_TYPE,
    default: [],
    description:
      'Scheduled changes of min_size, max_size and desired_capacity (Auto Scaling scheduled actions), for example no hosts out of office hours. A host that a schedule removes is drained like any other: its open sessions go on for up to drain_timeout_seconds.',
  },
  {
    prop: 'scheduleTimeZone',
    type: 'string',
    default: 'Etc/UTC',
    description: 'Time zone of the schedules\' cron expressions: an IANA name such as "Europe/Berlin".',
  },
  {
    prop: 'drainTimeoutSeconds',
    type: 'number',
    hostSetting: 'BASTION_DRAIN_TIMEOUT_SECONDS',
    default: DERIVED,
    derive: { from: (inputs) => atMost(inputs.sessionMaxSeconds, MAX_DRAIN_SECONDS), inTerraform: 'coalesce' },
    description:
      "Seconds a leaving host (scale-in, instance refresh, max_instance_lifetime, a schedule) waits for its open sessions to end before it goes, after it stopped taking new ones; at most 172800 (AWS's 48 hours for a lifecycle hook). 0: it goes at once, cutting its sessions. null: session_max_seconds, at most 172800.",
  },
  {
    prop: 'maxInstanceLifetime',
    type: 'number',
    default: 604800,
    description:
      'Seconds a host lives before the group replaces it (drained first), so that hosts pick up the latest AMI and packages: 86400 (a day) to 31536000 (a year), or 0 for no limit.',
  },
  {
    prop: 'logRetentionDays',
    type: 'number',
    default: 365,
    description:
      'Days the audit log group (CloudWatch Logs, one JSON event per line: session start and end, authentication results, key lookup decisions, every TCP connection a session opens) keeps its events: one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), or 0 to keep them forever.',
  },
  {
    prop: 'logKmsKeyArn',
    type: 'string',
    default: '',
    description:
      'ARN of a customer-managed KMS key that encrypts the audit log group (arn:aws:kms:<region>:<account>:key/<key id>: CloudWatch Logs takes the key\'s ARN only, no alias). The key\'s policy must let the CloudWatch Logs service of the region use it (docs/security.md, "Audit log"). "": CloudWatch Logs\' own encryption.',
  },
  {
    prop: 'containerMemoryMb',
    type: 'number',
    hostSetting: 'BASTION_CONTAINER_MEMORY_MB',
    default: 512,
    description: 'Memory limit of one session container in MiB.',
  },
  {
    prop: 'sessionDiskMb',
    type: 'number',
    hostSetting: 'BASTION_SESSION_DISK_MB',
    default: 256,
    description:
      "Space a session can write, in MiB: the size of each of its writable file systems (/home, /tmp, /var/tmp), memory-backed file systems on a read-only root. What a session writes never reaches the host's disk; it counts against container_memory_mb, so this must be at most that.",
  },
  {
    prop: 'containerPidsLimit',
    type: 'number',
    hostSetting: 'BASTION_CONTAINER_PIDS',
    default: 256,
    description: 'Process limit of one session container.',
  },
  {
    prop: 'containerCpus',
    type: 'number',
    hostSetting: 'BASTION_CONTAINER_CPUS',
    default: 1,
    description: 'CPU limit of one session container, in CPUs (docker --cpus).',
  },
  {
    prop: 'maxConnectionsPerSource',
    type: 'number',
    hostSetting: 'BASTION_MAX_CONNECTIONS_PER_SOURCE',
    default: 10,
    description: 'Concurrent connections one client address may hold on one host.',
  },
  {
    prop: 'newConnectionsPerMinute',
    type: 'number',
    hostSetting: 'BASTION_NEW_CONNECTIONS_PER_MINUTE',
    default: 30,
    description:
      'New connections one client address (IPv6: its /64) may open per minute on one host, that many at once at most; beyond it connections are closed at once, without a container.',
  },
  {
    prop: 'readySessions',
    type: 'number',
    hostSetting: 'BASTION_READY_SESSIONS',
    default: 2,
    description:
      'Session containers each host keeps started and waiting, so that a login does not wait for a container to start. Each is given one connection only and holds nothing of a session until then (about 7 MiB each). 0 = every connection starts its own.',
  },
  {
    prop: 'loginGraceSeconds',
    type: 'number',
    hostSetting: 'BASTION_LOGIN_GRACE_SECONDS',
    default: 20,
    description:
      "Seconds a client has to send its SSH identification line, and then again to log in (sshd's LoginGraceTime). A connection costs a container only once it has sent that line; a silent one is closed after this.",
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
  },
  {
    prop: 'workerImage',
    type: 'string',
    hostSetting: 'BASTION_WORKER_IMAGE',
    default: '',
    description: 'Prebuilt session container image to pull instead of building one at boot.',
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
  },
  {
    prop: 'tags',
    type: 'map(string)',
    default: {},
    description: 'Tags for every taggable resource; propagated to the hosts and their volumes.',
  },
];
