import { hostSettingOf } from './inputs';

/**
 * The settings a bastion host reads at boot from `/etc/ssh-bastion/bastion.env`.
 *
 * Every value may be a CDKTF token (in the registry module they are Terraform
 * expressions such as `${var.service_port}`), so user data is rendered from
 * strings and numbers without inspecting them. The host scripts read the file
 * with `source` (bash), `EnvironmentFile=` (systemd) and a plain KEY=VALUE
 * parser (the key lookup service); values therefore never contain quotes,
 * spaces or newlines, which the input validation guarantees.
 */
export interface HostSettings {
  /** BASTION_SERVICE_PORT: TCP port of the per-connection socket */
  readonly servicePort: string;
  /** BASTION_ADMIN_PORT: port the host's own sshd moves to (2222) */
  readonly adminPort: string;
  /** BASTION_HEALTH_PORT: port that accepts TCP only once the host is ready */
  readonly healthCheckPort: string;
  /** BASTION_SESSION_MAX_SECONDS: hard limit of one session */
  readonly sessionMaxSeconds: string;
  /** BASTION_ALLOWED_IAM_GROUPS: comma-separated IAM group names; empty = every IAM user (only with allowAllIamUsers) */
  readonly allowedIamGroups: string;
  /** BASTION_ASSUME_ROLE_ARN: role to assume for IAM lookups; empty = this account */
  readonly assumeRoleArn: string;
  /** BASTION_HOST_KEY_PARAMETER: SSM SecureString parameter holding the ED25519 host key; empty = one key generated per host */
  readonly hostKeyParameter: string;
  /** BASTION_WORKER_BASE_IMAGE: base image the worker image is built FROM */
  readonly workerBaseImage: string;
  /** BASTION_WORKER_IMAGE: prebuilt worker image to pull instead of building; empty = build */
  readonly workerImage: string;
  /** BASTION_CONTAINER_MEMORY_MB: memory limit of one session container */
  readonly containerMemoryMb: string;
  /** BASTION_SESSION_DISK_MB: size of each writable file system of a session container (tmpfs) */
  readonly sessionDiskMb: string;
  /** BASTION_CONTAINER_PIDS: process limit of one session container */
  readonly containerPidsLimit: string;
  /** BASTION_CONTAINER_CPUS: CPU limit of one session container (docker --cpus) */
  readonly containerCpus: string;
  /** BASTION_MAX_CONNECTIONS_PER_SOURCE: concurrent connections one client address may hold */
  readonly maxConnectionsPerSource: string;
  /** BASTION_NEW_CONNECTIONS_PER_MINUTE: new connections one client address (IPv6: /64) may open per minute */
  readonly newConnectionsPerMinute: string;
  /** BASTION_LOGIN_GRACE_SECONDS: time to send the SSH identification line, then to log in */
  readonly loginGraceSeconds: string;
  /** BASTION_READY_SESSIONS: session containers kept started and waiting for a connection */
  readonly readySessions: string;
  /** BASTION_TUNNEL_ONLY: "true" = port forwarding only, no shell */
  readonly tunnelOnly: string;
  /** BASTION_ALLOW_AGENT_FORWARDING: "true" = ssh -A gets an agent in the session (not with tunnel-only) */
  readonly allowAgentForwarding: string;
  /** BASTION_HOSTNAME_PREFIX: prefix of host and container host names */
  readonly hostnamePrefix: string;
  /** BASTION_AUDIT_LOG_GROUP: CloudWatch Logs group the audit shipper writes the host's events to */
  readonly auditLogGroup: string;
  /** BASTION_REGION: the AWS region of the hosts (and of the bundle's bucket) */
  readonly region: string;
  /** BASTION_BUNDLE_BUCKET: S3 bucket of the host bundle */
  readonly bundleBucket: string;
  /** BASTION_BUNDLE_KEY: S3 key of the host bundle */
  readonly bundleKey: string;
  /** BASTION_BUNDLE_SHA256: SHA-256 the fetched bundle must have, lower-case hex */
  readonly bundleSha256: string;
  /** BASTION_DRAIN_TIMEOUT_SECONDS: how long a leaving host waits for its sessions to end */
  readonly drainTimeoutSeconds: string;
  /** BASTION_GROUP_NAME_PARAMETER: SSM parameter holding the Auto Scaling group's name (metrics, lifecycle actions) */
  readonly groupNameParameter: string;
  /** BASTION_RECORDING_BUCKET: S3 bucket of session recordings; '' = sessions are not recorded */
  readonly recordingBucket: string;
}

/** Environment variable names, in the order they are written to bastion.env; an input's name is in the table of inputs. */
export const HOST_SETTING_VARIABLES: { readonly [K in keyof HostSettings]: string } = {
  servicePort: hostSettingOf('servicePort'),
  adminPort: 'BASTION_ADMIN_PORT',
  healthCheckPort: hostSettingOf('healthCheckPort'),
  sessionMaxSeconds: hostSettingOf('sessionMaxSeconds'),
  allowedIamGroups: hostSettingOf('allowedIamGroups'),
  assumeRoleArn: hostSettingOf('assumeRoleArn'),
  hostKeyParameter: 'BASTION_HOST_KEY_PARAMETER',
  workerBaseImage: hostSettingOf('workerBaseImage'),
  workerImage: hostSettingOf('workerImage'),
  containerMemoryMb: hostSettingOf('containerMemoryMb'),
  sessionDiskMb: hostSettingOf('sessionDiskMb'),
  containerPidsLimit: hostSettingOf('containerPidsLimit'),
  containerCpus: hostSettingOf('containerCpus'),
  maxConnectionsPerSource: hostSettingOf('maxConnectionsPerSource'),
  newConnectionsPerMinute: hostSettingOf('newConnectionsPerMinute'),
  loginGraceSeconds: hostSettingOf('loginGraceSeconds'),
  readySessions: hostSettingOf('readySessions'),
  tunnelOnly: hostSettingOf('tunnelOnly'),
  allowAgentForwarding: hostSettingOf('allowAgentForwarding'),
  hostnamePrefix: 'BASTION_HOSTNAME_PREFIX',
  auditLogGroup: 'BASTION_AUDIT_LOG_GROUP',
  region: 'BASTION_REGION',
  bundleBucket: 'BASTION_BUNDLE_BUCKET',
  bundleKey: 'BASTION_BUNDLE_KEY',
  bundleSha256: 'BASTION_BUNDLE_SHA256',
  drainTimeoutSeconds: hostSettingOf('drainTimeoutSeconds'),
  groupNameParameter: 'BASTION_GROUP_NAME_PARAMETER',
  recordingBucket: 'BASTION_RECORDING_BUCKET',
};

/** bastion.env as pieces: `KEY=`, value, newline, per setting in a fixed order. */
export function hostEnvironmentParts(settings: HostSettings): string[] {
  return (Object.keys(HOST_SETTING_VARIABLES) as (keyof HostSettings)[]).flatMap((key) => [
    `${HOST_SETTING_VARIABLES[key]}=`,
    settings[key],
    '\n',
  ]);
}
