/**
 * The package's public API is what users need and nothing more: the construct and its props, the
 * registry module stack, and the policy check. Anything else exported would be a promise to keep.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing, TerraformStack } from 'cdktf';
import * as api from '../../src';
import { REQUIRED_PROPS, synthBastion } from '../helpers/synth';

const ROOT = path.resolve(__dirname, '../..');

describe('public API', () => {
  test('exports the construct, the module stack and the policy check, and nothing internal', () => {
    expect(Object.keys(api).sort()).toEqual([
      'POLICY_RULES',
      'ProviderRequirement',
      'SshBastionModuleStack',
      'SshBastionService',
      'checkPolicy',
    ]);
  });

  test('the types it exports are the props and what the policy check takes and returns', () => {
    const index = fs.readFileSync(path.join(ROOT, 'src', 'index.ts'), 'utf-8');
    const types = [...index.matchAll(/export type \{([^}]*)\}/g)].flatMap((m) => m[1].split(',').map((name) => name.trim()));
    expect(types.sort()).toEqual(['Architecture', 'BastionSchedule', 'Finding', 'HostOs', 'Json', 'PolicyRule', 'SshBastionServiceProps']);
  });

  test('the construct does not expose its resolved configuration', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    const bastion = new api.SshBastionService(stack, 'bastion', REQUIRED_PROPS);
    expect('config' in bastion).toBe(false);
  });

  test('checkPolicy finds nothing in the construct with its defaults and names the rule, address and breach otherwise', () => {
    expect(api.checkPolicy(synthBastion())).toEqual([]);
    const json = synthBastion();
    const [template] = Object.values(json.resource.aws_launch_template) as { metadata_options: { http_tokens: string } }[];
    template.metadata_options.http_tokens = 'optional';
    expect(api.checkPolicy(json)).toEqual([
      expect.objectContaining({ rule: 'LaunchTemplateImdsv2', address: expect.stringMatching(/^aws_launch_template\./) }),
    ]);
  });
});
