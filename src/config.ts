import { Fn, IResolvable, Token } from 'cdktf';
import { Architecture, BastionSchedule, HostOs, SshBastionServiceProps } from './props';
import { Switch } from './conditional';

/** The admin port the hosts' own sshd listens on; fixed so the worker image and rules agree. */
export const ADMIN_PORT = 2222;

/** Public SSM parameters of the latest Amazon Linux 2023 AMI per architecture. */
export const AMAZON_LINUX_2023_PARAMETER: { readonly [A in Architecture]: string } = {
  arm64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
  x86_64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
};

/** Public SSM parameters of the latest AMI per host OS and architecture, kept by each OS's publisher. */
export const AMI_PARAMETER: { readonly [O in HostOs]: { readonly [A in Architecture]: string } } = {
  'amazon-linux-2023': AMAZON_LINUX_2023_PARAMETER,
  'debian-12': {
    arm64: '/aws/service/debian/release/12/latest/arm64',
    x86_64: '/aws/service/debian/release/12/latest/amd64',
  },
  'ubuntu-24.04': {
    arm64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
    x86_64: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
  },
};

/** Default instance types per architecture: burstable, enough memory for ~50 idle sessions. */
export const DEFAULT_INSTANCE_TYPES: { readonly [A in Architecture]: string[] } = {
  arm64: ['t4g.small', 't4g.medium'],
  x86_64: ['t3.small', 't3.medium'],
};

/** Every property with its default applied: what the parts of the construct are built from. */
export interface BastionConfig {
  readonly vpcId: string;
  readonly subnetIds: string[];
  readonly lbSubnetIds: string[];
  readonly environmentName: string;
  readonly serviceName: string;
  /** VPC label of names: the VPC id, the given name, or '' */
  readonly vpcLabel: string;
  readonly dnsDomain: string;
  readonly route53ZoneId: string;
  readonly route53Fqdn: string;
  readonly allowedCidrBlocks: string[];
  readonly hostAllowedCidrBlocks: string[];
  readonly additionalSecurityGroupIds: string[];
  readonly egressCidrBlocks: string[];
  readonly servicePort: number;
  readonly healthCheckPort: number;
  readonly lbInternal: Switch;
  readonly lbDeletionProtection: Switch;
  readonly assignPublicIp: Switch;
  readonly allowedIamGroups: string[];
  readonly allowAllIamUsers: Switch;
  readonly assumeRoleArn: string;
  readonly instanceTypes: string[];
  readonly architecture: string;
  readonly hostOs: string;
  readonly amiId: string;
  readonly bundleBucketName: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number;
  readonly spot: Switch;
  readonly keyName: string;
  readonly rootVolumeSize: number;
  readonly sessionMaxSeconds: number;
  readonly stableHostKeys: Switch;
  readonly hostKeyKmsKeyId: string;
  readonly hostKeyGeneration: number;
  readonly healthCheckGracePeriod: number;
  /** undefined: derived from the first instance type's memory (scaling.ts) */
  readonly targetSessionsPerHost: number | undefined;
  readonly schedules: BastionSchedule[];
  readonly scheduleTimeZone: string;
  readonly drainTimeoutSeconds: number;
  readonly maxInstanceLifetime: number;
  readonly logRetentionDays: number;
  readonly logKmsKeyArn: string;
  readonly sessionRecording: Switch;
  readonly recordingRetentionDays: number;
  readonly containerMemoryMb: number;
  readonly sessionDiskMb: number;
  readonly containerPidsLimit: number;
  readonly containerCpus: number;
  readonly maxConnectionsPerSource: number;
  readonly newConnectionsPerMinute: number;
  readonly loginGraceSeconds: number;
  readonly readySessions: number;
  readonly tunnelOnly: Switch;
  readonly allowAgentForwarding: Switch;
  readonly workerBaseImage: string;
  readonly workerImage: string;
  readonly customHostKeysScript: string;
  readonly customKeyLookupScript: string;
  readonly customContainerImageScript: string;
  readonly customUnitsScript: string;
  readonly extraUserDataScript: string;
  readonly extraCloudConfig: string;
  readonly tags: { [key: string]: string };
  /** `<environment>-<service>`: the stem of resource names */
  readonly nameStem: string;
  /** CloudWatch Logs group of the audit events; derived from inputs only, so user data stays literal */
  readonly auditLogGroupName: string;
  /** SSM parameter holding the stable host key; derived from inputs only, so user data stays literal */
  readonly hostKeyParameterName: string;
  /** SSM parameter holding the Auto Scaling group's name (the hosts' user data is made before the group) */
  readonly groupNameParameterName: string;
}

/** AWS's bound on a lifecycle hook's wait: 48 hours. */
export const MAX_DRAIN_SECONDS = 172800;

function defaultInstanceTypes(architecture: string): string[] {
  if (Token.isUnresolved(architecture)) {
    return Fn.lookup(DEFAULT_INSTANCE_TYPES, architecture, DEFAULT_INSTANCE_TYPES.arm64) as unknown as string[];
  }
  return DEFAULT_INSTANCE_TYPES[architecture as Architecture] ?? DEFAULT_INSTANCE_TYPES.arm64;
}

function joinNonEmpty(parts: string[], separator: string): string {
  if (parts.some((part) => Token.isUnresolved(part))) return Fn.join(separator, Fn.compact(parts));
  return parts.filter((part) => part !== '').join(separator);
}

