/**
 * Real terraform, offline. Providers cannot be downloaded here, so a module is checked in two
 * provider-free forms:
 * - `asTerraformData(module)`: every resource and data source becomes the built-in
 *   `terraform_data` (its attributes kept as `input`; count, for_each, depends_on kept; every
 *   reference `aws_x.y.attr` rewritten to `terraform_data.aws_x__y.output.attr`), so
 *   `terraform validate` checks every variable, local and reference of the real module;
 * - `variablesOnly(module)`: the variables with their validation blocks, for `terraform plan -var`.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

export type Json = { [key: string]: any };

/** The terraform binary, or undefined (tests then skip loudly). */
export function terraformBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v terraform'], { encoding: 'utf-8' });
  const binary = found.stdout.trim();
  return found.status === 0 && binary !== '' ? binary : undefined;
}

/** A CLI config that forbids every provider installation: init fails fast instead of reaching out. */
function offlineEnvironment(dir: string): NodeJS.ProcessEnv {
  const config = path.join(dir, '.terraformrc');
  fs.writeFileSync(config, `provider_installation {\n  filesystem_mirror {\n    path = "${path.join(dir, '.no-providers')}"\n  }\n}\n`);
  return { ...process.env, TF_CLI_CONFIG_FILE: config, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TerraformRun {
  readonly status: number;
  readonly output: string;
}

/** Runs terraform in `dir` with no network use. */
export function terraform(dir: string, args: string[]): TerraformRun {
  const binary = terraformBinary();
  if (!binary) throw new Error('terraform is not installed');
  const result = spawnSync(binary, args, {
    cwd: dir,
    encoding: 'utf-8',
    env: offlineEnvironment(dir),
    timeout: 120_000,
  });
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

const BLOCK_KEYS_KEPT = new Set(['count', 'for_each', 'depends_on']);

/** Rewrites references to resources and data sources inside every string of `value`. */
function rewriteReferences(value: any, types: Set<string>): any {
  if (typeof value === 'string') {
    return value.replace(
      /\b(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)((\[[^\]]*\])?)(\.[A-Za-z_*][A-Za-z0-9_]*)?/g,
      (match, data, type, name, index, _i, attribute) => {
        const key = `${data ? 'data.' : ''}${type}`;
        if (!types.has(key)) return match;
        const address = `terraform_data.${data ? 'data__' : ''}${type}__${name}${index ?? ''}`;
        return attribute ? `${address}.output${attribute}` : address;
      },
    );
  }
  if (Array.isArray(value)) return value.map((item) => rewriteReferences(item, types));
  if (value !== null && typeof value === 'object') {
    const result: Json = {};
    for (const [key, item] of Object.entries(value)) result[key] = rewriteReferences(item, types);
    return result;
  }
  return value;
}

/** Drops what only a resource block may hold: meta-arguments, cdktf metadata, dynamic blocks (their iterators exist only there). */
function withoutBlockSyntax(value: any): any {
  if (Array.isArray(value)) return value.map(withoutBlockSyntax);
  if (value === null || typeof value !== 'object') return value;
  const result: Json = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'dynamic') {
      // The collection a dynamic block iterates is still an expression of the module: keep it.
      for (const [name, block] of Object.entries(item as Json)) result[`dynamic_${name}_for_each`] = (block as Json).for_each;
    } else if (!['//', 'lifecycle', 'provider'].includes(key)) {
      result[key] = withoutBlockSyntax(item);
    }
  }
  return result;
}

/** The attributes of a block, as terraform_data's input. */
function blockAsInput(block: Json): Json {
  const input: Json = {};
  for (const [key, value] of Object.entries(block)) {
    if (!BLOCK_KEYS_KEPT.has(key)) input[key] = value;
  }
  return withoutBlockSyntax(input);
}

