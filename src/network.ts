import { Fn, TerraformIterator, Token } from 'cdktf';
import { Construct } from 'constructs';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Id } from '@cdktf/provider-random/lib/id';
import { ADMIN_PORT, BastionConfig } from './config';
import { DEREGISTRATION_DELAY_SECONDS } from './scaling';
import { attributeOf, nonEmptyList, presence, withTags } from './conditional';

/** What the other parts need from the network part. */
export interface Network {
  readonly loadBalancer: Lb;
  readonly hostSecurityGroup: SecurityGroup;
  readonly loadBalancerSecurityGroup: SecurityGroup;
  readonly serviceTargetGroup: LbTargetGroup;
  /** undefined when no admin CIDR block was given */
  readonly adminTargetGroup?: LbTargetGroup;
}

/**
 * Ingress rules on `port` from each CIDR block, IPv4 or IPv6; nothing when the list is empty.
 * One rule per block (for_each) so adding a block never replaces the others.
 */
function allowFromCidrBlocks(
  scope: Construct,
  id: string,
  securityGroup: SecurityGroup,
  port: number,
  cidrBlocks: string[],
  description: string,
  tags: { [key: string]: string },
): void {
  if (nonEmptyList(cidrBlocks) === false) return;
  const blocks = TerraformIterator.fromList(cidrBlocks);
  const cidr = blocks.value as string;
  const isIpv6 = Fn.strcontains(cidr, ':');
  new VpcSecurityGroupIngressRule(scope, id, {
    forEach: blocks,
    securityGroupId: securityGroup.id,
    description,
    ipProtocol: 'tcp',
    fromPort: port,
    toPort: port,
    cidrIpv4: Fn.conditional(isIpv6, Token.nullValue(), cidr),
    cidrIpv6: Fn.conditional(isIpv6, cidr, Token.nullValue()),
    tags,
  });
}

function allowFromSecurityGroup(
  scope: Construct,
  id: string,
  securityGroup: SecurityGroup,
  port: number,
  source: SecurityGroup,
  description: string,
  tags: { [key: string]: string },
): void {
  new VpcSecurityGroupIngressRule(scope, id, {
    securityGroupId: securityGroup.id,
    description,
    ipProtocol: 'tcp',
    fromPort: port,
    toPort: port,
    referencedSecurityGroupId: source.id,
    tags,
  });
}

