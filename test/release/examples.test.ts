/**
 * The published examples, checked by real terraform offline: each example folder is copied next
 * to the module in its provider-free form (every resource a terraform_data, see
 * test/helpers/terraform.ts) with its own provider configuration taken out, then
 * `terraform validate` proves that every argument of the module call is a variable of the module,
 * that the values fit the variables' types and that every module output the example uses exists.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { SshBastionModuleStack } from '../../src';
import { Json, asTerraformData, removeDir, tempDir, terraform, terraformBinary } from '../helpers/terraform';

const EXAMPLES_DIR = path.resolve(__dirname, '../../examples');
const EXAMPLES = ['minimal', 'complete', 'internal'];

const binary = terraformBinary();
if (!binary) {
  console.warn('\n\n*** terraform is not installed: the offline Terraform checks of the examples are SKIPPED ***\n\n');
}
const withTerraform = binary ? describe : describe.skip;

function exampleFiles(name: string): { [file: string]: string } {
  const dir = path.join(EXAMPLES_DIR, name);
  const files: { [file: string]: string } = {};
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort())
    files[file] = fs.readFileSync(path.join(dir, file), 'utf-8');
  return files;
}

/**
 * The HCL without the blocks whose opening line matches `header`, nested or not. Enough for our
 * own examples: braces are counted outside string literals, one block opening per line.
 */
function withoutBlocks(hcl: string, header: RegExp): { text: string; removed: number } {
  const kept: string[] = [];
  let depth = 0;
  let removed = 0;
  for (const line of hcl.split('\n')) {
    if (depth === 0 && header.test(line)) removed += 1;
    else if (depth === 0) {
      kept.push(line);
      continue;
    }
    const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/#.*$/, '');
    depth += (code.match(/\{/g) ?? []).length - (code.match(/\}/g) ?? []).length;
  }
  return { text: kept.join('\n'), removed };
}

