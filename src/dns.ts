import { Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import { DataAwsRoute53Zone } from '@cdktf/provider-aws/lib/data-aws-route53-zone';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { BastionConfig } from './config';
import { attributeOf, choose, joinNonEmpty, nonEmpty, presence } from './conditional';
import { Network } from './network';

export interface Dns {
  /** The record's name; '' without a hosted zone */
  readonly dnsName: string;
}

/**
 * `<environment>-<region>-<vpc name>-<service>.<domain>` (or `route53Fqdn`) as an alias A record
 * for the load balancer, when a hosted zone is given.
 */
export function defineDns(scope: Construct, config: BastionConfig, region: string, network: Network): Dns {
  const hasZone = nonEmpty(config.route53ZoneId);
  const record = presence(hasZone);
  if (!record.declare) return { dnsName: '' };

  const zone = new DataAwsRoute53Zone(scope, 'zone', { count: record.count, zoneId: config.route53ZoneId });
  const zoneName = attributeOf(scope, zone, 'name');
  const domain = Token.asString(choose(nonEmpty(config.dnsDomain), config.dnsDomain, zoneName));
  const label = joinNonEmpty([config.environmentName, region, config.vpcLabel, config.serviceName], '-');
  const name = Token.asString(choose(nonEmpty(config.route53Fqdn), config.route53Fqdn, `${label}.${Fn.trimsuffix(domain, '.')}`));

  const dnsRecord = new Route53Record(scope, 'dns_record', {
    count: record.count,
    zoneId: config.route53ZoneId,
    name,
    type: 'A',
    alias: { name: network.loadBalancer.dnsName, zoneId: network.loadBalancer.zoneId, evaluateTargetHealth: true },
  });
  const fqdn = attributeOf(scope, dnsRecord, 'fqdn');
  return { dnsName: record.count === undefined ? fqdn : Token.asString(Fn.try([fqdn, ''])) };
}