/** The module with every resource and data source replaced by terraform_data. */
export function asTerraformData(module: Json): Json {
  const types = new Set<string>();
  for (const type of Object.keys(module.resource ?? {})) types.add(type);
  for (const type of Object.keys(module.data ?? {})) types.add(`data.${type}`);

  const resources: Json = {};
  const collect = (blocks: Json | undefined, prefix: string) => {
    for (const [type, byName] of Object.entries(blocks ?? {})) {
      for (const [name, block] of Object.entries(byName as Json)) {
        const converted: Json = { input: blockAsInput(block as Json) };
        for (const key of BLOCK_KEYS_KEPT) if ((block as Json)[key] !== undefined) converted[key] = (block as Json)[key];
        // Preconditions are the module's own plan-time checks: keep them.
        const lifecycle = (block as Json).lifecycle;
        if (lifecycle?.precondition) converted.lifecycle = { precondition: lifecycle.precondition };
        resources[`${prefix}${type}__${name}`] = converted;
      }
    }
  };
  collect(module.resource, '');
  collect(module.data, 'data__');

  const { resource: _r, data: _d, provider: _p, terraform: tf, ...rest } = module;
  const terraformBlock = { ...(tf ?? {}) };
  delete terraformBlock.required_providers;
  delete terraformBlock.backend;
  const rewritten = rewriteReferences({ ...rest, terraform: terraformBlock, resource: { terraform_data: resources } }, types);
  addComputedAttributes(rewritten);
  return rewritten;
}

/** Computed numbers the module calculates with: a placeholder of their type (a t4g.small's memory). */
const NUMERIC_COMPUTED: { [attribute: string]: number } = { memory_size: 2048 };

/**
 * terraform_data's output is its input, so attributes only the provider computes (`id`, `arn`,
 * ...) would be missing at plan: give each referenced one a placeholder string (a number for those
 * in NUMERIC_COMPUTED).
 */
function addComputedAttributes(config: Json): void {
  const text = JSON.stringify(config);
  const blocks = config.resource.terraform_data as Json;
  for (const match of text.matchAll(/terraform_data\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.output\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const [, name, attribute] = match;
    const input = blocks[name]?.input;
    if (input && !(attribute in input)) input[attribute] = NUMERIC_COMPUTED[attribute] ?? `computed-${attribute}`;
  }
}

/** Only the variables (with their validations) and the Terraform version requirement. */
export function variablesOnly(module: Json): Json {
  const terraformBlock = module.terraform?.required_version ? { required_version: module.terraform.required_version } : {};
  return { terraform: terraformBlock, variable: module.variable };
}

/** Writes `config` as main.tf.json in a new directory and runs `terraform init -backend=false`. */
export function initialised(config: Json, prefix = 'tf-offline-'): string {
  const dir = tempDir(prefix);
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config, null, 2));
  const init = terraform(dir, ['init', '-backend=false', '-input=false', '-no-color']);
  if (init.status !== 0) throw new Error(`terraform init failed:\n${init.output}`);
  return dir;
}

/** Terraform's -var argument for a value of any type. */
export function varArgument(name: string, value: unknown): string {
  return `-var=${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
}

export function removeDir(dir: string): void {
  execFileSync('rm', ['-rf', dir]);
}

/**
 * The stack in its terraform_data form, applied with local state (only built-in resources: nothing
 * leaves the machine); `edit` may change the converted configuration first (give a computed
 * attribute a value of the test's). Returns the state.
 */
export function appliedState(stack: Json, vars: string[] = [], edit: (config: Json) => void = () => undefined): Json {
  const config = asTerraformData(stack);
  edit(config);
  const dir = initialised(config, 'tf-applied-');
  try {
    const apply = terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', ...vars]);
    if (apply.status !== 0) throw new Error(`terraform apply failed:\n${apply.output}`);
    return JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf-8'));
  } finally {
    removeDir(dir);
  }
}

/** The attributes of the terraform_data that stands for `<type>.<name>` in an applied state (its first instance). */
export function appliedResource(state: Json, type: string, name: string): Json {
  const resource = state.resources.find((r: Json) => r.type === 'terraform_data' && r.name === `${type}__${name}`);
  if (!resource) throw new Error(`no ${type}.${name} in the applied state`);
  return resource.instances[0].attributes.output.value;
}

/**
 * The launch template's user data, as Terraform computes it: the stack applied by `appliedState`,
 * then read back. Computed attributes hold their placeholders (`computed-bucket`, ...). Returns the
 * decoded (gunzipped) text.
 */
export function appliedUserData(stack: Json, vars: string[] = []): string {
  return userDataOf(appliedState(stack, vars));
}

/** The launch template's user data in an applied state, decoded (gunzipped). */
export function userDataOf(state: Json): string {
  const template = state.resources.find((r: Json) => r.type === 'terraform_data' && String(r.name).startsWith('aws_launch_template__'));
  if (!template) throw new Error('no launch template in the applied state');
  const userData = template.instances[0].attributes.output.value.user_data as string;
  return zlib.gunzipSync(Buffer.from(userData, 'base64')).toString('utf-8');
}
