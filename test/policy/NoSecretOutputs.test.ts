import { NoSecretOutputs } from '../../src/policy/rules/NoSecretOutputs';
import { moduleJson, stackJson } from './fixtures';

describe('NoSecretOutputs', () => {
  describe('Noncompliance', () => {
    test("fails when an output hands out the host's private key", () => {
      // GIVEN the module with the host key output reading the private half
      const json = moduleJson();
      json.output.host_public_key.value = json.output.host_public_key.value.replace('public_key_openssh', 'private_key_openssh');
      // THEN it is reported
      expect(NoSecretOutputs(json)).toEqual([
        expect.objectContaining({
          rule: 'NoSecretOutputs',
          address: 'output.host_public_key',
          message: expect.stringContaining('private key'),
        }),
      ]);
    });

    test("fails when an output reads the SSM parameter's value", () => {
      const json = moduleJson();
      json.output.host_key = { value: '${aws_ssm_parameter.host_key_parameter[0].value}' };
      expect(NoSecretOutputs(json)).toEqual([
        expect.objectContaining({ address: 'output.host_key', message: expect.stringContaining('SSM parameter') }),
      ]);
    });

    test('fails when a stack outputs a private key', () => {
      const json = stackJson();
      const key = Object.keys(json.resource.tls_private_key)[0];
      json.output = { key: { value: `\${tls_private_key.${key}.private_key_pem}` } };
      expect(NoSecretOutputs(json)).toHaveLength(1);
    });
  });

  describe('Compliance', () => {
    test('the registry module', () => {
      expect(NoSecretOutputs(moduleJson())).toEqual([]);
    });

    test('a stack with literal properties', () => {
      expect(NoSecretOutputs(stackJson())).toEqual([]);
    });

    test('a sensitive output may hold a secret', () => {
      const json = moduleJson();
      json.output.host_key = { value: '${aws_ssm_parameter.host_key_parameter[0].value}', sensitive: true };
      expect(NoSecretOutputs(json)).toEqual([]);
    });
  });
});
