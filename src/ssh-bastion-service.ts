import { Annotations } from 'cdktf';
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Id } from '@cdktf/provider-random/lib/id';
import { defineAuditLog } from './audit-log';
import { defineBundleStorage } from './bundle-storage';
import { defineCompute } from './compute';
import { resolveConfig } from './config';
import { nonEmptyList } from './conditional';
import { defineDns } from './dns';
import { defineHostKeys } from './host-keys';
import { defineIdentity } from './identity';
import { defineNetwork } from './network';
import { defineScaling } from './scaling';
import { defineSessionRecording } from './session-recording';
import { SshBastionServiceProps } from './props';
import { connectionDetails } from './connection';
import { validateProps } from './validation';

/**
 * A stateless SSH bastion service: an autoscaled group of hosts behind a Network Load Balancer,
 * where every TCP connection gets its own throw-away container running `sshd -i`, and users log
 * in as themselves with the SSH public keys they uploaded to AWS IAM.
 *
 * Defines no provider: the stack supplies the aws, tls and random providers.
 */
export class SshBastionService extends Construct {
  /** The Network Load Balancer clients connect to. */
  public readonly loadBalancer: Lb;
  /** The security group of the hosts. */
  public readonly securityGroup: SecurityGroup;
  /** The security group of the load balancer. */
  public readonly loadBalancerSecurityGroup: SecurityGroup;
  /** The target group of the bastion service. */
  public readonly targetGroup: LbTargetGroup;
  /** The instance role of the hosts. */
  public readonly role: IamRole;
  /** The hosts' launch template. */
  public readonly launchTemplate: LaunchTemplate;
  /** The hosts' autoscaling group. */
  public readonly autoscalingGroup: AutoscalingGroup;
  /** DNS name of the alias record; '' when no hosted zone is given. */
  public readonly dnsName: string;
  /** The name clients connect to: the DNS name, or the load balancer's own name. */
  public readonly endpoint: string;
  /** The hosts' OpenSSH public host key; '' without stable host keys. */
  public readonly hostPublicKey: string;
  /** SSM parameter holding the stable host key; '' without stable host keys. */
  public readonly hostKeyParameterName: string;
  /** A known_hosts line for the DNS name and the load balancer name; '' without stable host keys. */
  public readonly knownHosts: string;
  /** An OpenSSH client `Host` block for the service. */
  public readonly sshConfig: string;
  /**
   * JSON with the trust and permissions policy documents the identity account applies when
   * `assumeRoleArn` is set; '' otherwise.
   */
  public readonly identityAccountPolicy: string;
  /** Sessions per host the target-tracking policy aims at (a Terraform expression when derived from the instance type). */
  public readonly targetSessionsPerHost: number;
  /** The CloudWatch Logs group of the hosts' audit events. */
  public readonly auditLogGroup: CloudwatchLogGroup;
  /** Name of the audit log group (known at synth time when the names are literals). */
  public readonly auditLogGroupName: string;
  /** `s3://<bucket>/recordings/` where session recordings are stored; '' without `sessionRecording`. */
  public readonly recordingsLocation: string;

  constructor(scope: Construct, id: string, props: SshBastionServiceProps) {
    super(scope, id);
    validateProps(props);
    const config = resolveConfig(props);
    if (nonEmptyList(config.allowedCidrBlocks) === false) {
      Annotations.of(this).addWarning(
        'allowedCidrBlocks is empty: no client can reach the service port. Add the CIDR blocks of your users (["0.0.0.0/0"] for the whole internet) [construct property allowedCidrBlocks, module variable allowed_cidr_blocks]',
      );
    }

    const where = {
      region: new DataAwsRegion(this, 'region').region,
      account: new DataAwsCallerIdentity(this, 'caller').accountId,
      partition: new DataAwsPartition(this, 'partition').partition,
    };
    // Keeps load balancer and target group names unique and within AWS's 32 characters.
    const nameSuffix = new Id(this, 'name_suffix', { byteLength: 3 });

    const network = defineNetwork(this, config, nameSuffix);
    const hostKeys = defineHostKeys(this, config, where);
    const bundle = defineBundleStorage(this, config, where, nameSuffix);
    const auditLog = defineAuditLog(this, config, where);
    const recording = defineSessionRecording(this, config, where);
    const identity = defineIdentity(this, config, where, hostKeys, bundle.objectArn, auditLog.logGroupArn, recording.objectsArn);
    const compute = defineCompute(this, config, network, identity, { ...bundle.location, recordingBucket: recording.bucketName });
    const scaling = defineScaling(this, config, where, compute, identity);
    const dns = defineDns(this, config, where.region, network);

    this.loadBalancer = network.loadBalancer;
    this.securityGroup = network.hostSecurityGroup;
    this.loadBalancerSecurityGroup = network.loadBalancerSecurityGroup;
    this.targetGroup = network.serviceTargetGroup;
    this.role = identity.role;
    this.launchTemplate = compute.launchTemplate;
    this.autoscalingGroup = compute.autoscalingGroup;
    this.dnsName = dns.dnsName;
    this.hostPublicKey = hostKeys.publicKey;
    this.hostKeyParameterName = hostKeys.parameterName;
    this.identityAccountPolicy = identity.identityAccountPolicy;
    this.targetSessionsPerHost = scaling.targetSessionsPerHost;
    this.auditLogGroup = auditLog.logGroup;
    this.auditLogGroupName = auditLog.logGroupName;
    this.recordingsLocation = recording.location;

    const connection = connectionDetails(config, dns.dnsName, network.loadBalancer.dnsName, hostKeys.publicKey);
    this.endpoint = connection.endpoint;
    this.knownHosts = connection.knownHosts;
    this.sshConfig = connection.sshConfig;
  }
}
