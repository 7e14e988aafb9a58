/**
 * The exact files published to the registry: `npm run build` into a scratch directory, twice.
 * Every file is a snapshot, so any change to what users download shows up in review; the two
 * builds must be byte-identical and free of machine-specific content.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { gunzipSync } from 'zlib';
import { parseTar } from 'nanotar';
import { buildHostBundle } from '../../src/bundle';
import { removeDir, tempDir } from '../helpers/terraform';

const ROOT = path.resolve(__dirname, '../..');
const BUILD_TIMEOUT = 180_000;

/** Relative path → content of every file below `dir`, sorted. */
function filesBelow(dir: string): { [file: string]: string } {
  const files: { [file: string]: string } = {};
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (child.endsWith('.tar.gz')) files[child] = describeArchive(fs.readFileSync(path.join(dir, child)));
      else files[child] = fs.readFileSync(path.join(dir, child), 'utf-8');
    }
  };
  walk('');
  return files;
}

/** An archive as text: its SHA-256, then each member's mode, owner, time, size and name. */
function describeArchive(bytes: Buffer): string {
  const members = parseTar(gunzipSync(bytes), { metaOnly: true });
  const lines = members.map(
    (m) =>
      `${m.attrs?.mode} ${m.attrs?.uid}:${m.attrs?.gid} ${m.attrs?.user}:${m.attrs?.group} ${m.attrs?.mtime} ${m.size} ${m.type} ${m.name}`,
  );
  return [`sha256 ${createHash('sha256').update(bytes).digest('hex')}`, ...lines, ''].join('\n');
}

function build(out: string): { [file: string]: string } {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--out', out], { cwd: ROOT, stdio: 'pipe' });
  return filesBelow(out);
}

describe('published module files', () => {
  let scratch: string;
  let first: { [file: string]: string };
  let second: { [file: string]: string };

  beforeAll(() => {
    scratch = tempDir('published-files-');
    first = build(path.join(scratch, 'first', 'terraform-aws-ssh-bastion-service'));
    second = build(path.join(scratch, 'second'));
  }, BUILD_TIMEOUT);

  afterAll(() => {
    if (scratch) removeDir(scratch);
  });

  test('are the registry layout: module files, README, LICENSE, CHANGELOG and the examples', () => {
    expect(Object.keys(first)).toEqual([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'examples/complete/README.md',
      'examples/complete/main.tf',
      'examples/complete/outputs.tf',
      'examples/complete/versions.tf',
      'examples/internal/README.md',
      'examples/internal/main.tf',
      'examples/internal/outputs.tf',
      'examples/internal/versions.tf',
      'examples/minimal/README.md',
      'examples/minimal/main.tf',
      'examples/minimal/outputs.tf',
      'examples/minimal/versions.tf',
      'main.tf.json',
      'outputs.tf.json',
      'ssh-bastion-host.tar.gz',
      'variables.tf.json',
      'versions.tf.json',
    ]);
  });

  test('carry the host bundle the construct builds, byte for byte, named in main.tf.json by its hash', () => {
    const bundle = buildHostBundle();
    expect(first['ssh-bastion-host.tar.gz']).toBe(describeArchive(bundle.bytes));
    expect(first['main.tf.json']).toContain(`ssh-bastion-host-${bundle.sha256}.tar.gz`);
    expect(first['main.tf.json']).toContain('"source": "${path.module}/ssh-bastion-host.tar.gz"');
  });

  test('the host bundle holds every file of userdata/host and userdata/worker, root-owned, time 0, programs 0755', () => {
    const lines = first['ssh-bastion-host.tar.gz'].trim().split('\n').slice(1);
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) expect(line).toMatch(/^0000(755|644) 0:0 root:root 0 \d+ file (etc|usr\/local|opt\/ssh-bastion)\//);
    expect(lines.filter((line) => line.startsWith('0000755')).every((line) => /\/(bin|libexec)\//.test(line))).toBe(true);
  });

  test('are committed as built, in dist/terraform-aws-ssh-bastion-service (the git source of Terraform users without Node)', () => {
    // The index, not the working tree: the build run before the tests rewrites the working tree.
    const committedDir = 'dist/terraform-aws-ssh-bastion-service';
    const listed = execFileSync('git', ['ls-files', '-z', committedDir], { cwd: ROOT, encoding: 'utf-8' }).split('\0').filter(Boolean);
    const committed: { [file: string]: string } = {};
    for (const file of listed.sort()) {
      const bytes = execFileSync('git', ['show', `:${file}`], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
      const relative = file.slice(committedDir.length + 1);
      committed[relative] = relative.endsWith('.tar.gz') ? describeArchive(bytes) : bytes.toString('utf-8');
    }
    expect(Object.keys(committed).sort()).toEqual(Object.keys(first).sort());
    for (const file of Object.keys(first)) expect({ file, same: committed[file] === first[file] }).toEqual({ file, same: true });
  });

  test('are byte-identical across builds and output directories', () => {
    expect(second).toEqual(first);
  });

  test('hold no absolute path of the build machine and no time stamp', () => {
    // the repository, the scratch output and the build's synth directory (scripts/build.js)
    const machinePaths = [ROOT, scratch, 'ssh-bastion-synth-'];
    for (const [file, content] of Object.entries(first)) {
      for (const machinePath of machinePaths)
        expect({ file, containsPath: content.includes(machinePath) }).toEqual({ file, containsPath: false });
      expect({ file, timestamp: /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.exec(content)?.[0] }).toEqual({ file, timestamp: undefined });
    }
  });

  test('the README documents every variable and output of the module, with the package version', () => {
    const readme = first['README.md'];
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8'));
    for (const name of Object.keys(JSON.parse(first['variables.tf.json']).variable)) expect(readme).toContain(`[${name}](#input_${name})`);
    for (const name of Object.keys(JSON.parse(first['outputs.tf.json']).output)) expect(readme).toContain(`[${name}](#output_${name})`);
    expect(readme).toContain(`Version ${version}.`);
    expect(readme).not.toMatch(/\{\{|\}\}/);
  });

  test('the README template leaves the tables to the generator', () => {
    const template = fs.readFileSync(path.join(ROOT, 'module', 'README.md'), 'utf-8');
    expect(template).toContain('<!-- BEGIN_TF_DOCS -->\n<!-- END_TF_DOCS -->');
  });

  test('npm run docs regenerates the same README from the built module', () => {
    const dir = path.join(scratch, 'second');
    fs.writeFileSync(path.join(dir, 'README.md'), 'stale');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'docs.js'), dir], { cwd: ROOT, stdio: 'pipe' });
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf-8')).toBe(first['README.md']);
  });

  test('each file is as published before (snapshot)', () => {
    for (const [file, content] of Object.entries(first)) expect(content).toMatchSnapshot(file);
  });
});