const PROVIDER_BLOCK = /^provider\s+"[^"]+"\s*\{/;
const REQUIRED_PROVIDERS_BLOCK = /^\s*required_providers\s*\{/;

/** The example as terraform can validate it offline: no provider configuration, no provider requirement. */
function providerFree(files: { [file: string]: string }): { [file: string]: string } {
  const result: { [file: string]: string } = {};
  for (const [file, text] of Object.entries(files)) {
    result[file] = withoutBlocks(withoutBlocks(text, PROVIDER_BLOCK).text, REQUIRED_PROVIDERS_BLOCK).text;
  }
  return result;
}

function moduleJson(): Json {
  const app = Testing.app();
  return JSON.parse(Testing.synth(new SshBastionModuleStack(app, 'module'), true));
}

/** <dir>/main.tf.json = the module (provider-free), <dir>/examples/<name>/ = the example; returns <dir>. */
function layout(module: Json, name: string, files: { [file: string]: string }): string {
  const dir = tempDir(`tf-example-${name}-`);
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(asTerraformData(module), null, 2));
  const exampleDir = path.join(dir, 'examples', name);
  fs.mkdirSync(exampleDir, { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(exampleDir, file), text);
  return dir;
}

function validate(dir: string, name: string) {
  const exampleDir = path.join(dir, 'examples', name);
  const init = terraform(exampleDir, ['init', '-backend=false', '-input=false', '-no-color']);
  if (init.status !== 0) return init;
  return terraform(exampleDir, ['validate', '-no-color']);
}

describe('examples', () => {
  test('there are exactly the documented examples', () => {
    // examples/cdktf is the CDKTF app (test/release/readme-example.test.ts), not a module example
    const folders = fs.readdirSync(EXAMPLES_DIR).filter((f) => fs.statSync(path.join(EXAMPLES_DIR, f)).isDirectory());
    expect(folders.sort()).toEqual([...EXAMPLES, 'cdktf'].sort());
  });

  test.each(EXAMPLES)('%s has README.md, main.tf, outputs.tf and versions.tf', (name) => {
    expect(Object.keys(exampleFiles(name))).toEqual(expect.arrayContaining(['main.tf', 'outputs.tf', 'versions.tf']));
    expect(fs.existsSync(path.join(EXAMPLES_DIR, name, 'README.md'))).toBe(true);
  });

  test.each(EXAMPLES)('%s configures the aws provider, requires it with a minimum version and calls the module at ../../', (name) => {
    const files = exampleFiles(name);
    expect(withoutBlocks(files['main.tf'], PROVIDER_BLOCK).removed).toBe(1);
    expect(files['main.tf']).toMatch(/^\s*source\s*=\s*"\.\.\/\.\.\/"\s*$/m);
    expect(files['versions.tf']).toMatch(/aws\s*=\s*\{\s*source\s*=\s*"hashicorp\/aws"\s*version\s*=\s*">= [0-9.]+"/);
  });

  test('withoutBlocks removes a nested block and leaves the rest', () => {
    const hcl = 'terraform {\n  required_version = ">= 1.9"\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n';
    expect(withoutBlocks(hcl, REQUIRED_PROVIDERS_BLOCK)).toEqual({ text: 'terraform {\n  required_version = ">= 1.9"\n}\n', removed: 1 });
  });
});

withTerraform('examples, checked by real terraform offline against the module', () => {
  let module: Json;
  beforeAll(() => {
    module = moduleJson();
  });

  test.each(EXAMPLES)('every argument of %s is a variable of the module, of a fitting type (terraform validate)', (name) => {
    // GIVEN the example next to the provider-free module
    const dir = layout(module, name, providerFree(exampleFiles(name)));
    try {
      // WHEN terraform validates the example
      const result = validate(dir, name);
      // THEN it is valid
      expect(result.output).toContain('The configuration is valid');
      expect(result.status).toBe(0);
    } finally {
      removeDir(dir);
    }
  });

  test.each(EXAMPLES)('%s is formatted as terraform fmt writes it', (name) => {
    // (in a copy: the helper writes its offline CLI configuration into the directory it runs in)
    const dir = tempDir(`tf-fmt-${name}-`);
    try {
      for (const [file, text] of Object.entries(exampleFiles(name))) fs.writeFileSync(path.join(dir, file), text);
      const result = terraform(dir, ['fmt', '-check', '-diff', '-no-color']);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    } finally {
      removeDir(dir);
    }
  });

  test('the usage block of the README is valid too', () => {
    // GIVEN the README's usage, with the registry source pointing at the local module
    const readme = fs.readFileSync(path.resolve(__dirname, '../../module/README.md'), 'utf-8');
    const usage = /```hcl\n(module "bastion" \{[\s\S]*?)```/.exec(readme)?.[1];
    expect(usage).toContain('source  = "<namespace>/ssh-bastion-service/aws"');
    const local = usage!.replace(/^\s*source\s*=.*$/m, '  source = "../../"').replace(/^\s*version\s*=.*\n/m, '');
    const dir = layout(module, 'readme', { 'main.tf': local });
    try {
      // WHEN terraform validates it THEN it is valid
      const result = validate(dir, 'readme');
      expect(result.output).toContain('The configuration is valid');
    } finally {
      removeDir(dir);
    }
  });

  test('fails when an example passes an argument the module does not have', () => {
    const files = providerFree(exampleFiles('minimal'));
    files['main.tf'] = files['main.tf'].replace(/(source\s*=\s*"\.\.\/\.\.\/"\n)/, '$1  not_a_variable = true\n');
    const dir = layout(module, 'minimal', files);
    try {
      const result = validate(dir, 'minimal');
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('not_a_variable');
    } finally {
      removeDir(dir);
    }
  });

  test('fails when an example passes a value of the wrong type', () => {
    const files = providerFree(exampleFiles('minimal'));
    files['main.tf'] = files['main.tf'].replace(/(source\s*=\s*"\.\.\/\.\.\/"\n)/, '$1  spot = "sometimes"\n');
    const dir = layout(module, 'minimal', files);
    try {
      const result = validate(dir, 'minimal');
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('Invalid value for input variable');
      expect(result.output).toContain('spot = "sometimes"');
    } finally {
      removeDir(dir);
    }
  });

  test('fails when an example uses an output the module does not have', () => {
    const files = providerFree(exampleFiles('minimal'));
    files['outputs.tf'] += '\noutput "missing" {\n  value = module.bastion.no_such_output\n}\n';
    const dir = layout(module, 'minimal', files);
    try {
      const result = validate(dir, 'minimal');
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('no_such_output');
    } finally {
      removeDir(dir);
    }
  });
});
