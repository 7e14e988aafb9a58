import { Fn, Token } from 'cdktf';
import { atMost } from './conditional';
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
  if (Token.isUnresolved(architecture)) {
    return Fn.lookup(DEFAULT_INSTANCE_TYPES, architecture, DEFAULT_INSTANCE_TYPES.arm64) as unknown as string[];
  }
  return DEFAULT_INSTANCE_TYPES[architecture as Architecture] ?? DEFAULT_INSTANCE_TYPES.arm64;
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
      'Subnets of the bastion hosts, ideally one per availability zone. Hosts in private subnets need a NAT gateway or an HTTPS proxy (IAM has no VPC endpoint) and S3 (a gateway endpoint is enough); docs/host-runtime.md lists every endpoint.',
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
    description: 'VPC label of the generated DNS name and host names. null: the VPC id; "": left out.',
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
    description: 'Route53 hosted zone of the alias record for the load balancer. "": no DNS record.',
  },
  {
    prop: 'route53Fqdn',
    type: 'string',
    default: '',
    description: 'Full DNS name of the record, replacing <environment_name>-<region>-<vpc_name>-<service_name>.<dns_domain>.',
  },
  {
    prop: 'allowedCidrBlocks',
    type: 'list(string)',
    default: [],
    description:
      'IPv4 and IPv6 CIDR blocks allowed to connect to the service port. Nothing is open by default: pass ["0.0.0.0/0"] to allow the whole internet.',
  },
  {
    prop: 'hostAllowedCidrBlocks',
    type: 'list(string)',
    default: [],
    description:
      "CIDR blocks allowed to the hosts' own sshd on port 2222 (administrators, EC2 key pair). A non-empty list also adds a load balancer listener on 2222.",
  },
  { prop: 'additionalSecurityGroupIds', type: 'list(string)', default: [], description: 'Further security groups attached to the hosts.' },
  {
    prop: 'egressCidrBlocks',
    type: 'list(string)',
    default: ['0.0.0.0/0'],
    description:
      'CIDR blocks the hosts and their sessions may connect to. []: no egress rule, bring your own through additional_security_group_ids.',
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
      "Port of the load balancer's HTTP health check: it opens once a host is ready, and answers 200 only while docker, the session image, the key lookup service and free disk space pass their checks.",
  },
  { prop: 'lbInternal', type: 'bool', default: false, description: 'Makes the Network Load Balancer internal.' },
  { prop: 'lbDeletionProtection', type: 'bool', default: false, description: 'Turns on deletion protection of the load balancer.' },
  {
    prop: 'assignPublicIp',
    type: 'bool',
    default: false,
    description: 'Gives each host a public IPv4 address (public subnets without NAT).',
  },
  {
    prop: 'allowedIamGroups',
    type: 'list(string)',
    hostSetting: 'BASTION_ALLOWED_IAM_GROUPS',
    default: [],
    description: 'IAM groups whose members may log in. Required unless allow_all_iam_users is true.',
  },
  {
    prop: 'allowAllIamUsers',
    type: 'bool',
    default: false,
    description:
      'Lets every IAM user of the identity account with an SSH key log in (root in their session). Must be true when allowed_iam_groups is empty; ignored when it names groups.',
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
    description: 'Instance types in order of preference. null: t4g.small and t4g.medium for arm64, t3.small and t3.medium for x86_64.',
  },
  { prop: 'architecture', type: 'string', default: 'arm64', description: 'CPU architecture of the hosts: arm64 (Graviton) or x86_64.' },
  {
    prop: 'hostOs',
    type: 'string',
    default: 'amazon-linux-2023',
    description:
      'Operating system of the hosts: amazon-linux-2023, debian-12 or ubuntu-24.04. Chooses the default AMI and the packages installed at boot.',
  },
  {
    prop: 'amiId',
    type: 'string',
    default: '',
    standsFor: "the latest AMI of hostOs and architecture, from its publisher's public SSM parameter",
    description:
      'AMI of the hosts, of the operating system host_os. "": the latest AMI of host_os and the architecture, from its publisher\'s public SSM parameter.',
  },
  {
    prop: 'bundleBucketName',
    type: 'string',
    default: '',
    description:
      'Existing S3 bucket (in the hosts\' region) for the host bundle, which the hosts fetch and check against its SHA-256 at boot. "": a private bucket is created (encrypted, versioned, public access blocked, TLS only).',
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
      'One ED25519 host key for every host and respawn, kept in an SSM SecureString parameter (and in Terraform state). false: each host generates its own at boot.',
  },
  {
    prop: 'hostKeyKmsKeyId',
    type: 'string',
    default: '',
    description:
      'KMS key (id, ARN, alias/name or alias ARN) encrypting the host key\'s SSM parameter; the hosts may decrypt with it only through SSM, for that parameter. "": the AWS-managed aws/ssm key.',
  },
  {
    prop: 'hostKeyGeneration',
    type: 'number',
    default: 1,
    description: 'Generation of the stable host key: changing it replaces the key (see docs/security.md for the known_hosts transition).',
  },
  {
    prop: 'healthCheckGracePeriod',
    type: 'number',
    default: 600,
    description: 'Seconds a new host has before failing health checks replaces it.',
  },
  {
    prop: 'targetSessionsPerHost',
    type: 'number',
    default: DERIVED,
    description:
      'Sessions per host the target-tracking policy aims at: hosts are added when they hold more on average (the SessionsOpen metric each host publishes every minute) and removed, drained first, when they hold fewer; min_size and max_size bound it. null: half the session cap of a host of the first instance type, (memory - max(memory / 5, 512 MiB)) / 16 MiB / 2 (48 on 2 GiB).',
  },
  {
    prop: 'schedules',
    type: SCHEDULES_TYPE,
    default: [],
    description:
      'Scheduled changes of the group\'s size (Auto Scaling scheduled actions): a cron recurrence in schedule_time_zone, min_size, max_size and optionally desired_capacity and a name. Example: [{ recurrence = "0 19 * * MON-FRI", min_size = 0, max_size = 0 }, { recurrence = "0 7 * * MON-FRI", min_size = 1, max_size = 4 }]. A host a schedule removes is drained like any other.',
  },
  {
    prop: 'scheduleTimeZone',
    type: 'string',
    default: 'Etc/UTC',
    description: 'IANA time zone of the schedules\' cron expressions, like "Europe/Berlin".',
  },
  {
    prop: 'drainTimeoutSeconds',
    type: 'number',
    hostSetting: 'BASTION_DRAIN_TIMEOUT_SECONDS',
    default: DERIVED,
    derive: { from: (inputs) => atMost(inputs.sessionMaxSeconds, MAX_DRAIN_SECONDS), inTerraform: 'coalesce' },
    description:
      'Seconds a leaving host (scale-in, instance refresh, max_instance_lifetime, a schedule) waits for its open sessions to end after it stopped taking new ones, at most 172800 (48 hours). 0: it goes at once, cutting them. null: session_max_seconds, at most 172800.',
  },
  {
    prop: 'maxInstanceLifetime',
    type: 'number',
    default: 604800,
    description:
      'Seconds a host lives before it is replaced (drained first), so that hosts pick up the latest AMI and packages: 86400 to 31536000, or 0 for no limit.',
  },
  {
    prop: 'logRetentionDays',
    type: 'number',
    default: 365,
    description:
      'Days the audit log group (CloudWatch Logs: session start and end, authentication results, key lookup decisions, every TCP connection a session opens) keeps its events: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653; 0 keeps them forever.',
  },
  {
    prop: 'logKmsKeyArn',
    type: 'string',
    default: '',
    description:
      'ARN of a customer-managed KMS key encrypting the audit log group; its key policy must let CloudWatch Logs of the region use it. "": CloudWatch Logs\' own encryption.',
  },
  {
    prop: 'sessionRecording',
    type: 'bool',
    default: false,
    description:
      'Records sessions in asciicast v2 (the terminal of interactive sessions, the commands of the others), one S3 object per session in a private encrypted bucket made for them (output recordings_location). The payload of port forwarding is not recorded; its connections are in the audit log.',
  },
  {
    prop: 'recordingRetentionDays',
    type: 'number',
    default: 365,
    description: 'Days a session recording is kept before the bucket deletes it: 1 to 36500.',
  },
  {
    prop: 'containerMemoryMb',
    type: 'number',
    hostSetting: 'BASTION_CONTAINER_MEMORY_MB',
    default: 512,
    description: 'Memory limit of one session container, MiB.',
  },
  {
    prop: 'sessionDiskMb',
    type: 'number',
    hostSetting: 'BASTION_SESSION_DISK_MB',
    default: 256,
    description:
      "Space a session can write, MiB: the size of each of its writable file systems (/home, /tmp, /var/tmp) on a read-only root. Held in memory, never on the host's disk, and counted against container_memory_mb, so at most that.",
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
    description: 'CPU limit of one session container, in CPUs.',
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
      'Seconds a client has to send its SSH identification line, and then again to log in. A connection costs a container only once it has sent that line; a silent one is closed after this.',
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
    description: 'Allows SSH agent forwarding (ssh -A) into sessions; ProxyJump (ssh -J) works without it. Never with tunnel_only.',
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
    description: 'Shell script replacing the host key section of the user data.',
  },
  {
    prop: 'customKeyLookupScript',
    type: 'string',
    default: '',
    description: 'Shell script replacing the key lookup section of the user data.',
  },
  {
    prop: 'customContainerImageScript',
    type: 'string',
    default: '',
    description: 'Shell script replacing the container image section of the user data.',
  },
  {
    prop: 'customUnitsScript',
    type: 'string',
    default: '',
    description: 'Shell script replacing the systemd units section of the user data.',
  },
  {
    prop: 'extraUserDataScript',
    type: 'string',
    default: '',
    description:
      "Shell script run after the module's sections, before the host reports healthy. It shares with extra_cloud_config and the custom_*_script variables the about 12 KB (gzipped) of EC2's 16 KiB user data that the module leaves free.",
  },
  {
    prop: 'extraCloudConfig',
    type: 'string',
    default: '',
    description:
      "A cloud-config document merged after the module's (lists appended), so its runcmd entries run after the module's setup. It shares with extra_user_data_script and the custom_*_script variables the about 12 KB (gzipped) of user data left free.",
  },
  {
    prop: 'tags',
    type: 'map(string)',
    default: {},
    description: 'Tags for every taggable resource; propagated to the hosts and their volumes.',
  },
];
