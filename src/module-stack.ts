import {
  Fn,
  Op,
  TerraformDataSource,
  TerraformElement,
  TerraformLocal,
  TerraformOutput,
  TerraformProvider,
  TerraformResource,
  TerraformStack,
  TerraformVariable,
  Token,
} from 'cdktf';
import { Construct, Node } from 'constructs';
import { BUNDLE_FILE_NAME } from './bundle';
import { BUNDLE_SOURCE_CONTEXT } from './bundle-storage';
import { MAX_DRAIN_SECONDS } from './config';
import { SshBastionServiceProps } from './props';
import { SshBastionService } from './ssh-bastion-service';
import { INPUT_RULES, variableName } from './validation';

/** Minimum versions the module is written against; callers may use anything newer. */
export const REQUIRED_PROVIDERS = {
  aws: { source: 'hashicorp/aws', version: '>= 6.0' },
  tls: { source: 'hashicorp/tls', version: '>= 4.0' },
  random: { source: 'hashicorp/random', version: '>= 3.1' },
} as const;

export const REQUIRED_TERRAFORM_VERSION = '>= 1.9';

/**
 * Declares a provider without configuring it: `required_providers` with its source and version
 * constraint, and an empty provider block. The module declares its providers so (it drops the
 * block: the caller's provider configuration is used). A stack declares tls so where no tls
 * bindings package is at hand, as under cdktn: the construct needs no tls settings.
 *
 * @example new ProviderRequirement(this, 'tls', 'hashicorp/tls', '~> 4.0');
 */
export class ProviderRequirement extends TerraformProvider {
  constructor(scope: Construct, name: string, source: string, versionConstraint: string) {
    super(scope, name, {
      terraformResourceType: name,
      terraformGeneratorMetadata: { providerName: name, providerVersionConstraint: versionConstraint },
      terraformProviderSource: source,
    });
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return {};
  }
}

/** The type of the schedules variable: a schedule's name and desired capacity may be left out. */
export const SCHEDULES_TYPE =
  'list(object({ name = optional(string), recurrence = string, min_size = number, max_size = number, desired_capacity = optional(number) }))';

export type VariableKind = 'string' | 'number' | 'bool' | 'list(string)' | 'map(string)' | typeof SCHEDULES_TYPE;

export interface ModuleVariable {
  readonly prop: keyof SshBastionServiceProps;
  readonly type: VariableKind;
  readonly description: string;
  /** undefined: required */
  readonly default?: unknown;
  /** null allowed as a value (means: use the documented behaviour) */
  readonly nullable?: boolean;
}

