// The host key's rotation, run by real Terraform on the module's own blocks: the terraform_data
// resource holding host_key_generation and the lifecycle of tls_private_key, with a
// terraform_data standing in for tls_private_key (no provider is reachable offline).
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { SshBastionModuleStack } from '../../src';
import { Json, removeDir, tempDir, terraform, terraformBinary } from '../helpers/terraform';

const withTerraform = terraformBinary() ? describe : describe.skip;

function moduleJson(): Json {
  return JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module'), true));
}

withTerraform('host key rotation (real terraform)', () => {
  const module = moduleJson();
  const generation = module.resource.terraform_data.host_key_generation;
  const key = module.resource.tls_private_key.host_key;
  let dir = '';
  beforeEach(() => {
    dir = tempDir('tf-rotation-');
  });
  afterEach(() => removeDir(dir));

  /** The module's blocks, the key as a terraform_data with tls_private_key's lifecycle; with or without the generation. */
  function write(withGeneration: boolean): void {
    const config = {
      variable: { stable_host_keys: { default: true }, host_key_generation: { default: module.variable.host_key_generation.default } },
      resource: {
        terraform_data: {
          ...(withGeneration ? { host_key_generation: generation } : {}),
          host_key: { count: key.count, input: 'the host key', ...(withGeneration ? { lifecycle: key.lifecycle } : {}) },
        },
      },
    };
    fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config, null, 2));
  }
  const run = (...args: string[]) => {
    const result = terraform(dir, [...args, '-input=false', '-no-color']);
    if (result.status !== 0) throw new Error(`terraform ${args.join(' ')} failed:\n${result.output}`);
    return result.output;
  };

  test('a new host_key_generation replaces the key; the same one replaces nothing', () => {
    write(true);
    run('init', '-backend=false');
    run('apply', '-auto-approve');
    expect(run('plan')).toContain('No changes.');
    const plan = run('plan', '-var=host_key_generation=2');
    expect(plan).toMatch(/host_key\[0\] will be replaced due to changes in replace_triggered_by/);
  });

  test('upgrading a deployment that had no generation yet keeps its key', () => {
    write(false);
    run('init', '-backend=false');
    run('apply', '-auto-approve');
    write(true);
    const plan = run('plan');
    expect(plan).toMatch(/host_key_generation(\[0\])? will be created/);
    expect(plan).not.toMatch(/host_key\[0\] (will be replaced|must be replaced|will be destroyed)/);
    expect(plan).toContain('Plan: 1 to add, 0 to change, 0 to destroy.');
  });
});
