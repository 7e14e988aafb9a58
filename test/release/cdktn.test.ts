/**
 * The construct under CDK Terrain (cdktn 0.24, the maintained fork of CDKTF) as well as under
 * cdktf 0.21. The package is built as npm packs it (lib/src/ compiled, lib/cdktn/ mapped from it by
 * scripts/build-cdktn.js) and installed into two projects:
 *   cdktf: this repository's dependencies (cdktf 0.21, @cdktf/provider-*), run by this Node;
 *   cdktn: compat/cdktn (cdktn 0.24, @cdktn/provider-aws 25, @cdktn/provider-random 15 and a Node 22
 *          binary, all from the npm registry; installed here when scripts/setup.sh has not), run by
 *          Node 22, which the @cdktn packages require (>= 22.11).
 * Each project compiles and runs two apps with the cdktf init template's tsconfig: the README's
 * CDKTF example (for cdktn: with the README's cdktn imports and tls line) and the registry module
 * stack. The synthesized JSON must be the same but for the framework version in the metadata and
 * the provider requirements the bindings write (their version pins; @cdktf/provider-aws writes
 * its source as "aws", @cdktn/provider-aws as "hashicorp/aws": the same provider).
 * Skipped, loudly, only when no Node >= 22.11 can be had.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { removeDir, tempDir } from '../helpers/terraform';
/* eslint-disable @typescript-eslint/no-require-imports -- semver has no type declarations here, scripts/ is CommonJS */
const semver: { satisfies(version: string, range: string): boolean } = require('semver');
const { mapModules } = require('../../scripts/build-cdktn.js');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, '../..');
const COMPAT = path.join(ROOT, 'compat', 'cdktn');
const TEMPLATE = path.join(ROOT, 'node_modules/cdktf-cli/bundle/templates/typescript/tsconfig.json');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const CDKTN_NODE = '>=22.11.0';
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8'));

type Json = { [key: string]: unknown };

/** Whether compat/cdktn/node_modules holds what its lock file names (the other platforms' Node binaries aside). */
function compatInstalled(): boolean {
  const lock = JSON.parse(fs.readFileSync(path.join(COMPAT, 'package-lock.json'), 'utf-8'));
  return Object.entries(lock.packages as { [dir: string]: { version?: string; optional?: boolean; os?: string; cpu?: string } }).every(
    ([dir, entry]) => {
      if (dir === '' || entry.version === undefined) return true;
      const installed = path.join(COMPAT, dir, 'package.json');
      if (!fs.existsSync(installed)) return entry.optional === true;
      return JSON.parse(fs.readFileSync(installed, 'utf-8')).version === entry.version;
    },
  );
}

/** Installs compat/cdktn from its lock file when it is missing or out of date. */
function installCompat(): void {
  if (compatInstalled()) return;
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: COMPAT,
    encoding: 'utf-8',
    timeout: 240_000,
  });
  if (install.status !== 0)
    throw new Error(`npm ci in compat/cdktn failed (status ${install.status}):\n${install.stdout}${install.stderr}`);
}

/** A Node that the @cdktn packages accept: this one, or the one compat/cdktn installs for this platform. */
function cdktnNode(): string | undefined {
  if (semver.satisfies(process.versions.node, CDKTN_NODE)) return process.execPath;
  const bin = path.join(COMPAT, 'node_modules', '.bin', 'node');
  if (!fs.existsSync(bin)) return undefined;
  const version = spawnSync(bin, ['--version'], { encoding: 'utf-8' });
  return version.status === 0 && semver.satisfies(version.stdout.trim(), CDKTN_NODE) ? bin : undefined;
}

installCompat();
const node22 = cdktnNode();
if (!node22) {
  console.warn(
    `\n\n*** no Node ${CDKTN_NODE} for ${process.platform}-${process.arch} (this one is ${process.version}, compat/cdktn has none): ` +
      'the cdktn synthesis is SKIPPED ***\n\n',
  );
}
const withNode22 = node22 ? describe : describe.skip;

/** The first ```ts block after `heading`. */
function readmeBlock(heading: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf-8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README.md has no "${heading}"`);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match) throw new Error(`README.md has no \`\`\`ts block under "${heading}"`);
  return match[1];
}

/**
 * The README's CDKTF example as the README's cdktn section says to change it: its imports, and its
 * tls line in place of `new TlsProvider(this, 'tls');`.
 */
function cdktnExample(cdktfExample: string): string {
  const block = readmeBlock('### cdktn').split('\n');
  const imports = block.filter((line) => line.startsWith('import '));
  const tls = block.filter((line) => line.startsWith('new '));
  expect(tls).toHaveLength(1);
  const lines = cdktfExample.split('\n');
  const tlsAt = lines.findIndex((line) => line.trim() === "new TlsProvider(this, 'tls');");
  expect(tlsAt).toBeGreaterThan(0);
  lines[tlsAt] = `${lines[tlsAt].match(/^\s*/)![0]}${tls[0]}`;
  return [...imports, ...lines.filter((line) => !line.startsWith('import '))].join('\n');
}

