import { LaunchTemplateImdsv2 } from '../../src/policy/rules/LaunchTemplateImdsv2';
import { firstResource, moduleJson, stackJson } from './fixtures';

describe('LaunchTemplateImdsv2', () => {
  describe('Noncompliance', () => {
    test('fails when IMDSv1 is allowed', () => {
      // GIVEN the module with optional metadata tokens
      const json = moduleJson();
      firstResource(json, 'aws_launch_template').metadata_options.http_tokens = 'optional';
      // THEN the rule reports it
      expect(LaunchTemplateImdsv2(json)).toEqual([
        expect.objectContaining({
          rule: 'LaunchTemplateImdsv2',
          address: 'aws_launch_template.launch_template',
          message: expect.stringContaining('http_tokens'),
        }),
      ]);
    });

    test('fails when the hop limit lets containers reach the metadata service', () => {
      const json = moduleJson();
      firstResource(json, 'aws_launch_template').metadata_options.http_put_response_hop_limit = 2;
      expect(LaunchTemplateImdsv2(json)).toEqual([expect.objectContaining({ message: expect.stringContaining('hop_limit is 2') })]);
    });

    test('fails when the launch template has no metadata options', () => {
      const json = stackJson();
      delete firstResource(json, 'aws_launch_template').metadata_options;
      expect(LaunchTemplateImdsv2(json)).toHaveLength(1);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(LaunchTemplateImdsv2(moduleJson())).toEqual([]);
    });

    test('a stack with literal properties', () => {
      expect(LaunchTemplateImdsv2(stackJson())).toEqual([]);
    });
  });
});
