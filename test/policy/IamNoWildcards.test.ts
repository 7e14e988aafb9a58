import { IamNoWildcards } from '../../src/policy/rules/IamNoWildcards';
import { synthBastion } from '../helpers/synth';
import { moduleJson, stackJson } from './fixtures';

describe('IamNoWildcards', () => {
  describe('Noncompliance', () => {
    test('fails when a policy grants a service wildcard', () => {
      const json = moduleJson();
      const policy = json.resource.aws_iam_role_policy.host_key_policy;
      policy.policy = policy.policy.replace('"ssm:GetParameter"', '"ssm:*"');
      expect(IamNoWildcards(json)).toEqual([
        expect.objectContaining({
          rule: 'IamNoWildcards',
          address: 'aws_iam_role_policy.host_key_policy',
          message: expect.stringContaining('"ssm:*"'),
        }),
      ]);
    });

    test('fails when a policy grants every resource', () => {
      const json = moduleJson();
      const policy = json.resource.aws_iam_role_policy.assume_identity_role_policy;
      policy.policy = policy.policy.replace('"Resource" = var.assume_role_arn', '"Resource" = "*"');
      expect(IamNoWildcards(json)).toEqual([
        expect.objectContaining({
          address: 'aws_iam_role_policy.assume_identity_role_policy',
          message: expect.stringContaining('bare "*"'),
        }),
      ]);
    });

    test('fails when PutMetricData on every resource has no namespace condition', () => {
      const json = moduleJson();
      const policy = json.resource.aws_iam_role_policy.drain_policy;
      policy.policy = policy.policy.replace(/, "Condition" = \{"StringEquals" = \{"cloudwatch:namespace" = "SshBastion"\}\}/, '');
      expect(IamNoWildcards(json)).toEqual([
        expect.objectContaining({ address: 'aws_iam_role_policy.drain_policy', message: expect.stringContaining('bare "*"') }),
      ]);
    });

    test('fails when the namespace condition is itself a wildcard', () => {
      const json = moduleJson();
      const policy = json.resource.aws_iam_role_policy.drain_policy;
      policy.policy = policy.policy.replace('"cloudwatch:namespace" = "SshBastion"', '"cloudwatch:namespace" = "*"');
      expect(IamNoWildcards(json)).not.toEqual([]);
    });

    test('fails when another action shares the conditioned "*"', () => {
      const json = moduleJson();
      const policy = json.resource.aws_iam_role_policy.drain_policy;
      policy.policy = policy.policy.replace('["cloudwatch:PutMetricData"]', '["cloudwatch:PutMetricData", "cloudwatch:DeleteAlarms"]');
      expect(IamNoWildcards(json)).toEqual([
        expect.objectContaining({ address: 'aws_iam_role_policy.drain_policy', message: expect.stringContaining('bare "*"') }),
      ]);
    });

    test('fails when a trust policy admits any principal', () => {
      const json = stackJson();
      const role = Object.values(json.resource.aws_iam_role)[0] as any;
      role.assume_role_policy = role.assume_role_policy.replace('{"Service" = "ec2.amazonaws.com"}', '"*"');
      expect(IamNoWildcards(json)).toEqual([expect.objectContaining({ message: expect.stringContaining('assume_role_policy') })]);
    });

    test('fails when a policy document data source uses NotAction', () => {
      const json = moduleJson();
      json.data.aws_iam_policy_document = {
        broad: { statement: [{ not_actions: ['iam:DeleteUser'], resources: ['arn:aws:iam::123456789012:user/alice'] }] },
      };
      expect(IamNoWildcards(json)).toEqual([
        expect.objectContaining({ address: 'data.aws_iam_policy_document.broad', message: expect.stringContaining('not_actions') }),
      ]);
    });

    test('fails when the identity account policy output grants an action wildcard', () => {
      const json = moduleJson();
      json.output.identity_account_policy.value = json.output.identity_account_policy.value.replace('["iam:GetGroup"]', '["iam:Get*"]');
      expect(IamNoWildcards(json)).toEqual([expect.objectContaining({ address: 'output.identity_account_policy' })]);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(IamNoWildcards(moduleJson())).toEqual([]);
    });

    test('the hosts may publish metrics to the SshBastion namespace only, and answer lifecycle actions of their own group only', () => {
      const policy = moduleJson().resource.aws_iam_role_policy.drain_policy.policy as string;
      expect(policy).toContain(
        '"Action" = ["cloudwatch:PutMetricData"], "Resource" = "*", "Condition" = {"StringEquals" = {"cloudwatch:namespace" = "SshBastion"}}',
      );
      expect(policy).toContain(
        '"Action" = ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"], "Resource" = aws_autoscaling_group.autoscaling_group.arn',
      );
    });

    test('a stack with literal properties', () => {
      expect(IamNoWildcards(stackJson())).toEqual([]);
    });

    test('a stack whose users live in another account', () => {
      expect(IamNoWildcards(synthBastion({ assumeRoleArn: 'arn:aws:iam::123456789012:role/bastion-key-lookup' }))).toEqual([]);
    });
  });
});