/** The registry module stack, the app `npm run build` synthesizes the module from. */
function moduleApp(framework: 'cdktf' | 'cdktn'): string {
  const entry = framework === 'cdktf' ? 'ssh-bastion-service' : 'ssh-bastion-service/cdktn';
  return [
    `import { App } from '${framework}';`,
    `import { SshBastionModuleStack } from '${entry}';`,
    '',
    'const app = new App();',
    "new SshBastionModuleStack(app, 'terraform-aws-ssh-bastion-service');",
    'app.synth();',
    '',
  ].join('\n');
}

/** Symlinks each entry of `from` (node_modules) into `to`, but `.bin` and those in `except`. */
function linkModules(from: string, to: string, except: string[] = []): void {
  for (const name of fs.readdirSync(from)) {
    if (name === '.bin' || except.includes(name) || fs.existsSync(path.join(to, name))) continue;
    if (name.startsWith('@')) {
      fs.mkdirSync(path.join(to, name), { recursive: true });
      linkModules(path.join(from, name), path.join(to, name));
    } else fs.symlinkSync(path.join(from, name), path.join(to, name));
  }
}

/** Every file below `dir`, relative path → content. */
function filesBelow(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else files.set(child, fs.readFileSync(path.join(dir, child)));
    }
  };
  walk('');
  return files;
}

/** The paths (a.b.c) where two JSON values differ, with both values. */
function differences(a: unknown, b: unknown, at = ''): { path: string; cdktf: unknown; cdktn: unknown }[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a as Json), ...Object.keys(b as Json)])].sort();
    return keys.flatMap((key) => differences((a as Json)[key], (b as Json)[key], at === '' ? key : `${at}.${key}`));
  }
  return [{ path: at, cdktf: a, cdktn: b }];
}

/** What may differ between the two: the framework's version and what the provider bindings write. */
function allowed(difference: { path: string; cdktf: unknown; cdktn: unknown }): boolean {
  const { path: at, cdktf, cdktn } = difference;
  if (at === '//.metadata.version') return cdktf === '0.21.0' && cdktn === '0.24.0';
  if (/^terraform\.required_providers\.(aws|random|tls)\.version$/.test(at)) return typeof cdktf === 'string' && typeof cdktn === 'string';
  if (at === 'terraform.required_providers.aws.source') return cdktf === 'aws' && cdktn === 'hashicorp/aws';
  return false;
}

describe('the cdktn build (scripts/build-cdktn.js)', () => {
  test('maps cdktf and its aws and random bindings to their cdktn packages, in code and declarations', () => {
    const code = 'const cdktf_1 = require("cdktf");\nconst lb_1 = require("@cdktf/provider-aws/lib/lb");\n// cdktf renders "cdktf synth"';
    expect(mapModules(code)).toBe(
      'const cdktf_1 = require("cdktn");\nconst lb_1 = require("@cdktn/provider-aws/lib/lb");\n// cdktf renders "cdktf synth"',
    );
    expect(mapModules("import { Id } from '@cdktf/provider-random/lib/id';\nimport { Fn } from 'cdktf';")).toBe(
      "import { Id } from '@cdktn/provider-random/lib/id';\nimport { Fn } from 'cdktn';",
    );
  });

  test('refuses a cdktf package without a cdktn counterpart', () => {
    expect(() => mapModules('require("@cdktf/provider-tls/lib/private-key")', 'host-keys.js')).toThrow(
      'host-keys.js imports @cdktf/provider-tls/lib/private-key, which has no cdktn counterpart',
    );
  });

  test("the cdktn versions checked here are within the package's peer dependencies, and the Node binary is one they accept", () => {
    const compat = JSON.parse(fs.readFileSync(path.join(COMPAT, 'package.json'), 'utf-8'));
    for (const name of ['cdktn', '@cdktn/provider-aws', '@cdktn/provider-random', 'constructs']) {
      expect([name, semver.satisfies(compat.dependencies[name], manifest.peerDependencies[name])]).toEqual([name, true]);
    }
    for (const binary of Object.keys(compat.optionalDependencies)) {
      expect([binary, semver.satisfies(compat.optionalDependencies[binary], CDKTN_NODE)]).toEqual([binary, true]);
    }
  });
});

