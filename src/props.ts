import { IResolvable } from 'cdktf';

/** CPU architecture of the bastion hosts. */
export type Architecture = 'arm64' | 'x86_64';

/** Operating system of the bastion hosts' AMI. */
export type HostOs = 'amazon-linux-2023' | 'debian-12' | 'ubuntu-24.04';

/**
 * Properties of {@link SshBastionService}.
 *
 * Every property can also be a CDKTF token (for example a `TerraformVariable`'s value):
 * checks that need the literal value are then left to Terraform.
 */
/**
 * A scheduled change of the group's size, as an Auto Scaling scheduled action.
 */
export interface BastionSchedule {
  /**
   * Name of the scheduled action, unique within `schedules`: letters, digits and `-_.`.
   * @default - `schedule-NN`, NN its position in `schedules` (00, 01, ...)
   */
  readonly name?: string;
  /** When, as a cron expression of five fields (minute hour day-of-month month day-of-week), in `scheduleTimeZone`: "0 19 * * MON-FRI". */
  readonly recurrence: string;
  /** Minimum number of hosts from then on. */
  readonly minSize: number;
  /** Maximum number of hosts from then on. */
  readonly maxSize: number;
  /**
   * Desired number of hosts at that moment, from minSize to maxSize (target tracking changes it afterwards).
   * @default - unchanged
   */
  readonly desiredCapacity?: number;
}

export interface SshBastionServiceProps {
  /** Id of the existing VPC the bastion runs in (`vpc-...`). */
  readonly vpcId: string;

  /**
   * Subnets the bastion hosts run in, ideally one per availability zone.
   * Hosts in private subnets need a NAT gateway or an HTTPS proxy (IAM has no VPC endpoint) and S3
   * (a gateway endpoint is enough); docs/host-runtime.md lists every endpoint.
   */
  readonly subnetIds: string[];

  /**
   * Subnets of the Network Load Balancer; their availability zones must match `subnetIds`.
   * @default - the same subnets as the hosts (`subnetIds`)
   */
  readonly lbSubnetIds?: string[];

  /**
   * Environment name: first part of every resource name and of the DNS name.
   * @default 'staging'
   */
  readonly environmentName?: string;

  /**
   * Service name: part of every resource name and the last label of the generated DNS name.
   * @default 'bastion-service'
   */
  readonly serviceName?: string;

  /**
   * VPC label in the generated DNS name and host names.
   * @default - the VPC id; an empty string leaves the label out
   */
  readonly vpcName?: string;

  /**
   * Domain of the generated DNS name.
   * @default - the name of the hosted zone `route53ZoneId`
   */
  readonly dnsDomain?: string;

  /**
   * Route53 hosted zone for the bastion's alias record; empty creates no record.
   * @default '' (no DNS record)
   */
  readonly route53ZoneId?: string;

  /**
   * Full DNS name of the record, replacing `<environment>-<region>-<vpc name>-<service>.<domain>`.
   * @default '' (the generated name)
   */
  readonly route53Fqdn?: string;

  /**
   * IPv4 and IPv6 CIDR blocks allowed to connect to the service port. Nothing is open by default:
   * pass `["0.0.0.0/0"]` explicitly to allow the whole internet.
   * @default [] (no client can connect)
   */
  readonly allowedCidrBlocks?: string[];

  /**
   * CIDR blocks allowed to the hosts' own sshd (port 2222, EC2 key pair login, for administrators).
   * A non-empty list also adds a load balancer listener on 2222.
   * @default [] (no admin access, no admin listener)
   */
  readonly hostAllowedCidrBlocks?: string[];

  /**
   * Further security groups attached to the hosts.
   * @default []
   */
  readonly additionalSecurityGroupIds?: string[];

  /**
   * CIDR blocks the hosts and their sessions may connect to (all ports).
   * An empty list creates no egress rule: bring your own through `additionalSecurityGroupIds`.
   * @default ['0.0.0.0/0'] (hosts need ECR or a registry, SSM and IAM at boot; sessions need their tunnel targets)
   */
  readonly egressCidrBlocks?: string[];

  /**
   * TCP port of the bastion service on the load balancer and the hosts.
   * @default 22
   */
  readonly servicePort?: number;

