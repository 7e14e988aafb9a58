/**
 * The CDKTF apps users start from, as a new user builds them: the README's CDKTF example pasted
 * into the `main.ts` of a fresh `cdktf init --template=typescript` project, and the deployable
 * example project examples/cdktf/ with its own tsconfig.json. Each is compiled with its strict
 * settings (noUnusedLocals, ES2018), importing the package as `ssh-bastion-service` (its compiled
 * declarations and code), then run: it must synthesize a stack with the bastion.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
const TEMPLATE = path.join(ROOT, 'node_modules/cdktf-cli/bundle/templates/typescript/tsconfig.json');
const EXAMPLE_DIR = path.join(ROOT, 'examples/cdktf');

/** The first ```ts block after the "## CDKTF usage" heading. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf-8');
  const section = readme.slice(readme.indexOf('## CDKTF usage'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README.md has no ```ts block under "## CDKTF usage"');
  return match[1];
}

/** A project folder with main.ts and tsconfig.json, and node_modules as npm would install the package. */
function project(main: string, tsconfig: object): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdktf-app-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name !== '.bin') fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(dir, 'node_modules', name));
  }
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'ssh-bastion-service'));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['main.ts'] }, null, 2));
  fs.writeFileSync(path.join(dir, 'main.ts'), main);
  return dir;
}

/** tsc as the template's `npm run build`, then the app as `cdktf synth` runs it; the stack's JSON. */
function buildAndSynth(dir: string, stack: string, env: NodeJS.ProcessEnv = {}) {
  const compile = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf-8' });
  expect(`${compile.stdout}${compile.stderr}`).toBe('');
  expect(compile.status).toBe(0);
  const synth = spawnSync(process.execPath, ['main.js'], {
    cwd: dir,
    encoding: 'utf-8',
    env: { ...process.env, CHECKPOINT_DISABLE: '1', ...env },
  });
  expect(synth.stderr).toBe('');
  expect(synth.status).toBe(0);
  return JSON.parse(fs.readFileSync(path.join(dir, 'cdktf.out', 'stacks', stack, 'cdk.tf.json'), 'utf-8'));
}

describe('the CDKTF apps users start from', () => {
  const dirs: string[] = [];
  beforeAll(() => {
    // The package as npm would install it: its compiled code and declarations (lib/), its package.json.
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT });
  }, 120_000);
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  test("the README example compiles with the cdktf init template's strict settings and synthesizes the bastion", () => {
    const dir = project(readmeExample(), JSON.parse(fs.readFileSync(TEMPLATE, 'utf-8')));
    dirs.push(dir);
    const stack = buildAndSynth(dir, 'bastion');
    expect(Object.keys(stack.resource.aws_autoscaling_group)).toHaveLength(1);
    expect(Object.keys(stack.output).sort()).toEqual(['known_hosts', 'ssh_config']);
  });

  test('examples/cdktf compiles with its own tsconfig.json and synthesizes the bastion from the environment it documents', () => {
    const dir = project(
      fs.readFileSync(path.join(EXAMPLE_DIR, 'main.ts'), 'utf-8'),
      JSON.parse(fs.readFileSync(path.join(EXAMPLE_DIR, 'tsconfig.json'), 'utf-8')),
    );
    dirs.push(dir);
    const stack = buildAndSynth(dir, 'bastion', {
      AWS_REGION: 'us-east-2',
      BASTION_VPC_ID: 'vpc-0fedcba9876543210',
      BASTION_SUBNET_IDS: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
      BASTION_ALLOWED_CIDR_BLOCKS: '198.51.100.0/24',
      BASTION_ALLOWED_IAM_GROUPS: 'ops,dba',
    });
    expect(stack.provider.aws[0].region).toBe('us-east-2');
    const [group] = Object.values(stack.resource.aws_autoscaling_group) as { vpc_zone_identifier: string[] }[];
    expect(group.vpc_zone_identifier).toEqual(['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb']);
    const policies = JSON.stringify(stack.resource.aws_iam_role_policy);
    expect(['group/ops', 'group/dba'].filter((group) => !policies.includes(group))).toEqual([]);
    const ingress = Object.values(stack.resource.aws_vpc_security_group_ingress_rule) as { for_each?: string }[];
    expect(ingress.map((rule) => rule.for_each).filter((each) => each?.includes('198.51.100.0/24'))).toHaveLength(2);
    expect(Object.keys(stack.output).sort()).toEqual(['known_hosts', 'ssh_config']);
    // the package declares what the example installs
    const example = JSON.parse(fs.readFileSync(path.join(EXAMPLE_DIR, 'package.json'), 'utf-8'));
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8'));
    expect(example.dependencies['ssh-bastion-service']).toBe(`^${pkg.version}`);
    expect(example.dependencies.cdktf).toBe(pkg.devDependencies.cdktf);
  });
});