/** The module's variables, in the order users read them: where, who, how big, how it behaves. */
export const MODULE_VARIABLES: ModuleVariable[] = [
  { prop: 'vpcId', type: 'string', description: 'Id of the existing VPC the bastion runs in (vpc-...).' },
  {
    prop: 'subnetIds',
    type: 'list(string)',
    description:
      'Subnets of the bastion hosts, ideally one per availability zone. Private subnets need a NAT gateway or VPC endpoints (ECR, SSM, IAM, STS).',
  },
  {
    prop: 'lbSubnetIds',
    type: 'list(string)',
    default: null,
    nullable: true,
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
    default: null,
    nullable: true,
    description: 'VPC label of the generated DNS name and host names. null: the VPC id; "": left out.',
  },
  {
    prop: 'dnsDomain',
    type: 'string',
    default: '',
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
  { prop: 'servicePort', type: 'number', default: 22, description: 'TCP port of the bastion service on the load balancer and the hosts.' },
  {
    prop: 'healthCheckPort',
    type: 'number',
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
    default: '',
    description:
      'Role in another account that holds the IAM users; the hosts assume it for key lookups. See the identity_account_policy output.',
  },
  {
    prop: 'instanceTypes',
    type: 'list(string)',
    default: null,
    nullable: true,
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
  { prop: 'desiredCapacity', type: 'number', default: null, nullable: true, description: 'Desired number of hosts. null: min_size.' },
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
    default: null,
    nullable: true,
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
    default: null,
    nullable: true,
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
  { prop: 'containerMemoryMb', type: 'number', default: 512, description: 'Memory limit of one session container, MiB.' },
  {
    prop: 'sessionDiskMb',
    type: 'number',
    default: 256,
    description:
      "Space a session can write, MiB: the size of each of its writable file systems (/home, /tmp, /var/tmp) on a read-only root. Held in memory, never on the host's disk, and counted against container_memory_mb, so at most that.",
  },
  { prop: 'containerPidsLimit', type: 'number', default: 256, description: 'Process limit of one session container.' },
  { prop: 'containerCpus', type: 'number', default: 1, description: 'CPU limit of one session container, in CPUs.' },
  {
    prop: 'maxConnectionsPerSource',
    type: 'number',
    default: 10,
    description: 'Concurrent connections one client address may hold on one host.',
  },
  {
    prop: 'newConnectionsPerMinute',
    type: 'number',
    default: 30,
    description:
      'New connections one client address (IPv6: its /64) may open per minute on one host, that many at once at most; beyond it connections are closed at once, without a container.',
  },
  {
    prop: 'readySessions',
    type: 'number',
    default: 2,
    description:
      'Session containers each host keeps started and waiting, so that a login does not wait for a container to start. Each is given one connection only and holds nothing of a session until then (about 7 MiB each). 0 = every connection starts its own.',
  },
  {
    prop: 'loginGraceSeconds',
    type: 'number',
    default: 20,
    description:
      'Seconds a client has to send its SSH identification line, and then again to log in. A connection costs a container only once it has sent that line; a silent one is closed after this.',
  },
  { prop: 'tunnelOnly', type: 'bool', default: false, description: 'Allows port forwarding only: no shell, no command, no TTY.' },
  {
    prop: 'allowAgentForwarding',
    type: 'bool',
    default: false,
    description: 'Allows SSH agent forwarding (ssh -A) into sessions; ProxyJump (ssh -J) works without it. Never with tunnel_only.',
  },
  {
    prop: 'workerBaseImage',
    type: 'string',
    default: 'public.ecr.aws/docker/library/ubuntu:24.04',
    description: 'Base image of the session container image built on each host at boot.',
  },
  {
    prop: 'workerImage',
    type: 'string',
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

/** Terraform's value of a variable, typed for the construct's property. */
function valueOf(variable: TerraformVariable, type: VariableKind): unknown {
  switch (type) {
    case 'number':
      return variable.numberValue;
    case 'bool':
      return variable.booleanValue;
    case 'list(string)':
      return variable.listValue;
    case 'map(string)':
      return Token.asStringMap(variable.value);
    case SCHEDULES_TYPE:
      return Token.asAny(variable.value);
    default:
      return variable.stringValue;
  }
}

/**
 * The registry module: every construct property as a typed, described, validated variable,
 * the useful attributes as outputs, provider requirements with minimum versions, and neither a
 * provider block nor a backend. Terraform addresses are the construct ids, without hashes.
 */
/** What shares one namespace of Terraform addresses: `resource aws_lb`, `data aws_region`, `output`, `variable`, ... */
function addressKind(element: unknown): string {
  const typed = element as { terraformResourceType?: string };
  if (TerraformDataSource.isTerraformDataSource(element)) return `data ${typed.terraformResourceType}`;
  if (TerraformResource.isTerraformResource(element)) return `resource ${typed.terraformResourceType}`;
  if (element instanceof TerraformOutput) return 'output';
  if (element instanceof TerraformVariable) return 'variable';
  if (element instanceof TerraformLocal) return 'local';
  if (element instanceof TerraformProvider) return 'provider';
  return (element as object).constructor.name;
}

export class SshBastionModuleStack extends TerraformStack {
  public readonly bastion: SshBastionService;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // The bundle ships beside the module's .tf.json files (scripts/build.js writes it there).
    this.node.setContext(BUNDLE_SOURCE_CONTEXT, `\${path.module}/${BUNDLE_FILE_NAME}`);
    for (const [name, requirement] of Object.entries(REQUIRED_PROVIDERS)) {
      new ProviderRequirement(this, name, requirement.source, requirement.version);
    }
    this.addOverride('terraform.required_version', REQUIRED_TERRAFORM_VERSION);

    const props: { [prop: string]: unknown } = {};
    for (const definition of MODULE_VARIABLES) {
      const name = variableName(definition.prop);
      const variable = new TerraformVariable(this, name, {
        type: definition.type,
        description: definition.description,
        default: definition.default === null ? undefined : definition.default,
        nullable: definition.nullable ?? false,
        validation: INPUT_RULES.filter((rule) => rule.prop === definition.prop).map((rule) => ({
          condition: `\${${rule.condition}}`,
          errorMessage: `${name} ${rule.allowed}.`,
        })),
      });
      // cdktf cannot render a null default itself.
      if (definition.default === null) variable.addOverride('default', null);
      props[definition.prop] = valueOf(variable, definition.type);
    }
    // null means "the documented behaviour": resolve it here, where Terraform knows.
    props.desiredCapacity = Fn.coalesce([props.desiredCapacity, props.minSize]);
    props.drainTimeoutSeconds = Fn.coalesce([props.drainTimeoutSeconds, Fn.min([props.sessionMaxSeconds as number, MAX_DRAIN_SECONDS])]);
    props.lbSubnetIds = Fn.coalescelist([props.lbSubnetIds as string[], props.subnetIds as string[]]);
    props.vpcName = Token.asString(Fn.conditional(Op.eq(props.vpcName, Token.nullValue()), props.vpcId, props.vpcName));
    props.instanceTypes = Token.asList(
      Fn.conditional(
        Op.eq(props.instanceTypes, Token.nullValue()),
        Fn.lookup({ arm64: ['t4g.small', 't4g.medium'], x86_64: ['t3.small', 't3.medium'] }, props.architecture as string, [
          't4g.small',
          't4g.medium',
        ]),
        props.instanceTypes,
      ),
    );

    this.bastion = new SshBastionService(this, 'bastion', props as unknown as SshBastionServiceProps);
    this.defineOutputs();
  }

  private defineOutputs(): void {
    const b = this.bastion;
    const outputs: [string, string, unknown][] = [
      ['dns_name', 'DNS name of the Route53 alias record; "" when no hosted zone is given.', b.dnsName],
      ['endpoint', 'The name users connect to: dns_name when there is a record, else lb_dns_name.', b.endpoint],
      ['lb_dns_name', 'DNS name of the Network Load Balancer.', b.loadBalancer.dnsName],
      ['lb_zone_id', 'Route53 zone id of the load balancer, for alias records of your own.', b.loadBalancer.zoneId],
      ['lb_arn', 'ARN of the Network Load Balancer.', b.loadBalancer.arn],
      ['lb_security_group_id', 'Security group of the load balancer.', b.loadBalancerSecurityGroup.id],
      ['target_group_arn', "ARN of the bastion service's target group.", b.targetGroup.arn],
      ['security_group_id', 'Security group of the hosts.', b.securityGroup.id],
      ['iam_role_arn', "ARN of the hosts' instance role.", b.role.arn],
      ['iam_role_name', "Name of the hosts' instance role, to attach further policies (e.g. CloudWatch agent).", b.role.name],
      ['autoscaling_group_name', "Name of the hosts' autoscaling group.", b.autoscalingGroup.name],
      ['autoscaling_group_arn', "ARN of the hosts' autoscaling group.", b.autoscalingGroup.arn],
      ['launch_template_id', "Id of the hosts' launch template.", b.launchTemplate.id],
      ['launch_template_latest_version', "Latest version of the hosts' launch template.", b.launchTemplate.latestVersion],
      ['host_public_key', 'OpenSSH public host key every host presents; "" when stable_host_keys is false.', b.hostPublicKey],
      ['host_key_parameter_name', 'SSM parameter holding the host key; "" when stable_host_keys is false.', b.hostKeyParameterName],
      ['known_hosts', 'A known_hosts line for the DNS name and the load balancer name; "" when stable_host_keys is false.', b.knownHosts],
      ['ssh_config', 'An OpenSSH client Host block for the service, to paste into ~/.ssh/config.', b.sshConfig],
      [
        'audit_log_group_name',
        "CloudWatch Logs group of the hosts' audit events (one JSON object per event; the hosts may write to no other group).",
        b.auditLogGroupName,
      ],
      ['audit_log_group_arn', "ARN of the audit log group, for subscriptions and readers' policies.", b.auditLogGroup.arn],
      [
        'recordings_location',
        'Where session recordings are stored, s3://<bucket>/recordings/ (objects <yyyy>/<mm>/<dd>/<session id>-<user>.cast); "" when session_recording is false.',
        b.recordingsLocation,
      ],
      [
        'identity_account_policy',
        'JSON with the trust and permissions policy documents the identity account must apply when assume_role_arn is set; "" otherwise.',
        b.identityAccountPolicy,
      ],
    ];
    for (const [name, description, value] of outputs) {
      new TerraformOutput(this, name, { description, value, staticId: true });
    }
  }

  /** Which construct holds each address: kind and type (`resource aws_lb`) + logical id → construct path. */
  private readonly addresses = new Map<string, string>();

  /**
   * Addresses are the construct id alone (`aws_lb.load_balancer`), not the hashed path. Two
   * constructs of the same kind and type with the same id would get the same address and Terraform
   * JSON would keep only one of them: that stops the synth instead, naming both constructs.
   */
  protected allocateLogicalId(element: TerraformElement | Node): string {
    const node = TerraformElement.isTerraformElement(element) ? element.node : element;
    const logicalId = node.id.replace(/[^A-Za-z0-9_-]/g, '_');
    const key = `${TerraformElement.isTerraformElement(element) ? addressKind(element) : 'construct'} ${logicalId}`;
    const holder = this.addresses.get(key);
    if (holder !== undefined && holder !== node.path) {
      throw new Error(
        `The registry module has two constructs at the address ${key}: ${holder} and ${node.path}. Give one of them another id.`,
      );
    }
    this.addresses.set(key, node.path);
    return logicalId;
  }

  /** A module has no provider configuration and no backend: the caller's apply. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the type of cdktf's TerraformStack.toTerraform
  public toTerraform(): any {
    const tf = super.toTerraform();
    delete tf.provider;
    if (tf.terraform) delete tf.terraform.backend;
    return tf;
  }
}