/** Applies the documented defaults; checks belong to validation.ts. */
export function resolveConfig(props: SshBastionServiceProps): BastionConfig {
  const environmentName = props.environmentName ?? 'staging';
  const serviceName = props.serviceName ?? 'bastion-service';
  const architecture = props.architecture ?? 'arm64';
  const vpcLabel = props.vpcName ?? props.vpcId;
  const sessionMaxSeconds = props.sessionMaxSeconds ?? 43200;
  return {
    vpcId: props.vpcId,
    subnetIds: props.subnetIds,
    lbSubnetIds: props.lbSubnetIds ?? props.subnetIds,
    environmentName,
    serviceName,
    vpcLabel,
    dnsDomain: props.dnsDomain ?? '',
    route53ZoneId: props.route53ZoneId ?? '',
    route53Fqdn: props.route53Fqdn ?? '',
    allowedCidrBlocks: props.allowedCidrBlocks ?? [],
    hostAllowedCidrBlocks: props.hostAllowedCidrBlocks ?? [],
    additionalSecurityGroupIds: props.additionalSecurityGroupIds ?? [],
    egressCidrBlocks: props.egressCidrBlocks ?? ['0.0.0.0/0'],
    servicePort: props.servicePort ?? 22,
    healthCheckPort: props.healthCheckPort ?? 2224,
    lbInternal: props.lbInternal ?? false,
    lbDeletionProtection: props.lbDeletionProtection ?? false,
    assignPublicIp: props.assignPublicIp ?? false,
    allowedIamGroups: props.allowedIamGroups ?? [],
    allowAllIamUsers: props.allowAllIamUsers ?? false,
    assumeRoleArn: props.assumeRoleArn ?? '',
    instanceTypes: props.instanceTypes ?? defaultInstanceTypes(architecture),
    architecture,
    hostOs: props.hostOs ?? 'amazon-linux-2023',
    amiId: props.amiId ?? '',
    bundleBucketName: props.bundleBucketName ?? '',
    minSize: props.minSize ?? 1,
    maxSize: props.maxSize ?? 2,
    desiredCapacity: props.desiredCapacity ?? props.minSize ?? 1,
    spot: props.spot ?? false,
    keyName: props.keyName ?? '',
    rootVolumeSize: props.rootVolumeSize ?? 16,
    sessionMaxSeconds,
    stableHostKeys: props.stableHostKeys ?? true,
    hostKeyKmsKeyId: props.hostKeyKmsKeyId ?? '',
    hostKeyGeneration: props.hostKeyGeneration ?? 1,
    healthCheckGracePeriod: props.healthCheckGracePeriod ?? 600,
    targetSessionsPerHost: props.targetSessionsPerHost,
    schedules: props.schedules ?? [],
    scheduleTimeZone: props.scheduleTimeZone ?? 'Etc/UTC',
    drainTimeoutSeconds: props.drainTimeoutSeconds ?? atMost(sessionMaxSeconds, MAX_DRAIN_SECONDS),
    maxInstanceLifetime: props.maxInstanceLifetime ?? 604800,
    logRetentionDays: props.logRetentionDays ?? 365,
    logKmsKeyArn: props.logKmsKeyArn ?? '',
    sessionRecording: props.sessionRecording ?? false,
    recordingRetentionDays: props.recordingRetentionDays ?? 365,
    containerMemoryMb: props.containerMemoryMb ?? 512,
    sessionDiskMb: props.sessionDiskMb ?? 256,
    containerPidsLimit: props.containerPidsLimit ?? 256,
    containerCpus: props.containerCpus ?? 1,
    maxConnectionsPerSource: props.maxConnectionsPerSource ?? 10,
    newConnectionsPerMinute: props.newConnectionsPerMinute ?? 30,
    loginGraceSeconds: props.loginGraceSeconds ?? 20,
    readySessions: props.readySessions ?? 2,
    tunnelOnly: props.tunnelOnly ?? false,
    allowAgentForwarding: props.allowAgentForwarding ?? false,
    workerBaseImage: props.workerBaseImage ?? 'public.ecr.aws/docker/library/ubuntu:24.04',
    workerImage: props.workerImage ?? '',
    customHostKeysScript: props.customHostKeysScript ?? '',
    customKeyLookupScript: props.customKeyLookupScript ?? '',
    customContainerImageScript: props.customContainerImageScript ?? '',
    customUnitsScript: props.customUnitsScript ?? '',
    extraUserDataScript: props.extraUserDataScript ?? '',
    extraCloudConfig: props.extraCloudConfig ?? '',
    tags: props.tags ?? {},
    nameStem: `${environmentName}-${serviceName}`,
    auditLogGroupName: concat(['/', joinNonEmpty([environmentName, vpcLabel, serviceName], '/'), '/audit']),
    hostKeyParameterName: concat(['/', joinNonEmpty([environmentName, vpcLabel, serviceName], '/'), '/ssh-host-ed25519-key']),
    groupNameParameterName: concat(['/', joinNonEmpty([environmentName, vpcLabel, serviceName], '/'), '/autoscaling-group-name']),
  };
}

/** The smaller of a value and a bound, with Terraform's min() when the value is only known to Terraform. */
function atMost(value: number, bound: number): number {
  return Token.isUnresolved(value) ? Token.asNumber(Fn.min([value, bound])) : Math.min(value, bound);
}

/** Joins strings, with Terraform's join() when any of them is only known to Terraform. */
export function concat(parts: string[]): string {
  return parts.some((part) => Token.isUnresolved(part)) ? Fn.join('', parts) : parts.join('');
}

/** A switch rendered for bastion.env: "true" or "false". */
export function switchText(value: Switch): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return Token.asString(Fn.conditional(value as IResolvable, 'true', 'false'));
}

export { joinNonEmpty };

/** `tags` plus `extra`, with Terraform's merge() when the tags are only known to Terraform. */
export function withTags(tags: { [key: string]: string }, extra: { [key: string]: string }): { [key: string]: string } {
  if (Token.isUnresolved(tags)) return Fn.merge([tags, extra]) as unknown as { [key: string]: string };
  return { ...tags, ...extra };
}
