// Every program under userdata/, found by its #! line: shell through shellcheck, Python through
// the byte-code compiler, Perl through perl -c. Each is checked twice: as written here (line
// numbers match the source) and as the cloud-config ships it, shortened, to the hosts (with the
// shellcheck directives of the original, which the shortening drops, given as options).
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { renderCloudConfig, WORKER_RECIPE_DIR } from '../../src/cloud-config';
import { HOST_DIR, interpreter, repoPath, run, temporaryDir, userDataFiles, WORKER_DIR, writeFile } from './userdata-tree';

const SHELLS = new Set(['sh', 'bash', 'dash', 'ksh']);
/** Amazon Linux 2023's python3 is 3.9: newer syntax compiles here but fails on the host. */
const HOST_PYTHON_VERSION = [3, 9];

const shipped = temporaryDir('shipped');
afterAll(() => shipped.remove());

/** The userdata files as the rendered document writes them, laid out below a scratch folder. */
function shippedFiles(): string[] {
  const document = parse(renderCloudConfig({ environment: 'BASTION_SERVICE_PORT=22\n' })) as {
    write_files: { path: string; content: string }[];
  };
  const inputs = '/etc/ssh-bastion/';
  return document.write_files.filter((file) => !file.path.startsWith(inputs)).map((file) => {
    const copy = path.join(shipped.dir, file.path);
    writeFile(copy, file.content);
    return copy;
  });
}

const files = [...userDataFiles(), ...shippedFiles()];
const shellScripts = files.filter((f) => SHELLS.has(interpreter(f) ?? '') || f.endsWith('.sh'));
const pythonPrograms = files.filter((f) => /^python3?$/.test(interpreter(f) ?? '') || f.endsWith('.py'));
const perlPrograms = files.filter((f) => interpreter(f) === 'perl' || f.endsWith('.pl'));

/**
 * shellcheck's options for a file: none for a source file (its directives are in it); for a
 * shipped form, which loses its comments and so its directives, the same effect as options.
 */
function shellcheckOptions(file: string): string[] {
  if (!file.startsWith(shipped.dir)) return [];
  const onHost = file.slice(shipped.dir.length);
  const original = onHost.startsWith(`${WORKER_RECIPE_DIR}/`)
    ? path.join(WORKER_DIR, onHost.slice(WORKER_RECIPE_DIR.length + 1))
    : path.join(HOST_DIR, onHost);
  const options: string[] = [];
  for (const [, words] of fs.readFileSync(original, 'utf8').matchAll(/^\s*# shellcheck ([^#\n]*)/gm)) {
    for (const [key, value] of words.trim().split(/\s+/).map((word) => word.split('='))) {
      if (key === 'shell') options.push(`--shell=${value}`);
      if (key === 'disable') options.push(`--exclude=${value}`);
      if (key === 'source') options.push('--exclude=SC1090,SC1091');
    }
  }
  return options;
}

/** `userdata/...` for a source file, `shipped:/usr/...` for its form on the host. */
function label(file: string): string {
  return file.startsWith(shipped.dir) ? `shipped:${file.slice(shipped.dir.length)}` : repoPath(file);
}

describe('shell scripts', () => {
  test('include the section runner', () => {
    expect(shellScripts.map(repoPath)).toContain('userdata/host/usr/local/libexec/ssh-bastion/run-sections');
  });

  test.each(shellScripts.map((f) => [label(f), f]))('%s passes shellcheck', (_, file) => {
    const result = run('shellcheck', ['--format=gcc', ...shellcheckOptions(file), file]);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('Python programs', () => {
  let scratch: { dir: string; remove: () => void };
  beforeAll(() => (scratch = temporaryDir('py-compile')));
  afterAll(() => scratch.remove());

  test('are found (the key lookup service is one)', () => {
    expect(pythonPrograms.length).toBeGreaterThan(0);
  });

  // Byte code goes to a scratch folder: no __pycache__ in the source tree.
  const check = [
    'import ast, py_compile, sys',
    'source, cfile, major, minor = sys.argv[1:]',
    'py_compile.compile(source, cfile=cfile, doraise=True)',
    'ast.parse(open(source, encoding="utf-8").read(), source, feature_version=(int(major), int(minor)))',
  ].join('\n');

  test.each(pythonPrograms.map((f) => [label(f), f]))(`%s compiles, also as Python ${HOST_PYTHON_VERSION.join('.')}`, (_, file) => {
    const cfile = path.join(scratch.dir, `${path.basename(file)}.pyc`);
    const result = run('python3', ['-c', check, file, cfile, ...HOST_PYTHON_VERSION.map(String)]);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('Perl programs', () => {
  test.each(perlPrograms.map((f) => [label(f), f]))('%s compiles', (_, file) => {
    const result = run('perl', ['-c', file]);
    expect(result.output).toBe(`${file} syntax OK\n`);
    expect(result.status).toBe(0);
  });
});
