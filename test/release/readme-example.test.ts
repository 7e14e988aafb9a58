/**
 * The README's CDKTF example, as a new user pastes it into the `main.ts` of a fresh
 * `cdktf init --template=typescript` project: compiled with that template's own tsconfig (strict,
 * noUnusedLocals, ES2018), importing the package as `ssh-bastion-service` (its compiled
 * declarations and code), then run: it must synthesize a stack with the bastion.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
const TEMPLATE = path.join(ROOT, 'node_modules/cdktf-cli/bundle/templates/typescript/tsconfig.json');

/** The first ```ts block after the "## CDKTF usage" heading. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf-8');
  const section = readme.slice(readme.indexOf('## CDKTF usage'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README.md has no ```ts block under "## CDKTF usage"');
  return match[1];
}

describe('the README CDKTF example', () => {
  let project: string;
  beforeAll(() => {
    // The package as npm would install it: its compiled code and declarations (lib/), its package.json.
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT });
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-example-'));
    fs.mkdirSync(path.join(project, 'node_modules'));
    for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
      if (name !== '.bin') fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(project, 'node_modules', name));
    }
    fs.symlinkSync(ROOT, path.join(project, 'node_modules', 'ssh-bastion-service'));
    const template = JSON.parse(fs.readFileSync(TEMPLATE, 'utf-8'));
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ ...template, include: ['main.ts'] }, null, 2));
    fs.writeFileSync(path.join(project, 'main.ts'), readmeExample());
  }, 120_000);
  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  test('compiles with the cdktf init template\'s strict settings and synthesizes the bastion', () => {
    // WHEN the user builds as the template's scripts do (tsc), then runs the app (cdktf synth's step)
    const compile = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], { cwd: project, encoding: 'utf-8' });
    expect(`${compile.stdout}${compile.stderr}`).toBe('');
    expect(compile.status).toBe(0);
    const synth = spawnSync(process.execPath, ['main.js'], { cwd: project, encoding: 'utf-8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
    expect(synth.status).toBe(0);

    // THEN the stack holds the bastion and the two outputs
    const stack = JSON.parse(fs.readFileSync(path.join(project, 'cdktf.out', 'stacks', 'bastion', 'cdk.tf.json'), 'utf-8'));
    expect(Object.keys(stack.resource.aws_autoscaling_group)).toHaveLength(1);
    expect(Object.keys(stack.output).sort()).toEqual(['known_hosts', 'ssh_config']);
  });
});
