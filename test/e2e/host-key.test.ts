// End to end: the host's private key stays out of reach of every session, root included. A test
// host is booted as in session.test.ts (host key from moto's SSM); a user logs in, becomes root
// with sudo and tries every way known to get at the key or at signatures made with it: the key
// file, any file holding it, the memory, descriptors and environment of every sshd process
// (/proc/<pid>/mem, process_vm_readv, ptrace, pidfd_getfd), and raising the core-dump limit of
// sshd. Rekeying, which needs a signature with the host key long after login, keeps working.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, Settings, testSettings, waitFor } from '../helpers/harness';
import { log, logEachTest } from './log';

jest.setTimeout(180_000);
logEachTest();

// Root in a session may not write kernel audit records (docs/security.md, "Capabilities"): sudo,
// which writes one per command, says so on stderr and runs the command.
const SUDO_AUDIT_REFUSED = /^sudo: unable to send audit message: Operation not permitted\n/gm;
const HOST_KEY_PARAMETER = '/ssh-bastion/e2e/host-key';
const SERVICE_PORT = 22;

const SETTINGS: Settings = testSettings({
  BASTION_SERVICE_PORT: String(SERVICE_PORT),
  BASTION_HOST_KEY_PARAMETER: HOST_KEY_PARAMETER,
});

let host: BastionTestHost;
let aliceKey = '';
let knownHosts = '';
/** The private key's base64 lines: any one of them found in a session is a leak. */
let privateKeyLines: string[] = [];

/** Runs a script as root (sudo) in a session of alice; the script travels base64-encoded in the command. */
function asRootInSession(interpreter: 'bash' | 'perl', script: string, extra: string[] = []) {
  const encoded = Buffer.from(script).toString('base64');
  return host.ssh({
    user: 'alice',
    key: aliceKey,
    knownHosts,
    command: `echo ${encoded} | base64 -d | sudo -n ${interpreter}`,
    extra,
    timeoutMs: 120_000,
  });
}

beforeAll(async () => {
  host = new BastionTestHost({ ...SETTINGS });
  await host.prepare();
  const moto = host.moto!;
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  aliceKey = path.join(keyDir, 'alice');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', aliceKey]);
  await moto.seedUsers([{ name: 'alice', groups: ['bastion-admins'], keys: [fs.readFileSync(`${aliceKey}.pub`, 'utf8').trim()] }]);

  const hostKey = path.join(keyDir, 'host-key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host', '-f', hostKey]);
  const privateKey = fs.readFileSync(hostKey, 'utf8');
  // the first line of the body is the same in every unencrypted ED25519 key: not a sign of this one
  privateKeyLines = privateKey
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .slice(1);
  await moto.putSecureString(HOST_KEY_PARAMETER, privateKey);
  knownHosts = path.join(host.dir, 'known_hosts');
  const publicKey = fs.readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  fs.writeFileSync(knownHosts, `127.0.0.1 ${publicKey}\n`);

  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
}, 300_000);

afterAll(async () => {
  await host?.stop();
});

test('sessions present the host key the known_hosts users already have (StrictHostKeyChecking=yes)', async () => {
  const result = await host.ssh({ user: 'alice', key: aliceKey, knownHosts, command: 'sudo -n id -u' });
  expect(result.stderr.replace(SUDO_AUDIT_REFUSED, '')).toBe('');
  expect(result.stdout).toBe('0\n');
});

test('root in a session finds the private host key in no file, and no docker socket', async () => {
  // Every file of the container but the kernel's pseudo file systems, each searched for each line
  // of the key's base64 body.
  const patterns = privateKeyLines.map((line) => `-e ${line}`).join(' ');
  const result = await asRootInSession(
    'bash',
    `cat /etc/ssh/ssh_host_ed25519_key 2>&1 | head -c 2000
     ls -la /etc/ssh /run/ssh-bastion/session 2>&1
     echo "files holding the key: $(grep -rlF ${patterns} --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev / 2>/dev/null | tr '\\n' ' ')."
     echo "sockets: $(find / -path /proc -prune -o -type s -print 2>/dev/null | tr '\\n' ' ')."
     ls /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock 2>&1 || true`,
  );
  log(result.stdout);
  expect(result.status).toBe(0);
  for (const line of privateKeyLines) expect(result.stdout).not.toContain(line);
  expect(result.stdout).toContain('files holding the key: .');
  expect(result.stdout).not.toMatch(/docker\.sock\s*$/m);
  expect(result.stdout).not.toMatch(/containerd\.sock\s*$/m);
});

