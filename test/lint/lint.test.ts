// npm run lint as part of npm test: each linter of scripts/lint.js is one test, which fails with
// what the linter printed. ShellCheck and flake8 get every shell script and Python program of
// userdata/, scripts/, test/, bench/ and .ci/, found by their #! line.

interface LintResult {
  readonly status: number | null;
  readonly output: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/ is CommonJS without type declarations
const { LINTERS, lint, programs } = require('../../scripts/lint.js') as {
  LINTERS: Record<string, unknown>;
  lint: (name: string) => Promise<LintResult>;
  programs: () => { shell: string[]; python: string[] };
};

const LIBEXEC = 'userdata/host/usr/local/libexec/ssh-bastion';
/** ESLint's type-aware rules build the TypeScript program first: seconds, more on a busy machine. */
const LINT_TIMEOUT_MS = 180_000;

describe('lint', () => {
  test('finds the shell scripts and Python programs, which have no suffix on hosts, by their #! line (lib.sh by its .sh)', () => {
    const { shell, python } = programs();
    expect(shell).toEqual(
      expect.arrayContaining([`${LIBEXEC}/run-sections`, `${LIBEXEC}/lib.sh`, 'userdata/worker/entrypoint', 'scripts/setup.sh', '.ci/run']),
    );
    expect(python).toEqual(
      expect.arrayContaining([
        `${LIBEXEC}/keys-service`,
        `${LIBEXEC}/front`,
        `${LIBEXEC}/session`,
        'userdata/boot/usr/local/libexec/ssh-bastion/bootstrap',
      ]),
    );
    expect(shell.filter((file) => python.includes(file))).toEqual([]);
  });

  test.each(Object.keys(LINTERS))(
    '%s finds nothing',
    async (name) => {
      const result = await lint(name);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    },
    LINT_TIMEOUT_MS,
  );
});
