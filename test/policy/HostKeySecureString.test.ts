import { HostKeySecureString } from '../../src/policy/rules/HostKeySecureString';
import { moduleJson, stackJson } from './fixtures';

describe('HostKeySecureString', () => {
  describe('Noncompliance', () => {
    test('fails when the host key parameter is a plain String', () => {
      const json = moduleJson();
      json.resource.aws_ssm_parameter.host_key_parameter.type = 'String';
      expect(HostKeySecureString(json)).toEqual([
        expect.objectContaining({
          rule: 'HostKeySecureString',
          address: 'aws_ssm_parameter.host_key_parameter',
          message: expect.stringContaining('"String"'),
        }),
      ]);
    });

    test('fails when the host key parameter has no type', () => {
      const json = stackJson();
      const hostKey = Object.values(json.resource.aws_ssm_parameter as Record<string, any>).find((p) =>
        JSON.stringify(p.name).includes('ssh-host-ed25519-key'),
      );
      delete hostKey.type;
      expect(HostKeySecureString(json)).toHaveLength(1);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(HostKeySecureString(moduleJson())).toEqual([]);
    });

    test("the parameter with the group's name, which is no secret, may be a String", () => {
      const json = moduleJson();
      expect(json.resource.aws_ssm_parameter.group_name_parameter.type).toBe('String');
      expect(HostKeySecureString(json)).toEqual([]);
    });

    test('a stack with literal properties', () => {
      expect(HostKeySecureString(stackJson())).toEqual([]);
    });
  });
});
