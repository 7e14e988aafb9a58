import { LbDeletionProtectionOption } from '../../src/policy/rules/LbDeletionProtectionOption';
import { firstResource, moduleJson, stackJson } from './fixtures';

describe('LbDeletionProtectionOption', () => {
  describe('Noncompliance', () => {
    test('fails when the module hard-codes deletion protection', () => {
      const json = moduleJson();
      json.resource.aws_lb.load_balancer.enable_deletion_protection = false;
      expect(LbDeletionProtectionOption(json)).toEqual([
        expect.objectContaining({
          rule: 'LbDeletionProtectionOption',
          address: 'aws_lb.load_balancer',
          message: expect.stringContaining('var.lb_deletion_protection'),
        }),
      ]);
    });

    test('fails when the module has no lb_deletion_protection variable', () => {
      const json = moduleJson();
      delete json.variable.lb_deletion_protection;
      expect(LbDeletionProtectionOption(json)).toEqual([expect.objectContaining({ address: 'variable.lb_deletion_protection' })]);
    });

    test("fails when a stack's load balancer does not set deletion protection", () => {
      const json = stackJson();
      delete firstResource(json, 'aws_lb').enable_deletion_protection;
      expect(LbDeletionProtectionOption(json)).toHaveLength(1);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(LbDeletionProtectionOption(moduleJson())).toEqual([]);
    });

    test('a stack with literal properties', () => {
      expect(firstResource(stackJson(), 'aws_lb').enable_deletion_protection).toBe(true);
      expect(LbDeletionProtectionOption(stackJson())).toEqual([]);
    });
  });
});
