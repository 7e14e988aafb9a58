// The host bundle: the same bytes from the same files on any machine, readable by the tools a
// host has, and the bootstrap's own checks on what it unpacks.
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { buildHostBundle } from '../../src/bundle';
import { BOOT_DIR, USERDATA_DIR, temporaryDir, writeFile } from './userdata-tree';
import { loadHostProgram } from '../helpers/host-program';

const BOOTSTRAP = path.join(BOOT_DIR, 'usr/local/libexec/ssh-bastion/bootstrap');

/** A copy of userdata/ with other modes, times and creation order: none of it may reach the bundle. */
function scrambledCopy(target: string): void {
  execFileSync('cp', ['-r', USERDATA_DIR, target]);
  const files = execFileSync('find', [target, '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
  files.forEach((file, index) => {
    fs.chmodSync(file, index % 2 === 0 ? 0o700 : 0o640);
    fs.utimesSync(file, new Date(2001, 1, index + 1), new Date(2001, 1, index + 1));
  });
}

describe('buildHostBundle', () => {
  const bundle = buildHostBundle();
  let scratch: { dir: string; remove: () => void };
  beforeAll(() => (scratch = temporaryDir('bundle')));
  afterAll(() => scratch.remove());

  test('gives the same bytes from a copy of the tree with other modes and times', () => {
    const copy = path.join(scratch.dir, 'copy');
    scrambledCopy(copy);
    const again = buildHostBundle(copy);
    expect(again.sha256).toBe(bundle.sha256);
    expect(again.bytes.equals(bundle.bytes)).toBe(true);
  });

  test('holds every file of host/ and worker/ and nothing of boot/', () => {
    const paths = bundle.entries.map((e) => e.path);
    expect(paths).toContain('usr/local/libexec/ssh-bastion/run-sections');
    expect(paths).toContain('usr/local/libexec/ssh-bastion/keys-service');
    expect(paths).toContain('opt/ssh-bastion/worker/Dockerfile');
    expect(paths).not.toContain('usr/local/libexec/ssh-bastion/bootstrap');
    expect(paths.filter((p) => p.endsWith('.md') || p.includes('__pycache__'))).toEqual([]);
  });

  test('ships programs 0755 and lib.sh, which the host scripts source and nothing runs, 0644: the modes the repository gives them', () => {
    const mode = (entry: { mode: number }) => entry.mode.toString(8);
    const modes = Object.fromEntries(bundle.entries.map((e) => [e.path, mode(e)]));
    expect(modes['usr/local/libexec/ssh-bastion/lib.sh']).toBe('644');
    expect(modes['usr/local/libexec/ssh-bastion/run-sections']).toBe('755');
    const host = bundle.entries.filter((e) => !e.path.startsWith('opt/ssh-bastion/worker/'));
    const inRepository = (rel: string) => ((fs.statSync(path.join(USERDATA_DIR, 'host', rel)).mode & 0o111) !== 0 ? '755' : '644');
    expect(host.map((e) => `${e.path} ${inRepository(e.path)}`)).toEqual(host.map((e) => `${e.path} ${mode(e)}`));
  });

  test('is read back by GNU tar and Python tarfile: names, modes, owner, time and contents', () => {
    const file = path.join(scratch.dir, 'bundle.tar.gz');
    fs.writeFileSync(file, bundle.bytes);
    const listing = spawnSync('tar', ['--numeric-owner', '-tvzf', file], { encoding: 'utf8' });
    expect(listing.stderr).toBe('');
    expect(
      listing.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/).slice(0, 2).join(' ') + ' ' + line.split(/\s+/).pop()),
    ).toEqual(bundle.entries.map((e) => `${e.mode === 0o755 ? '-rwxr-xr-x' : '-rw-r--r--'} 0/0 ${e.path}`));
    const read = spawnSync(
      'python3',
      [
        '-c',
        'import sys, tarfile, hashlib\nfor m in tarfile.open(sys.argv[1]):\n    print(m.name, oct(m.mode), m.uid, m.gid, m.mtime, hashlib.sha256(tarfile.open(sys.argv[1]).extractfile(m.name).read()).hexdigest())',
        file,
      ],
      { encoding: 'utf8' },
    );
    expect(read.stderr).toBe('');
    const sha = (rel: string) => createHash('sha256').update(fs.readFileSync(rel)).digest('hex');
    const source = (p: string) =>
      p.startsWith('opt/ssh-bastion/worker/')
        ? path.join(USERDATA_DIR, 'worker', p.slice('opt/ssh-bastion/worker/'.length))
        : path.join(USERDATA_DIR, 'host', p);
    expect(read.stdout.trim().split('\n')).toEqual(
      bundle.entries.map((e) => `${e.path} ${'0o' + e.mode.toString(8)} 0 0 0 ${sha(source(e.path))}`),
    );
  });

  test('refuses a host path longer than a tar header holds, naming the file', () => {
    const tree = path.join(scratch.dir, 'long');
    writeFile(path.join(tree, 'host/usr/local/libexec/ssh-bastion/run-sections'), '#!/bin/bash\n', 0o755);
    writeFile(path.join(tree, 'host/etc', 'x'.repeat(100)), 'x\n');
    expect(() => buildHostBundle(tree)).toThrow(/etc\/x{100} is longer than 100 bytes, which a tar archive cannot hold/);
  });
});