  /**
   * Port of the load balancer's HTTP health check; it opens once a host is ready, and answers 200
   * only while docker, the session image, the key lookup service and free disk space pass their checks.
   * @default 2224
   */
  readonly healthCheckPort?: number;

  /**
   * Makes the Network Load Balancer internal (reachable only inside the VPC and peered networks).
   * @default false
   */
  readonly lbInternal?: boolean | IResolvable;

  /**
   * Turns on deletion protection of the load balancer.
   * @default false
   */
  readonly lbDeletionProtection?: boolean | IResolvable;

  /**
   * Gives each host a public IPv4 address (needed in public subnets without NAT).
   * @default false
   */
  readonly assignPublicIp?: boolean | IResolvable;

  /**
   * IAM groups whose members may log in. Required (at least one group) unless `allowAllIamUsers`
   * is true.
   * @default [] (then `allowAllIamUsers` must be true)
   */
  readonly allowedIamGroups?: string[];

  /**
   * Lets every IAM user of the identity account with an SSH public key log in (and get root in
   * their session container), including users who uploaded a key for another purpose such as
   * CodeCommit. Must be true when `allowedIamGroups` is empty; ignored when it names groups.
   * @default false
   */
  readonly allowAllIamUsers?: boolean | IResolvable;

  /**
   * Role in another account that holds the IAM users; the hosts assume it for key lookups.
   * See the `identityAccountPolicy` output.
   * @default '' (users are looked up in this account)
   */
  readonly assumeRoleArn?: string;

  /**
   * Instance types, in order of preference, for the group's mixed instances policy.
   * @default - ['t4g.small', 't4g.medium'] for arm64, ['t3.small', 't3.medium'] for x86_64
   */
  readonly instanceTypes?: string[];

  /**
   * CPU architecture of the hosts, arm64 (Graviton) or x86_64; chooses the default AMI and instance types.
   * @default 'arm64'
   */
  readonly architecture?: Architecture;

  /**
   * Operating system of the hosts, amazon-linux-2023, debian-12 or ubuntu-24.04: chooses the default AMI and
   * the packages the user data installs (`docker` on Amazon Linux, `docker.io` on Debian and Ubuntu, and `python3-boto3`).
   * @default 'amazon-linux-2023'
   */
  readonly hostOs?: HostOs;

  /**
   * AMI of the hosts, of the operating system `hostOs`. It needs systemd >= 229, cloud-init, docker
   * and python3 with boto3 in its repositories.
   * @default - the latest AMI of `hostOs` and `architecture`, read from its publisher's public SSM parameter at plan time
   */
  readonly amiId?: string;

  /**
   * Existing S3 bucket for the host bundle (the hosts' programs, units and worker image recipe,
   * fetched and checked against its SHA-256 at boot). The hosts may read only the bundle's object.
   * The bucket must be in the hosts' region; with SSE-KMS encryption the hosts' role also needs
   * `kms:Decrypt` on its key.
   * @default '' (a private bucket is created: encrypted, versioned, public access blocked, TLS only)
   */
  readonly bundleBucketName?: string;

  /**
   * Minimum number of hosts.
   * @default 1
   */
  readonly minSize?: number;

  /**
   * Maximum number of hosts.
   * @default 2
   */
  readonly maxSize?: number;

  /**
   * Desired number of hosts.
   * @default - `minSize`
   */
  readonly desiredCapacity?: number;

  /**
   * Runs the hosts on Spot capacity instead of on-demand.
   * @default false
   */
  readonly spot?: boolean | IResolvable;

  /**
   * EC2 key pair for the hosts' own sshd on port 2222 (user `ec2-user` on Amazon Linux, `admin` on
   * Debian, `ubuntu` on Ubuntu).
   * @default '' (no key pair)
   */
  readonly keyName?: string;

  /**
   * Size of the encrypted gp3 root volume in GiB.
   * @default 16
   */
  readonly rootVolumeSize?: number;

  /**
   * Seconds after which a session is ended, whatever it is doing.
   * @default 43200 (12 hours)
   */
  readonly sessionMaxSeconds?: number;

  /**
   * Keeps one ED25519 host key for every host and every respawn, stored in an SSM SecureString
   * parameter. Terraform state then holds the private key: protect it. With false every host
   * generates its own key at boot, and users see a host key warning after every respawn.
   * @default true
   */
  readonly stableHostKeys?: boolean | IResolvable;