// x86_64 system call numbers (the test machine's architecture).
const SSHD_ATTACKS = String.raw`
use strict;
use warnings;
no warnings 'portable';
my %SYS = (process_vm_readv => 310, ptrace => 101, pidfd_open => 434, pidfd_getfd => 438, prlimit64 => 302);
my ($PTRACE_SEIZE, $RLIMIT_CORE) = (0x4206, 4);
sub outcome { my ($ok) = @_; return $ok ? 'GOT' : "refused ($!)" }
opendir(my $proc, '/proc') or die "opendir /proc: $!";
$| = 1;
if (open(my $self, '<', '/proc/self/status')) {
  my $text = join('', <$self>);
  print "attacker info: $1\n" while $text =~ /^((?:Uid|Gid|CapPrm|CapEff):.*)$/mg;
}
for my $pid (sort { $a <=> $b } map { $_ + 0 } grep { /^\d+$/ } readdir $proc) {
  next if $pid == $$;
  open(my $comm, '<', "/proc/$pid/comm") or next;
  chomp(my $name = <$comm> // '');
  next unless $name eq 'sshd';
  open(my $status, '<', "/proc/$pid/status") or next;
  my $text = join('', <$status>);
  my ($uid) = $text =~ /^Uid:\s+(\d+)/m;
  my $who = "sshd pid $pid uid $uid";
  print "$who found\n";
  print "$who info: $1\n" while $text =~ /^((?:Uid|Gid|CapPrm|CapEff):.*)$/mg;
  # The address of a readable mapping, from maps when that is readable.
  my $address = 0x10000;
  if (open(my $maps, '<', "/proc/$pid/maps")) {
    while (<$maps>) { if (/^([0-9a-f]+)-[0-9a-f]+ r/) { $address = hex $1; last } }
    print "$who info: maps readable\n";
  }
  my ($bytes, $mem, $memw, $env, $e) = ('');
  my $ok = open($mem, '<:raw', "/proc/$pid/mem") && sysseek($mem, $address, 0) && sysread($mem, $bytes, 64);
  print "$who mem read: ", outcome($ok && length $bytes), "\n";
  $ok = open($memw, '+<:raw', "/proc/$pid/mem");
  print "$who mem open for writing: ", outcome($ok), "\n";
  close $memw if $ok;
  my $buffer = "\0" x 64;
  my $local = pack('J J', unpack('J', pack('p', $buffer)), 64);
  my $remote = pack('J J', $address, 64);
  $ok = syscall($SYS{process_vm_readv}, $pid, $local, 1, $remote, 1, 0) > 0;
  print "$who process_vm_readv: ", outcome($ok), "\n";
  # Each of its open files opened again through /proc (a socket cannot be; any other file can).
  my ($reopened, $tried) = (0, 0);
  if (opendir(my $fds, "/proc/$pid/fd")) {
    for my $fd (grep { /^\d+$/ } readdir $fds) {
      $tried++;
      $reopened++ if defined readlink("/proc/$pid/fd/$fd") && open(my $f, '<', "/proc/$pid/fd/$fd");
    }
  }
  print "$who fds reopened: ", outcome($reopened), " ($reopened of $tried)\n";
  print "$who info: environ readable\n" if open($env, '<', "/proc/$pid/environ") && defined($e = <$env>);
  my $pidfd = syscall($SYS{pidfd_open}, $pid, 0);
  $ok = $pidfd >= 0 && syscall($SYS{pidfd_getfd}, $pidfd, 3, 0) >= 0;
  print "$who pidfd_getfd: ", outcome($ok), "\n";
  # A seized tracee is not stopped; this process's exit detaches it.
  $ok = syscall($SYS{ptrace}, $PTRACE_SEIZE, $pid, 0, 0) == 0;
  print "$who ptrace: ", outcome($ok), "\n";
  # Raising sshd's core-dump limit is the first step to a core file of its memory.
  my $unlimited = pack('Q Q', ~0, ~0);
  $ok = syscall($SYS{prlimit64}, $pid, $RLIMIT_CORE, $unlimited, 0) == 0;
  print "$who core limit raised: ", outcome($ok), "\n";
}
`;

/** Checks the report of SSHD_ATTACKS: at least `atLeast` sshd processes, one of them root's, and no attack succeeded. */
function expectEverySshdAttackRefused(result: { status: number; stdout: string; stderr: string }, atLeast: number): void {
  log(result.stdout);
  expect(result.stderr.replace(SUDO_AUDIT_REFUSED, '')).toBe('');
  expect(result.status).toBe(0);
  const found = result.stdout.match(/^sshd pid \d+ uid \d+ found$/gm) ?? [];
  // the privileged sshd (uid 0, the only one holding the key) and its unprivileged child
  expect(found.some((line) => / uid 0 found$/.test(line))).toBe(true);
  expect(found.length).toBeGreaterThanOrEqual(atLeast);
  const attacks = result.stdout.split('\n').filter((line) => /: (GOT|refused)/.test(line));
  expect(attacks.length).toBe(found.length * 7);
  expect(attacks.filter((line) => line.includes(': GOT'))).toEqual([]);
}