describe('the bootstrap unpacks only what a bundle may hold', () => {
  let scratch: { dir: string; remove: () => void };
  beforeAll(() => (scratch = temporaryDir('bootstrap')));
  afterAll(() => scratch.remove());

  /** Runs the bootstrap's unpack() on an archive made by `build` (Python), into a fresh root. */
  function unpack(build: string): { status: number | null; output: string; root: string } {
    const root = fs.mkdtempSync(path.join(scratch.dir, 'root-'));
    const program = [
      'import io, sys, tarfile',
      loadHostProgram('bootstrap', 'bootstrap', JSON.stringify(BOOTSTRAP)),
      'buffer = io.BytesIO()',
      'archive = tarfile.open(fileobj=buffer, mode="w:gz")',
      'def add(name, data=b"x", mode=0o644, kind=tarfile.REGTYPE, link=""):',
      '    info = tarfile.TarInfo(name); info.size = len(data) if kind == tarfile.REGTYPE else 0; info.mode = mode; info.type = kind; info.linkname = link',
      '    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)',
      build,
      'archive.close()',
      'try:',
      `    print(bootstrap.unpack(buffer.getvalue(), ${JSON.stringify(root)}))`,
      'except bootstrap.BootFailed as failure:',
      '    print(failure); sys.exit(1)',
    ].join('\n');
    const result = spawnSync('python3', ['-c', program], { encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim(), root };
  }

  test('writes regular files at their places with their modes', () => {
    const result = unpack('add("usr/local/libexec/ssh-bastion/tool", b"#!/bin/sh\\n", 0o755)\nadd("etc/ssh-bastion/x.conf", b"a=1\\n")');
    expect(result).toEqual(expect.objectContaining({ status: 0, output: '2' }));
    expect(fs.statSync(path.join(result.root, 'usr/local/libexec/ssh-bastion/tool')).mode & 0o7777).toBe(0o755);
    expect(fs.readFileSync(path.join(result.root, 'etc/ssh-bastion/x.conf'), 'utf8')).toBe('a=1\n');
  });

  test.each([
    [
      'a path that climbs out',
      'add("etc/../../tmp/owned")',
      /holds etc\/\.\.\/\.\.\/tmp\/owned \(mode 644\), outside the places and modes allowed/,
    ],
    ['an absolute path', 'add("/etc/passwd")', /holds \/etc\/passwd/],
    ['a place outside /etc, /usr/local and /opt/ssh-bastion', 'add("usr/bin/sudo")', /holds usr\/bin\/sudo/],
    ['a set-uid program', 'add("usr/local/bin/x", mode=0o4755)', /holds usr\/local\/bin\/x \(mode 4755\)/],
    ['a symbolic link', 'add("etc/x", kind=tarfile.SYMTYPE, link="/etc/shadow")', /holds etc\/x, which is not a regular file/],
    ['a device', 'add("etc/x", kind=tarfile.CHRTYPE)', /holds etc\/x, which is not a regular file/],
  ])('refuses %s, and writes nothing of the archive', (_, build, message) => {
    const result = unpack(`add("etc/ssh-bastion/first.conf")\n${build}`);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(message);
    expect(execFileSync('find', [result.root, '-mindepth', '1'], { encoding: 'utf8' })).toBe('');
  });
});