  /**
   * KMS key that encrypts the host key's SSM parameter: a key id, key ARN, alias name
   * (`alias/...`) or alias ARN. The hosts' role may decrypt with it only through SSM and only for
   * that parameter; the key's policy must let IAM policies of the account grant that (the default
   * key policy does). Only used with `stableHostKeys`.
   * @default '' (the AWS-managed key `aws/ssm`)
   */
  readonly hostKeyKmsKeyId?: string;

  /**
   * Generation of the stable host key: changing it (1 to 2, ...) makes Terraform generate a new
   * key and store it in the SSM parameter. Hosts started afterwards present the new key, and the
   * `knownHosts` output changes: see docs/security.md for the transition. Hosts already running
   * keep the old key until they are replaced (an instance refresh).
   * @default 1
   */
  readonly hostKeyGeneration?: number;

  /**
   * Seconds a new host has before failing load balancer health checks replaces it.
   * @default 600
   */
  readonly healthCheckGracePeriod?: number;

  /**
   * Sessions per host that the group's target-tracking policy aims at: it adds hosts when the hosts
   * hold more on average (the SessionsOpen metric every host publishes) and removes hosts, drained
   * first, when they hold fewer; minSize and maxSize bound it.
   * @default - half the session cap of a host of the first instance type: (memory - max(memory / 5, 512 MiB)) / 16 MiB / 2, at least 1 (48 on a 2 GiB host)
   */
  readonly targetSessionsPerHost?: number;

  /**
   * Scheduled changes of minSize, maxSize and desiredCapacity (Auto Scaling scheduled actions),
   * for example no hosts out of office hours. A host that a schedule removes is drained like any
   * other: its open sessions go on for up to drainTimeoutSeconds.
   * @default [] (none)
   */
  readonly schedules?: BastionSchedule[];

  /**
   * Time zone of the schedules' cron expressions: an IANA name such as "Europe/Berlin".
   * @default 'Etc/UTC'
   */
  readonly scheduleTimeZone?: string;

  /**
   * Seconds a leaving host (scale-in, instance refresh, maxInstanceLifetime, a schedule) waits for
   * its open sessions to end before it goes, after it stopped taking new ones; at most 172800
   * (AWS's 48 hours for a lifecycle hook). 0: it goes at once, cutting its sessions.
   * @default - sessionMaxSeconds, at most 172800
   */
  readonly drainTimeoutSeconds?: number;

  /**
   * Seconds a host lives before the group replaces it (drained first), so that hosts pick up the
   * latest AMI and packages: 86400 (a day) to 31536000 (a year), or 0 for no limit.
   * @default 604800 (7 days)
   */
  readonly maxInstanceLifetime?: number;

  /**
   * Days the audit log group (CloudWatch Logs, one JSON event per line: session start and end,
   * authentication results, key lookup decisions, every TCP connection a session opens) keeps
   * its events: one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150,
   * 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), or 0 to keep them forever.
   * @default 365
   */
  readonly logRetentionDays?: number;

  /**
   * ARN of a customer-managed KMS key that encrypts the audit log group
   * (`arn:aws:kms:<region>:<account>:key/<key id>`: CloudWatch Logs takes the key's ARN only, no
   * alias). The key's policy must let the CloudWatch Logs service of the region use it
   * (docs/security.md, "Audit log").
   * @default '' (CloudWatch Logs' own encryption)
   */
  readonly logKmsKeyArn?: string;

  /**
   * Records sessions in asciicast v2: the terminal of interactive sessions, and the input and output
   * of commands run without a terminal (file transfers: their command line only), streamed to the
   * host as they happen and stored in S3 at the session's end, one object per session
   * (`recordings/<yyyy>/<mm>/<dd>/<session id>-<user>.cast`) in a private encrypted bucket made for
   * them (the `recordingsLocation` output). A login shell then needs a terminal (`ssh -t`), a
   * connection has one session channel only (a second one, such as a ControlMaster's second shell or
   * `scp`, ends the session), remote forwarding (`ssh -R`) is refused, and so are TCP connections
   * of users to the session container's own addresses (`ssh -L` to a listener in the container).
   * Port forwarding's payload is not recorded (its connections are in the audit log). The message of
   * the day tells users their session is recorded.
   * @default false
   */
  readonly sessionRecording?: boolean | IResolvable;

