import { HostKeySecureString } from '../../src/policy/rules/HostKeySecureString';
import { firstResource, moduleJson, stackJson } from './fixtures';

describe('HostKeySecureString', () => {
  describe('Noncompliance', () => {
    test('fails when the host key parameter is a plain String', () => {
      const json = moduleJson();
      firstResource(json, 'aws_ssm_parameter').type = 'String';
      expect(HostKeySecureString(json)).toEqual([
        expect.objectContaining({ rule: 'HostKeySecureString', address: 'aws_ssm_parameter.host_key_parameter', message: expect.stringContaining('"String"') }),
      ]);
    });

    test('fails when the host key parameter has no type', () => {
      const json = stackJson();
      delete firstResource(json, 'aws_ssm_parameter').type;
      expect(HostKeySecureString(json)).toHaveLength(1);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(HostKeySecureString(moduleJson())).toEqual([]);
    });

    test('a stack with literal properties', () => {
      expect(HostKeySecureString(stackJson())).toEqual([]);
    });
  });
});