export function defineNetwork(scope: Construct, config: BastionConfig, nameSuffix: Id): Network {
  const tags = config.tags;
  const adminAllowed = nonEmptyList(config.hostAllowedCidrBlocks);
  const admin = presence(adminAllowed);

  const loadBalancerSecurityGroup = new SecurityGroup(scope, 'lb_security_group', {
    namePrefix: `${config.nameStem}-lb-`,
    description: `Network Load Balancer of ${config.nameStem}: clients in, hosts out`,
    vpcId: config.vpcId,
    revokeRulesOnDelete: true,
    lifecycle: { createBeforeDestroy: true },
    tags: withTags(tags, { Name: `${config.nameStem}-lb` }),
  });
  const hostSecurityGroup = new SecurityGroup(scope, 'host_security_group', {
    namePrefix: `${config.nameStem}-hosts-`,
    description: `Bastion hosts of ${config.nameStem}`,
    vpcId: config.vpcId,
    revokeRulesOnDelete: true,
    lifecycle: { createBeforeDestroy: true },
    tags: withTags(tags, { Name: `${config.nameStem}-hosts` }),
  });

  // The load balancer keeps client addresses, so both groups admit the client CIDR blocks.
  allowFromCidrBlocks(
    scope,
    'lb_service_ingress',
    loadBalancerSecurityGroup,
    config.servicePort,
    config.allowedCidrBlocks,
    'SSH clients to the bastion service',
    tags,
  );
  allowFromCidrBlocks(
    scope,
    'host_service_ingress',
    hostSecurityGroup,
    config.servicePort,
    config.allowedCidrBlocks,
    'SSH clients to the bastion service',
    tags,
  );
  allowFromCidrBlocks(
    scope,
    'lb_admin_ingress',
    loadBalancerSecurityGroup,
    ADMIN_PORT,
    config.hostAllowedCidrBlocks,
    "Administrators to the hosts' own sshd",
    tags,
  );
  allowFromCidrBlocks(
    scope,
    'host_admin_ingress',
    hostSecurityGroup,
    ADMIN_PORT,
    config.hostAllowedCidrBlocks,
    "Administrators to the hosts' own sshd",
    tags,
  );
  allowFromSecurityGroup(
    scope,
    'host_health_ingress',
    hostSecurityGroup,
    config.healthCheckPort,
    loadBalancerSecurityGroup,
    'Load balancer health checks',
    tags,
  );

  const lbEgressPorts: [string, number][] = [
    ['lb_service_egress', config.servicePort],
    ['lb_health_egress', config.healthCheckPort],
  ];
  for (const [id, port] of lbEgressPorts) {
    new VpcSecurityGroupEgressRule(scope, id, {
      securityGroupId: loadBalancerSecurityGroup.id,
      description: 'Load balancer to the bastion hosts',
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      referencedSecurityGroupId: hostSecurityGroup.id,
      tags,
    });
  }
  if (admin.declare) {
    new VpcSecurityGroupEgressRule(scope, 'lb_admin_egress', {
      count: admin.count,
      securityGroupId: loadBalancerSecurityGroup.id,
      description: "Load balancer to the hosts' own sshd",
      ipProtocol: 'tcp',
      fromPort: ADMIN_PORT,
      toPort: ADMIN_PORT,
      referencedSecurityGroupId: hostSecurityGroup.id,
      tags,
    });
  }

  if (nonEmptyList(config.egressCidrBlocks) !== false) {
    const blocks = TerraformIterator.fromList(config.egressCidrBlocks);
    const cidr = blocks.value as string;
    const isIpv6 = Fn.strcontains(cidr, ':');
    new VpcSecurityGroupEgressRule(scope, 'host_egress', {
      forEach: blocks,
      securityGroupId: hostSecurityGroup.id,
      description: 'Hosts and sessions out: registries, AWS APIs, tunnel targets',
      ipProtocol: '-1',
      cidrIpv4: Fn.conditional(isIpv6, Token.nullValue(), cidr),
      cidrIpv6: Fn.conditional(isIpv6, cidr, Token.nullValue()),
      tags,
    });
  }

  const loadBalancer = new Lb(scope, 'load_balancer', {
    name: `${Fn.substr(config.nameStem, 0, 25)}-${nameSuffix.hex}`,
    loadBalancerType: 'network',
    internal: config.lbInternal,
    subnets: config.lbSubnetIds,
    securityGroups: [loadBalancerSecurityGroup.id],
    enableCrossZoneLoadBalancing: true,
    enableDeletionProtection: config.lbDeletionProtection,
    tags,
  });

  const targetGroup = (id: string, port: number, letter: string, count?: number) =>
    new LbTargetGroup(scope, id, {
      count,
      name: `${Fn.substr(config.nameStem, 0, 23)}-${nameSuffix.hex}${letter}`,
      port,
      protocol: 'TCP',
      targetType: 'instance',
      vpcId: config.vpcId,
      preserveClientIp: 'true',
      // Sessions are long-lived: let them end on their own when a host is drained.
      deregistrationDelay: String(DEREGISTRATION_DELAY_SECONDS),
      connectionTermination: false,
      // Nor when a host fails its health check: a draining host fails it on purpose (no new
      // connections), and by default the load balancer would reset an unhealthy target's open
      // connections. An unhealthy host is replaced by the group, drained first.
      targetHealthState: [{ enableUnhealthyConnectionTermination: false }],
      // HTTP, not TCP: the host answers 200 only when docker, the worker image, the key lookup
      // service and free disk space pass their checks at that moment (health-check), 503 else.
      healthCheck: {
        enabled: true,
        protocol: 'HTTP',
        path: '/',
        matcher: '200',
        port: Token.asString(config.healthCheckPort),
        interval: 10,
        timeout: 8,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      },
      tags,
    });

  const serviceTargetGroup = targetGroup('service_target_group', config.servicePort, 's');
  new LbListener(scope, 'service_listener', {
    loadBalancerArn: loadBalancer.arn,
    port: config.servicePort,
    protocol: 'TCP',
    defaultAction: [{ type: 'forward', targetGroupArn: serviceTargetGroup.arn }],
    tags,
  });

  let adminTargetGroup: LbTargetGroup | undefined;
  if (admin.declare) {
    adminTargetGroup = targetGroup('admin_target_group', ADMIN_PORT, 'a', admin.count);
    new LbListener(scope, 'admin_listener', {
      count: admin.count,
      loadBalancerArn: loadBalancer.arn,
      port: ADMIN_PORT,
      protocol: 'TCP',
      defaultAction: [{ type: 'forward', targetGroupArn: attributeOf(scope, adminTargetGroup, 'arn') }],
      tags,
    });
  }

  return { loadBalancer, hostSecurityGroup, loadBalancerSecurityGroup, serviceTargetGroup, adminTargetGroup };
}
