// Every program under userdata/, found by its #! line: Python through the byte-code compiler (also
// parsed as Python 3.9, Amazon Linux 2023's), Perl through perl -c. Hosts run these files exactly
// as they are here (the bundle and the bootstrap carry them as is). ShellCheck and flake8 run on
// them, and on the repository's other scripts, in test/lint/lint.test.ts (npm run lint).
import * as path from 'path';
import { interpreter, repoPath, run, temporaryDir, userDataFiles } from './userdata-tree';

/** Amazon Linux 2023's python3 is 3.9: newer syntax compiles here but fails on the host. */
const HOST_PYTHON_VERSION = [3, 9];

const files = userDataFiles();
const pythonPrograms = files.filter((f) => /^python3?$/.test(interpreter(f) ?? '') || f.endsWith('.py'));
const perlPrograms = files.filter((f) => interpreter(f) === 'perl' || f.endsWith('.pl'));

const label = repoPath;

describe('Python programs', () => {
  let scratch: { dir: string; remove: () => void };
  beforeAll(() => (scratch = temporaryDir('py-compile')));
  afterAll(() => scratch.remove());

  test('are found (the key lookup service and the bootstrap are two)', () => {
    expect(pythonPrograms.map(repoPath)).toEqual(
      expect.arrayContaining([
        'userdata/boot/usr/local/libexec/ssh-bastion/bootstrap',
        'userdata/host/usr/local/libexec/ssh-bastion/keys-service',
      ]),
    );
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
