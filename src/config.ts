import { Architecture, BastionSchedule, HostOs, SshBastionServiceProps } from './props';
import { ADMIN_PORT, DEFAULT_INSTANCE_TYPES, DERIVED, DerivationInputs, INPUTS, MAX_DRAIN_SECONDS } from './inputs';
import { concat, joinNonEmpty, Switch } from './conditional';

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

export { ADMIN_PORT, DEFAULT_INSTANCE_TYPES, MAX_DRAIN_SECONDS };

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

/** Every property as given, or with its default from the table of inputs (the derived ones after the literal ones). */
function withDefaults(props: SshBastionServiceProps): DerivationInputs {
  const given = props as unknown as { [prop: string]: unknown };
  const values: { [prop: string]: unknown } = {};
  for (const input of INPUTS) {
    const literal = input.default === undefined || input.default === DERIVED ? undefined : structuredClone(input.default);
    values[input.prop] = given[input.prop] ?? literal;
  }
  for (const { prop, derive } of INPUTS) {
    if (derive !== undefined) values[prop] = given[prop] ?? derive.from(values as DerivationInputs);
  }
  return values as DerivationInputs;
}

/** Applies the documented defaults; checks belong to validation.ts. */
export function resolveConfig(props: SshBastionServiceProps): BastionConfig {
  const { vpcName: vpcLabel, ...inputs } = withDefaults(props);
  const { environmentName, serviceName } = inputs;
  const prefix = ['/', joinNonEmpty([environmentName, vpcLabel, serviceName], '/')];
  return {
    ...(inputs as Omit<BastionConfig, 'vpcLabel' | 'nameStem' | 'auditLogGroupName' | 'hostKeyParameterName' | 'groupNameParameterName'>),
    vpcLabel,
    nameStem: `${environmentName}-${serviceName}`,
    auditLogGroupName: concat([...prefix, '/audit']),
    hostKeyParameterName: concat([...prefix, '/ssh-host-ed25519-key']),
    groupNameParameterName: concat([...prefix, '/autoscaling-group-name']),
  };
}