withNode22('the same apps under cdktf 0.21 and cdktn 0.24', () => {
  let scratch: string;
  const projects = { cdktf: '', cdktn: '' };
  const runs: { [framework: string]: { [app: string]: { status: number | null; output: string } } } = { cdktf: {}, cdktn: {} };

  beforeAll(() => {
    scratch = tempDir('cdktn-');
    // The package as npm packs it: package.json, userdata/, lib/src/ (tsc) and lib/cdktn/ (mapped).
    const build = path.join(scratch, 'build');
    execFileSync(process.execPath, [TSC, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', build], { cwd: ROOT });
    const template = JSON.parse(fs.readFileSync(TEMPLATE, 'utf-8'));
    const cdktfExample = readmeBlock('## CDKTF usage');
    const apps = {
      cdktf: { main: cdktfExample, module: moduleApp('cdktf') },
      cdktn: { main: cdktnExample(cdktfExample), module: moduleApp('cdktn') },
    };

    for (const framework of ['cdktf', 'cdktn'] as const) {
      const project = path.join(scratch, framework);
      projects[framework] = project;
      const modules = path.join(project, 'node_modules');
      const pkg = path.join(modules, 'ssh-bastion-service');
      fs.mkdirSync(path.join(pkg, 'lib'), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
      fs.symlinkSync(path.join(ROOT, 'userdata'), path.join(pkg, 'userdata'));
      fs.cpSync(path.join(build, 'src'), path.join(pkg, 'lib', 'src'), { recursive: true });
      execFileSync(process.execPath, [
        path.join(ROOT, 'scripts', 'build-cdktn.js'),
        '--from',
        path.join(pkg, 'lib', 'src'),
        '--out',
        path.join(pkg, 'lib', 'cdktn'),
      ]);
      if (framework === 'cdktf') linkModules(path.join(ROOT, 'node_modules'), modules, ['ssh-bastion-service']);
      else {
        linkModules(path.join(COMPAT, 'node_modules'), modules);
        // The package's own dependencies, as npm installs them next to it.
        for (const name of Object.keys(manifest.dependencies))
          fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
      }
      fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ ...template, include: ['main.ts', 'module.ts'] }, null, 2));
      for (const [app, source] of Object.entries(apps[framework])) fs.writeFileSync(path.join(project, `${app}.ts`), source);

      const compile = spawnSync(process.execPath, [TSC, '-p', project], { cwd: project, encoding: 'utf-8' });
      if (compile.status !== 0) throw new Error(`${framework}: tsc failed:\n${compile.stdout}${compile.stderr}`);
      const node = framework === 'cdktf' ? process.execPath : node22!;
      for (const app of ['main', 'module']) {
        const run = spawnSync(node, [`${app}.js`], {
          cwd: project,
          encoding: 'utf-8',
          timeout: 120_000,
          env: { ...process.env, CHECKPOINT_DISABLE: '1', CDKTF_OUTDIR: path.join(project, `out-${app}`) },
        });
        runs[framework][app] = { status: run.status, output: `${run.stdout}${run.stderr}` };
      }
    }
  }, 240_000);

  afterAll(() => {
    if (scratch) removeDir(scratch);
  });

  test.each([
    ['the README example', 'main', 'bastion'],
    ['the registry module stack', 'module', 'terraform-aws-ssh-bastion-service'],
  ])('%s synthesizes the same JSON but for the framework version and the provider pins', (_name, app, stack) => {
    // GIVEN both apps ran to the end
    for (const framework of ['cdktf', 'cdktn'])
      expect([framework, runs[framework][app]]).toEqual([framework, { status: 0, output: expect.any(String) }]);

    // WHEN the stacks are read, the projects' own paths (the local backend's state file) made alike
    const read = (framework: 'cdktf' | 'cdktn') => {
      const text = fs.readFileSync(path.join(projects[framework], `out-${app}`, 'stacks', stack, 'cdk.tf.json'), 'utf-8');
      return JSON.parse(text.split(projects[framework]).join('<project>'));
    };
    const [cdktf, cdktn] = [read('cdktf'), read('cdktn')];
    const found = differences(cdktf, cdktn);
    console.log(
      `${stack}: cdktf 0.21 → cdktn 0.24 differences:\n${found.map((d) => `  ${d.path}: ${JSON.stringify(d.cdktf)} → ${JSON.stringify(d.cdktn)}`).join('\n')}`,
    );

    // THEN only those differ, and the rest is all there (the bastion's resources in both)
    expect(found.filter((difference) => !allowed(difference))).toEqual([]);
    expect(Object.keys(cdktn.resource).length).toBeGreaterThan(10);
    expect(Object.keys(cdktn.resource.tls_private_key)).toHaveLength(1);
    // and the assets (the host bundle the stack uploads) are the same bytes
    const assets = (framework: 'cdktf' | 'cdktn') => filesBelow(path.join(projects[framework], `out-${app}`, 'stacks', stack));
    const [cdktfFiles, cdktnFiles] = [assets('cdktf'), assets('cdktn')];
    expect([...cdktnFiles.keys()].sort()).toEqual([...cdktfFiles.keys()].sort());
    for (const [file, bytes] of cdktfFiles)
      if (file !== 'cdk.tf.json') expect([file, bytes.equals(cdktnFiles.get(file)!)]).toEqual([file, true]);
  });

  test("the README's cdktn app names the tls provider without a tls bindings package", () => {
    const stack = JSON.parse(fs.readFileSync(path.join(projects.cdktn, 'out-main', 'stacks', 'bastion', 'cdk.tf.json'), 'utf-8'));
    expect(stack.terraform.required_providers.tls).toEqual({ source: 'hashicorp/tls', version: '~> 4.0' });
    expect(stack.provider.tls).toEqual([{}]);
    expect(fs.readFileSync(path.join(projects.cdktn, 'main.js'), 'utf-8')).not.toMatch(/@cdktf\/|require\("cdktf"\)/);
  });
});