  /**
   * Days a session recording is kept in S3 before the bucket's lifecycle rule deletes it: 1 to 36500.
   * @default 365
   */
  readonly recordingRetentionDays?: number;

  /**
   * Memory limit of one session container in MiB.
   * @default 512
   */
  readonly containerMemoryMb?: number;

  /**
   * Space a session can write, in MiB: the size of each of its writable file systems (`/home`,
   * `/tmp`, `/var/tmp`), memory-backed file systems on a read-only root. What a session writes
   * never reaches the host's disk; it counts against `containerMemoryMb`, so this must be at most
   * that.
   * @default 256
   */
  readonly sessionDiskMb?: number;

  /**
   * Process limit of one session container.
   * @default 256
   */
  readonly containerPidsLimit?: number;

  /**
   * CPU limit of one session container, in CPUs (docker `--cpus`).
   * @default 1
   */
  readonly containerCpus?: number;

  /**
   * Concurrent connections one client address may hold on one host.
   * @default 10
   */
  readonly maxConnectionsPerSource?: number;

  /**
   * New connections one client address (IPv6: its /64) may open per minute on one host, that many
   * at once at most; beyond it connections are closed at once, without a container.
   * @default 30
   */
  readonly newConnectionsPerMinute?: number;

  /**
   * Seconds a client has to send its SSH identification line, and then again to log in (sshd's
   * LoginGraceTime). A connection costs a container only once it has sent that line; a silent
   * one is closed after this.
   * @default 20
   */
  readonly loginGraceSeconds?: number;

  /**
   * Session containers each host keeps started and waiting, so that a login does not wait for a
   * container to start. Each is given one connection only and holds nothing of a session until
   * then (about 7 MiB each). 0 = every connection starts its own.
   * @default 2
   */
  readonly readySessions?: number;

  /**
   * Allows port forwarding only: no shell, no command, no TTY.
   * @default false
   */
  readonly tunnelOnly?: boolean | IResolvable;

  /**
   * Allows SSH agent forwarding (`ssh -A`) into sessions. Off by default: root in a session could
   * use a forwarded agent to sign with the user's keys. `ssh -J` (ProxyJump) does not need it.
   * Ignored with `tunnelOnly`, which never allows it.
   * @default false
   */
  readonly allowAgentForwarding?: boolean | IResolvable;

  /**
   * Base image of the session container image built on each host at boot.
   * @default 'public.ecr.aws/docker/library/ubuntu:24.04'
   */
  readonly workerBaseImage?: string;

  /**
   * Prebuilt session container image to pull instead of building one at boot.
   * @default '' (build from `workerBaseImage`)
   */
  readonly workerImage?: string;

  /**
   * Replaces the host key section of the user data with this shell script.
   * @default '' (the module's own)
   */
  readonly customHostKeysScript?: string;

  /**
   * Replaces the key lookup section of the user data with this shell script.
   * @default '' (the module's own)
   */
  readonly customKeyLookupScript?: string;

  /**
   * Replaces the container image section of the user data with this shell script.
   * @default '' (the module's own)
   */
  readonly customContainerImageScript?: string;

  /**
   * Replaces the systemd units section of the user data with this shell script.
   * @default '' (the module's own)
   */
  readonly customUnitsScript?: string;

  /**
   * Shell script run after the module's sections and before the host reports healthy.
   *
   * It travels in the user data, as do `extraCloudConfig` and the custom section scripts: together
   * they have about 12 KB gzipped of EC2's 16 KiB (the module's own part is at most 4 KB).
   * @default '' (none)
   */
  readonly extraUserDataScript?: string;

  /**
   * A cloud-config document merged after the module's (lists appended, keys added), so its
   * `runcmd` entries run after the module's setup. It shares the about 12 KB gzipped of user data
   * left to `extraUserDataScript` and the custom section scripts.
   * @default '' (none)
   */
  readonly extraCloudConfig?: string;

  /**
   * Tags for every taggable resource; propagated to the hosts and their volumes.
   * @default {}
   */
  readonly tags?: { [key: string]: string };
}