test('root in a session can neither read, write, trace nor dump any sshd process, nor take its descriptors', async () => {
  expectEverySshdAttackRefused(await asRootInSession('perl', SSHD_ATTACKS), 2);
});

// After a user has authenticated, OpenSSH has switched the privileged sshd's effective user ID to
// that user and back (while it checked the user's keys), which as a side effect makes the kernel
// mark it non-dumpable. Before that it is dumpable unless started so that it is not: the
// protection must not rest on that side effect. No user code runs before authentication, so the
// root here is one that docker exec starts in the container, with the session's capabilities.
test('before anyone has authenticated, root in the container can neither read, write, trace nor dump the privileged sshd', async () => {
  const pidFile = path.join(host.dir, 'waiting-client.pid');
  // the previous tests' containers are gone first: the only container is then the waiting client's
  await waitFor(async () => (await host.sessionContainers()).length === 0, 60_000, 'earlier containers removed');
  // a client that sends its identification line (the front gives it a container only then) and
  // waits (sshd waits up to LoginGraceTime, 20 s, for its key exchange)
  await host.must([
    'bash',
    '-c',
    `setsid bash -c 'exec 3<>/dev/tcp/127.0.0.1/${SERVICE_PORT}; printf "SSH-2.0-waiting\\r\\n" >&3; sleep 50' >/dev/null 2>&1 </dev/null & echo $! >${pidFile}`,
  ]);
  try {
    let containers: string[] = [];
    await waitFor(async () => (containers = await host.sessionContainers()).length === 1, 60_000, "the waiting client's container");
    const container = containers[0];
    let result = { status: 1, stdout: '', stderr: '', ms: 0 };
    await waitFor(
      async () => {
        result = await host.run(['bash', '-c', `docker exec -i ${container} perl <<'EOF'\n${SSHD_ATTACKS}\nEOF`]);
        return / uid 0 found$/m.test(result.stdout);
      },
      60_000,
      'the privileged sshd in that container',
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last attempt: ${JSON.stringify(result)}`);
    });
    expectEverySshdAttackRefused(result, 1);
  } finally {
    await host.run(['bash', '-c', `kill "$(cat ${pidFile})"`]);
  }
  await waitFor(async () => (await host.sessionContainers()).length === 0, 60_000, 'containers removed');
});

test('rekeying every megabyte of a 64 MB tunnel keeps working (each rekey is signed with the host key)', async () => {
  // A tunnel (-L) to a listener inside the session that sends 64 MiB, with a client rekey limit of
  // 1 MiB: dozens of key exchanges after login (30-35 measured), each needing a signature by the host key.
  const size = 64 * 1024 * 1024;
  const listener = Buffer.from(
    'use IO::Socket::INET;\n' +
      'my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:9000", Listen => 1, ReuseAddr => 1) or die "listen: $!";\n' +
      '$| = 1; print "listening\\n";\n' +
      `my $c = $l->accept; my $b = "x" x 65536; print $c $b for 1 .. ${size / 65536}; close $c;\n`,
  ).toString('base64');
  const result = await host.run(
    [
      'bash',
      '-c',
      `ssh -i ${aliceKey} -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes ` +
        `-o RekeyLimit=1M -o ExitOnForwardFailure=yes -E ${host.dir}/rekey-client.log -v -L 127.0.0.1:19000:127.0.0.1:9000 ` +
        `alice@127.0.0.1 'echo ${listener} | base64 -d | perl' > ${host.dir}/rekey-listener.out & session=$!; ` +
        `for _ in $(seq 600); do grep -q listening ${host.dir}/rekey-listener.out 2>/dev/null && break; sleep 0.1; done; ` +
        `exec 3<>/dev/tcp/127.0.0.1/19000 && wc -c <&3; exec 3<&-; wait "$session"`,
    ],
    { timeoutMs: 170_000 },
  );
  const clientLog = fs.existsSync(path.join(host.dir, 'rekey-client.log'))
    ? fs.readFileSync(path.join(host.dir, 'rekey-client.log'), 'utf8')
    : '';
  const keyExchanges = clientLog.match(/SSH2_MSG_KEXINIT sent/g)?.length ?? 0;
  const verified =
    clientLog.match(/Host '127\.0\.0\.1' is known and matches the ED25519 host key|Server host key: ssh-ed25519/g)?.length ?? 0;
  log(`tunnel: ${result.stdout.trim()} bytes, ${keyExchanges} key exchanges, status ${result.status}, ${result.ms} ms`);
  expect(result.stdout.trim()).toBe(String(size));
  expect(result.status).toBe(0);
  expect(keyExchanges).toBeGreaterThanOrEqual(16);
  expect(verified).toBeGreaterThanOrEqual(1);
  await waitFor(async () => (await host.sessionContainers()).length === 0, 30_000, 'containers removed');
});
