import { IngressFromCallerOnly } from '../../src/policy/rules/IngressFromCallerOnly';
import { synthBastion } from '../helpers/synth';
import { moduleJson, stackJson } from './fixtures';

describe('IngressFromCallerOnly', () => {
  describe('Noncompliance', () => {
    test('fails when the module admits the internet from a literal', () => {
      // GIVEN the module with the service ingress iterating a literal list instead of the variable
      const json = moduleJson();
      json.resource.aws_vpc_security_group_ingress_rule.lb_service_ingress.for_each = '${toset(["0.0.0.0/0", "::/0"])}';
      // THEN the rule names the rule and both blocks
      expect(IngressFromCallerOnly(json)).toEqual([
        expect.objectContaining({
          rule: 'IngressFromCallerOnly',
          address: 'aws_vpc_security_group_ingress_rule.lb_service_ingress',
          message: expect.stringContaining('0.0.0.0/0 and ::/0'),
        }),
      ]);
    });

    test('fails when the module admits any literal CIDR block', () => {
      const json = moduleJson();
      json.resource.aws_vpc_security_group_ingress_rule.office = {
        security_group_id: '${aws_security_group.host_security_group.id}',
        ip_protocol: 'tcp',
        from_port: 22,
        to_port: 22,
        cidr_ipv4: '10.0.0.0/8',
      };
      expect(IngressFromCallerOnly(json)).toEqual([
        expect.objectContaining({
          address: 'aws_vpc_security_group_ingress_rule.office',
          message: expect.stringContaining('only from variables'),
        }),
      ]);
    });

    test('fails when an inline security group rule is open to the world', () => {
      const json = moduleJson();
      json.resource.aws_security_group.host_security_group.ingress = [
        { from_port: 22, to_port: 22, protocol: 'tcp', cidr_blocks: ['0.0.0.0/0'] },
      ];
      expect(IngressFromCallerOnly(json)).toEqual([expect.objectContaining({ address: 'aws_security_group.host_security_group' })]);
    });

    test('fails when a stack opens the service to the whole internet', () => {
      // GIVEN a construct configured to admit everyone
      const json = synthBastion({ allowedCidrBlocks: ['0.0.0.0/0'] });
      // THEN both service ingress rules (load balancer and hosts) are reported
      expect(IngressFromCallerOnly(json)).toHaveLength(2);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(IngressFromCallerOnly(moduleJson())).toEqual([]);
    });

    test('a stack with literal properties', () => {
      expect(IngressFromCallerOnly(stackJson())).toEqual([]);
    });
  });
});
