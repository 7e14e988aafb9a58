// End to end: ways past session recording found by an attack as a user in a session, each kept as
// a regression test that asserts the attack fails: a ~/.bashrc planted to pose as the recorder; a
// process from an earlier channel taking a later channel's terminal or pipes (the second session
// channel on one connection ends the session); TCP from the user to the container's own addresses
// (refused) and ssh -R (refused); a TERM long enough to overrun the recording's header.
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, VPC_ADDRESS, VPC_SERVICE_PORT, VPC_SERVICE_TEXT, waitFor } from '../helpers/harness';
import { shellQuote, sshCommandLine } from '../helpers/ssh-options';
import { log, logEachTest } from './log';
import { startRecordedHost, storedObjects } from './recorded-host';

jest.setTimeout(240_000);
logEachTest();

const BUCKET = 'e2e-recordings-bypass';
const PORT = 2432;
let host: BastionTestHost;
let key = '';

/** The recordings in moto's S3. */
function recordings(): ReturnType<typeof storedObjects> {
  return storedObjects(host, BUCKET);
}

function sshCommand(options: string[], command?: string): string {
  return sshCommandLine({ key, port: PORT, user: 'alice' }, options, command);
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

/** Whether the session's end line says it was ended at its second session channel. */
function endedAtSecondChannel(session: string): boolean {
  return new RegExp(`container=ssh-bastion-${session} duration=\\d+s status=6 \\(recording: one session channel per connection\\)`).test(
    host.journal(),
  );
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

/**
 * The attack of the three channel tests: a ControlMaster connection, one of the programs in
 * test/e2e/thieves started in its session by a first channel, then a second channel (the shell
 * line `client` gives, with the control path) that the program waits for. Gives what the client
 * got and the session's recording. (The program's own log dies with the container, and a later
 * ssh -S would fall back to a new connection, whose session and recording would be another one.)
 */
async function attack(
  program: string,
  client: (control: string) => string,
): Promise<{ client: { stdout: string; stderr: string; status: number | null }; session: string; status: string; body: string }> {
  const before = (await recordings()).map((o) => o.key);
  let got = { stdout: '', stderr: '', status: 0 as number | null };
  await withMaster(async (control) => {
    await startThief(control, program);
    got = await host.run(['bash', '-c', client(control)], { timeoutMs: 60_000 });
  });
  log(`client: ${JSON.stringify(got)}`);
  const recording = await newRecording(before);
  log(`recording:\n${recording.body}`);
  return { client: got, ...recording };
}

/**
 * Starts one of the attack programs in test/e2e/thieves in the background, as the user, in the
 * session of the connection behind `control`, and gives it a second to get going.
 */
async function startThief(control: string, program: string): Promise<void> {
  const text = fs.readFileSync(path.join(__dirname, 'thieves', program));
  const started = await host.run([
    'bash',
    '-c',
    `printf '%s' ${shellQuote(text.toString('base64'))} | ${sshCommand(['-S', control], `base64 -d >/tmp/${program}; setsid perl /tmp/${program} </dev/null >/dev/null 2>&1 & sleep 1; echo started`)}`,
  ]);
  expect(started.stdout).toContain('started');
}

beforeAll(async () => {
  ({ host, key } = await startRecordedHost(BUCKET, PORT));
}, 600_000);

afterAll(async () => {
  if (host) log(`journal:\n${host.journal().split('\n').slice(-80).join('\n')}`);
  await host?.stop();
});

describe('session recording bypasses', () => {
  test('a ~/.bashrc planted over sftp runs no unrecorded shell: sh runs the ForceCommand, and the next session channel ends the session', async () => {
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
    const { status, body } = await newRecording(before);
    log(`recording:\n${body}`);
    // Two defences meet here. sshd runs the ForceCommand with sh, so the planted file could only
    // run in the recorded login shell, after session-command (session.test.ts shows that on a
    // bastion without recording); and channel 2 is the connection's second session channel, which
    // ends the session before anything of it runs. Either way nothing typed runs unrecorded.
    expect(status).toBe('6');
    expect(client.stdout).not.toContain('HIDDEN-42');
    expect(client.stdout).not.toContain('audit-record-accepted');
    expect(body).toContain('channel 1 file transfer: /usr/lib/openssh/sftp-server');
  });

  test('ssh -L to a listener in the container is refused (and ssh -R too); forwarding to the VPC and ssh -W still work', async () => {
    const listener =
      'use IO::Socket::INET; my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:7777", Listen => 1, ReuseAddr => 1) or die; ' +
      'my $c = $l->accept; open STDIN, "<&", $c; open STDOUT, ">&", $c; open STDERR, ">&", $c; exec "/bin/bash", "-i";';
    const before = (await recordings()).map((o) => o.key);
    let forwarded = { stdout: '', stderr: '', status: 0 };
    let remote = { stdout: '', stderr: '', status: 0 };
    let vpc = { stdout: '', stderr: '', status: 0 };
    let first = { stdout: '', stderr: '', status: 0 };
    await withMaster(async (control) => {
      // The listener, and root's capabilities in the container: without CAP_NET_ADMIN (12) root
      // cannot remove the host's rule.
      first = await host.run([
        'bash',
        '-c',
        sshCommand(
          ['-S', control],
          `setsid perl -e ${shellQuote(listener)} </dev/null >/dev/null 2>&1 & sleep 1; echo listening; ` +
            `sudo -n bash -c 'echo net_admin=$(( (16#$(grep CapBnd /proc/self/status | cut -f2) >> 12) & 1 ))'`,
        ),
      ]);
      expect(
        (await host.run(['bash', '-c', sshCommand(['-S', control, '-O', 'forward', '-L', '127.0.0.1:17777:127.0.0.1:7777'])])).status,
      ).toBe(0);
      forwarded = await host.run(
        ['bash', '-c', `{ echo 'echo FORWARDED-$((5*5)); sudo id -u; exit'; sleep 3; } | socat - TCP:127.0.0.1:17777`],
        { timeoutMs: 30_000 },
      );
      remote = await host.run(['bash', '-c', sshCommand(['-S', control, '-O', 'forward', '-R', '127.0.0.1:7778:127.0.0.1:9'])]);
      expect(
        (
          await host.run([
            'bash',
            '-c',
            sshCommand(['-S', control, '-O', 'forward', '-L', `127.0.0.1:17778:${VPC_ADDRESS}:${VPC_SERVICE_PORT}`]),
          ])
        ).status,
      ).toBe(0);
      vpc = await host.run(['bash', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socat - TCP:127.0.0.1:17778`], { timeoutMs: 30_000 });
    });
    // ssh -W (what ssh -J runs): a forwarding channel on a connection of its own
    const jump = await host.run(
      ['bash', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | ${sshCommand(['-W', `${VPC_ADDRESS}:${VPC_SERVICE_PORT}`])}`],
      { timeoutMs: 30_000 },
    );
    log(
      `first: ${JSON.stringify(first)}; forwarded: ${JSON.stringify(forwarded)}; remote: ${JSON.stringify(remote)}; vpc: ${JSON.stringify(vpc)}; jump: ${JSON.stringify(jump)}`,
    );
    const { status, body } = await newRecording(before);
    log(`recording:\n${body}`);
    expect(first.stdout).toContain('listening');
    expect(first.stdout).toContain('net_admin=0');
    expect(forwarded.stdout).not.toContain('FORWARDED-25');
    expect(remote.status).not.toBe(0);
    expect(vpc.stdout).toContain(VPC_SERVICE_TEXT);
    expect(jump.stdout).toContain(VPC_SERVICE_TEXT);
    expect(status).toBe('0');
    // and the ssh -W connection's own (no channel: nothing in it)
    await waitFor(async () => (await recordings()).filter((o) => !before.includes(o.key)).length >= 2, 90_000, 'both recordings');
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
  test("a file transfer's channel cannot be taken by an earlier channel's process: the second session channel ends the session", async () => {
    // scp's server is exec'd by the recorder onto the channel's own descriptors, and exec makes it
    // dumpable again (sftp-server makes itself non-dumpable; scp does not): a process of the same
    // user could take them (/proc/<pid>/fd, or pidfd_getfd), stop it and run a shell there. Such a
    // process needs an earlier channel of the same connection (the container is the connection's).
    const { client, session, status, body } = await attack(
      'scp-channel.pl',
      (control) => `{ sleep 3; echo 'echo STOLEN-$((4*4)); id -un'; sleep 3; } | ${sshCommand(['-S', control], 'scp -t /tmp/x')}`,
    );
    expect(client.stdout).not.toContain('STOLEN-16');
    expect(body).not.toContain('STOLEN-16');
    expect(status).toBe('6');
    expect(endedAtSecondChannel(session)).toBe(true);
  });
  test("a plain user's non-dumpable process cannot use the next channel's terminal: the second session channel ends the session", async () => {
    const { client, session, status, body } = await attack(
      'new-ptys.pl',
      (control) => `{ sleep 7; echo exit; sleep 2; } | ${sshCommand(['-S', control, '-tt'])}`,
    );
    // it may open the terminal sshd allocated (before "Starting session"), but is killed with the
    // whole container before it writes a thing
    expect(client.stdout).not.toMatch(/HELD-PTS-(\d+)-42/);
    expect(body).not.toMatch(/HELD-PTS-(\d+)-42/);
    expect(status).toBe('6');
    expect(endedAtSecondChannel(session)).toBe(true);
  });
  test('sftp asked with a terminal (ssh -t -s host sftp) after another channel: the session ends before an earlier process can run a shell on it', async () => {
    const { client, session, status, body } = await attack(
      'sftp-pty.pl',
      (control) =>
        `{ sleep 4; echo 'echo PTYSFTP-$((7*7)); sudo id -u'; sleep 3; echo exit; sleep 2; } | ${sshCommand(['-S', control, '-tt', '-s'], 'sftp')}`,
    );
    expect(client.stdout).not.toContain('PTYSFTP-49');
    expect(body).not.toContain('PTYSFTP-49');
    expect(status).toBe('6');
    expect(endedAtSecondChannel(session)).toBe(true);
  });
});

describe('a file transfer asked with a terminal, alone on its connection', () => {
  test('runs and is recorded as a file transfer (making its terminal exclusive does not get in its way)', async () => {
    // sftp-server on a terminal never sees the end of its input: the client is killed after 6 s.
    const before = (await recordings()).map((o) => o.key);
    const client = await host.run(['bash', '-c', `{ sleep 2; } | timeout -s KILL 6 ${sshCommand(['-tt', '-s'], 'sftp')}`], {
      timeoutMs: 60_000,
    });
    log(`client: ${JSON.stringify(client)}`);
    const { status, body } = await newRecording(before);
    log(`recording:\n${body}`);
    expect(client.stdout + client.stderr).not.toContain('could not start');
    expect(body).toContain('channel 1 file transfer: /usr/lib/openssh/sftp-server');
    expect(status).toBe('0');
  });
});
