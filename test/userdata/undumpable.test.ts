// undumpable: the command it execs starts non-dumpable, with the capabilities it would have had.
// Run for real as root (as in a session container), with this machine's Perl and with arm64 Perl
// under qemu-user (the capset system call has another number there); the command is this
// machine's Perl asking the kernel (prctl PR_GET_DUMPABLE) and reading its capabilities.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { QEMU_AARCH64, arm64Root } from '../helpers/arm64-root';
import { WORKER_DIR } from './userdata-tree';

const UNDUMPABLE = path.join(WORKER_DIR, 'undumpable');
// x86_64: prctl is system call 157, PR_GET_DUMPABLE is 3
const PROBE = [
  '/usr/bin/perl',
  '-e',
  'open(my $s, "<", "/proc/self/status"); my ($caps) = join("", <$s>) =~ /^CapEff:\\s+(\\S+)/m; print syscall(157, 3, 0, 0, 0, 0), " $caps\\n"',
];

const RUNNERS: [string, () => string[]][] = [
  ['x86_64 (this machine)', () => ['perl', UNDUMPABLE]],
  [
    'arm64 (qemu-user)',
    () => {
      const root = arm64Root();
      return [QEMU_AARCH64, '-L', root, path.join(root, 'usr/bin/perl'), UNDUMPABLE];
    },
  ],
];

beforeAll(() => {
  arm64Root();
}, 600_000);

test('without undumpable the probe is dumpable (the probe can tell)', () => {
  const result = spawnSync(PROBE[0], PROBE.slice(1), { encoding: 'utf8' });
  expect(result.stdout).toMatch(/^1 [0-9a-f]+\n$/);
});

test.each(RUNNERS)('%s: the command runs non-dumpable, with the same effective capabilities as without', (_arch, runner) => {
  const plain = spawnSync(PROBE[0], PROBE.slice(1), { encoding: 'utf8' });
  const [program, ...args] = runner();
  const result = spawnSync(program, [...args, ...PROBE], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toBe(`0 ${plain.stdout.split(' ')[1]}`);
});

test('names the problem when called without a command', () => {
  const result = spawnSync('perl', [UNDUMPABLE], { encoding: 'utf8' });
  expect(result).toMatchObject({ status: 1, stderr: 'ssh-bastion: undumpable: usage: undumpable <command> [args...]\n' });
});

test.each(RUNNERS)(
  "%s: an inheritable capability the bounding set lacks stays inheritable and effective (sshd's AUDIT_WRITE)",
  (_arch, runner) => {
    // as the entrypoint starts sshd: AUDIT_WRITE (bit 29) made inheritable, then dropped from the bounding set
    const status = [
      '/usr/bin/perl',
      '-e',
      'open(my $s, "<", "/proc/self/status"); my $t = join("", <$s>); print map { $t =~ /^$_:\\s+(\\S+)/m; "$_=$1 " } qw(CapInh CapEff CapBnd)',
    ];
    const [program, ...args] = runner();
    const result = spawnSync(
      'setpriv',
      ['--inh-caps', '+audit_write', '--', 'setpriv', '--bounding-set', '-audit_write', '--', program, ...args, ...status],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    const caps = Object.fromEntries(
      result.stdout
        .trim()
        .split(' ')
        .map((kv) => kv.split('='))
        .map(([k, v]) => [k, BigInt(`0x${v}`)]),
    );
    const AUDIT_WRITE = 1n << 29n;
    expect(caps.CapInh & AUDIT_WRITE).toBe(AUDIT_WRITE);
    expect(caps.CapBnd & AUDIT_WRITE).toBe(0n);
    expect(caps.CapEff & AUDIT_WRITE).toBe(AUDIT_WRITE);
  },
);
