// End to end: session recording. A user types commands in an interactive session of a host whose
// sessions are recorded; the recording appears in moto's S3 as one object named by the session and
// the user, parses as asciicast v2 and its output replays to what was typed (and what the shell
// answered); a session without a terminal is recorded as its command line. The MOTD says the session is recorded. Root in the container (sudo) killing the
// recorder ends the whole session, and what was recorded before is still stored.
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, Settings, testSettings, waitFor } from '../helpers/harness';
import { shellQuote, sshCommandLine } from '../helpers/ssh-options';
import { log, logEachTest } from './log';
import { serveRecordedSessions, startRecordedHost, storedObjects } from './recorded-host';

jest.setTimeout(240_000);
logEachTest();

const BUCKET = 'e2e-recordings';
const PORT = 2422;
const SLOW_PORT = 2423;
const HANGING_S3_PORT = 2424;
const SMALL_DISK_PORT = 2425;
let host: BastionTestHost;
let key = '';
/** the spool of the recorded front on PORT */
let spool = '';

/** The recordings in moto's S3. */
function recordings(): ReturnType<typeof storedObjects> {
  return storedObjects(host, BUCKET);
}

/** An interactive login on a terminal (ssh -tt) that types `lines`, each after `pauseSeconds`. */
function typeInSession(
  lines: string[],
  pauseSeconds: number,
  holdSeconds = 2,
): Promise<{ status: number; stdout: string; stderr: string }> {
  const typing = lines.map((l) => `sleep ${pauseSeconds}; printf '%s\\n' ${shellQuote(l)}`).join('; ');
  return host.run(['bash', '-c', `{ ${typing}; sleep ${holdSeconds}; } | ${sshCommand(['-tt'])}`], { timeoutMs: 120_000 });
}

/** ssh to the recorded port as alice, as one shell-quoted command line: `options`, then `command` if any. */
function sshCommand(options: string[], command?: string, port = PORT): string {
  return sshCommandLine({ key, port, user: 'alice' }, options, command);
}

/** ssh without a terminal (`options`, e.g. -T), `input` on its stdin. */
function sshWithInput(
  options: string[],
  command: string | undefined,
  input: string,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return host.run(['bash', '-c', `printf '%s' ${shellQuote(input)} | ${sshCommand(options, command)}`], { timeoutMs: 120_000 });
}

/** The keys of the recordings in S3 now. */
async function recordingKeys(): Promise<string[]> {
  return (await recordings()).map((o) => o.key);
}

/**
 * The recording of a session of alice that ended (by the journal's end line) since `before` (the
 * keys in S3 then), once it is in S3, with the end line's status.
 */
async function newRecording(before: string[]): Promise<{ session: string; status: string; cast: ReturnType<typeof replay> }> {
  let found: { session: string; status: string; cast: ReturnType<typeof replay> } | undefined;
  await waitFor(
    async () => {
      const fresh = (await recordings()).filter((o) => !before.includes(o.key));
      const ends = [...host.journal().matchAll(/user=alice container=ssh-bastion-([0-9a-f]{24}) duration=\d+s status=(\d+)/g)];
      for (const o of fresh) {
        const end = ends.find((e) => o.key.endsWith(`${e[1]}-alice.cast`));
        if (end) found = { session: end[1], status: end[2], cast: replay(o.body) };
      }
      return found !== undefined;
    },
    60_000,
    'a new recording in S3',
  );
  return found!;
}

/** The terminal output of an asciicast v2 recording, replayed: its "o" events in order. */
function replay(cast: string): { header: any; events: [number, string, string][]; output: string } {
  const [first, ...rest] = cast.trimEnd().split('\n');
  const header = JSON.parse(first);
  const events = rest.map((line) => JSON.parse(line) as [number, string, string]);
  const output = events
    .filter((e) => e[1] === 'o')
    .map((e) => e[2])
    .join('');
  return { header, events, output };
}

beforeAll(async () => {
  ({ host, key, spool } = await startRecordedHost(BUCKET, PORT));
}, 600_000);

afterAll(async () => {
  if (host) log(`journal:\n${host.journal().split('\n').slice(-60).join('\n')}`);
  await host?.stop();
});

describe('session recording', () => {
  test('a recording in S3, one object named by session and user, replays to what the user typed', async () => {
    // The recorder started by hand from the shell is not a channel's: the host refuses its stream.
    const typed = [
      'echo typed-$((6*7))',
      'printf "%s\\n" recorded-line',
      'perl /usr/local/libexec/ssh-bastion/record-session /run/ssh-bastion/session/record.sock /bin/true',
      'exit 0',
    ];
    const result = await typeInSession(typed, 2);
    expect(result.stdout).toContain('This session is recorded');
    expect(result.stdout).toContain('typed-42');
    let objects: { key: string; sse: string; body: string }[] = [];
    await waitFor(
      async () => {
        objects = await recordings();
        return objects.length === 1;
      },
      60_000,
      'the recording in S3',
    );
    const [object] = objects;
    const session = /session end client=\S+ user=alice container=ssh-bastion-([0-9a-f]{24})/.exec(host.journal())![1];
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
    expect(object.key).toBe(`recordings/${day}/${session}-alice.cast`);
    expect(object.sse).toBe('AES256');
    const { header, events, output } = replay(object.body);
    expect(header).toMatchObject({ version: 2, width: expect.any(Number), height: expect.any(Number), timestamp: expect.any(Number) });
    for (const e of events) {
      expect(typeof e[0]).toBe('number');
      expect(['o', 'r', 'm', 'i']).toContain(e[1]);
      expect(typeof e[2]).toBe('string');
    }
    // times in order, from the host's clock
    expect(events.map((e) => e[0])).toEqual([...events.map((e) => e[0])].sort((a, b) => a - b));
    // What was typed, echoed by the shell, and what the shell answered, in that order.
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences (ESC [ ...) are what it strips
    const plain = output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    let at = 0;
    for (const expected of ['echo typed-$((6*7))', 'typed-42', 'printf "%s\\n" recorded-line', 'recorded-line', 'exit 0']) {
      const found = plain.indexOf(expected, at);
      expect([expected, found >= 0]).toEqual([expected, true]);
      at = found + expected.length;
    }
    expect(events.filter((e) => e[1] === 'm').map((e) => e[2])).toEqual(['channel 1 terminal', 'channel 1 ended, status 0']);
    expect(host.journal()).toMatch(new RegExp(`container=ssh-bastion-${session} duration=\\d+s status=0 \\(ended\\)`));
    expect(host.journal()).toContain(`ssh-bastion-${session}: a connection to record.sock not made by a channel's recorder was refused`);
  });

  test('the terminal sshd allocated (the outer one) cannot be opened from the recorded shell, by the user or root, nor with the recorder stopped', async () => {
    const before = await recordingKeys();
    // The outer terminal: the other pty of the container that is not the shell's own.
    const outer = 'outer=$(for p in /dev/pts/[0-9]*; do [ "$p" != "$(tty)" ] && echo "$p"; done | head -n 1); echo "outer-is-$outer"';
    const result = await typeInSession(
      [
        outer,
        // The review's attack: the shell's output to the outer terminal reaches the client unrecorded.
        `{ printf 'SECRET-%s\\n' $((6*7)) >"$outer"; } 2>/dev/null && echo user-opened || echo user-refused`,
        `sudo sh -c 'printf "ROOTSECRET-%s\\n" $((6*8)) >"$1"' sh "$outer" 2>/dev/null && echo root-opened || echo root-refused-$?`,
        // With the recorder stopped, nothing it would copy can reach the client, and the outer terminal stays closed.
        `kill -STOP $PPID; { printf 'STOPSECRET-%s\\n' $((6*9)) >"$outer"; } 2>/dev/null && s=stopped-opened || s=stopped-refused; kill -CONT $PPID; echo "$s"`,
        'exit 0',
      ],
      2,
    );
    const { cast } = await newRecording(before);
    // Whatever the client saw of the markers, the recording has too.
    for (const secret of ['SECRET-42', 'ROOTSECRET-48', 'STOPSECRET-54']) {
      if (result.stdout.includes(secret)) expect([secret, cast.output.includes(secret)]).toEqual([secret, true]);
    }
    expect(result.stdout).toMatch(/outer-is-\/dev\/pts\/\d+/);
    expect(result.stdout).toContain('user-refused');
    expect(result.stdout).toMatch(/root-refused-[12]/);
    expect(result.stdout).toContain('stopped-refused');
    expect(cast.output).toContain('stopped-refused');
  });

  test('a login shell without a terminal (ssh -T) is refused, with a message, and what it was sent never runs', async () => {
    const before = await recordingKeys();
    const result = await sshWithInput(['-T'], undefined, 'echo MARKER-$((8*8))\nexit 0\n');
    expect(result.stdout).not.toContain('MARKER-64');
    expect(result.stderr).toContain('this session is recorded: a login shell needs a terminal (ssh -t)');
    expect(result.status).not.toBe(0);
    const { cast, status } = await newRecording(before);
    expect(status).toBe('0');
    expect(cast.events.filter((e) => e[1] === 'm').map((e) => e[2])).toEqual([
      'channel 1 login shell without a terminal: refused',
      'channel 1 ended, status 1',
    ]);
  });

  test('a command without a terminal: what it is sent and what it writes are recorded', async () => {
    const before = await recordingKeys();
    const result = await sshWithInput([], 'bash', 'echo STDIN-MARKER-$((9*9))\necho ERR-MARKER-$((7*7)) >&2\nexit 3\n');
    expect(result.status).toBe(3);
    expect(result.stdout).toBe('STDIN-MARKER-81\n');
    expect(result.stderr).toContain('ERR-MARKER-49');
    const { cast } = await newRecording(before);
    expect(
      cast.events
        .filter((e) => e[1] === 'i')
        .map((e) => e[2])
        .join(''),
    ).toContain('echo STDIN-MARKER-$((9*9))');
    expect(cast.output).toContain('STDIN-MARKER-81');
    expect(cast.output).toContain('ERR-MARKER-49');
    const marks = cast.events.filter((e) => e[1] === 'm').map((e) => e[2]);
    expect(marks).toEqual(['channel 1 command: bash', 'channel 1 ended, status 3']);
  });

  test('file transfers (sftp, scp) are recorded as their command line, not their bytes', async () => {
    const before = await recordingKeys();
    const local = path.join(host.dir, 'transfer.txt');
    fs.writeFileSync(local, 'TRANSFERRED-CONTENT\n');
    const scpOptions = ['-i', key, '-P', String(PORT), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR'];
    const noKnownHosts = ['-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no'];
    const sftp = await host.run(['scp', ...scpOptions, ...noKnownHosts, local, 'alice@127.0.0.1:/tmp/sent.txt']);
    expect(sftp.status).toBe(0);
    const first = await newRecording(before);
    expect(first.cast.events.map((e) => [e[1], e[2]])).toEqual([
      ['m', 'channel 1 file transfer: /usr/lib/openssh/sftp-server'],
      ['m', 'channel 1 ended, status 0'],
    ]);
    const beforeLegacy = await recordingKeys();
    const legacy = await host.run(['scp', '-O', ...scpOptions, ...noKnownHosts, local, 'alice@127.0.0.1:/tmp/sent.txt']);
    expect(legacy.status).toBe(0);
    const second = await newRecording(beforeLegacy);
    expect(second.cast.events.map((e) => [e[1], e[2]])).toEqual([
      ['m', 'channel 1 file transfer: /usr/bin/scp -t /tmp/sent.txt'],
      ['m', 'channel 1 ended, status 0'],
    ]);
    expect(JSON.stringify(first.cast.events) + JSON.stringify(second.cast.events)).not.toContain('TRANSFERRED-CONTENT');
    // Not a file transfer: a shell's metacharacters after scp make it a command like any other.
    const beforeShell = await recordingKeys();
    const shellAfter = await sshWithInput([], 'scp -t /tmp/x; echo INJECTED-$((2*21))', '');
    expect(shellAfter.stdout).toContain('INJECTED-42');
    const third = await newRecording(beforeShell);
    expect(third.cast.output).toContain('INJECTED-42');
  });

  test("a copy of perl named sshd cannot pass as a channel's recorder: what it sends is refused, not recorded", async () => {
    const before = await recordingKeys();
    // The review's forged recorder: a child of a program named sshd, streaming a header, output and an end.
    const fake = [
      'use Socket;',
      '$SIG{PIPE} = "IGNORE";',
      'socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die;',
      'connect($s, pack_sockaddr_un("/run/ssh-bastion/session/record.sock")) or die "connect: $!";',
      'sub f { my ($t, $p) = @_; syswrite($s, $t . pack("N", length $p) . $p) }',
      'f("h", join("\\t", 1, 999999, 999999, "xterm", "forged"));',
      'f("o", "FORGED-" . "OUTPUT\\r\\n");',
      'f("e", "0");',
      'sleep 1;',
      'print "fake-" . "sent\\n";',
    ].join(' ');
    const result = await typeInSession(
      [
        `echo ${Buffer.from(fake).toString('base64')} | base64 -d >/tmp/fake.pl`,
        'cp /usr/bin/perl /tmp/sshd',
        `/tmp/sshd -e 'if (!fork) { exec "/usr/bin/perl", "/tmp/fake.pl" } wait'`,
        'exit 0',
      ],
      2,
    );
    expect(result.stdout).toContain('fake-sent');
    const { session, status, cast } = await newRecording(before);
    expect(JSON.stringify(cast.events)).not.toContain('FORGED');
    expect(cast.header.width).not.toBe(999999);
    expect(status).toBe('0');
    expect(host.journal()).toContain(`ssh-bastion-${session}: a connection to record.sock not made by a channel's recorder was refused`);
  });

  test('300 forged recorder connections, each sending most of a 1 MiB frame, leave the session program small and the session going', async () => {
    const before = await recordingKeys();
    const flood = [
      'use Socket;',
      '$SIG{PIPE} = "IGNORE";',
      'my @held; my $data = "x" x (900 * 1024);',
      'for (1 .. 300) {',
      '  socket(my $s, AF_UNIX, SOCK_STREAM, 0) or last;',
      '  connect($s, pack_sockaddr_un("/run/ssh-bastion/session/record.sock")) or next;',
      '  syswrite($s, "o" . pack("N", 1 << 20) . $data);',
      '  push @held, $s;',
      '}',
      'print "held-" . "connections\\n";',
      'sleep 20;',
    ].join(' ');
    const rss = async () => {
      const out = await host.run([
        'bash',
        '-c',
        'for p in $(pgrep -f "libexec/ssh-bastion/session "); do sed -n "s/^VmRSS:\\s*\\([0-9]*\\) kB/\\1/p" /proc/$p/status; done',
      ]);
      return Math.max(0, ...out.stdout.split('\n').filter(Boolean).map(Number));
    };
    let largest = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        largest = Math.max(largest, await rss());
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const result = await typeInSession(
      [
        `echo ${Buffer.from(flood).toString('base64')} | base64 -d >/tmp/flood.pl`,
        'cp /usr/bin/perl /tmp/sshd',
        `/tmp/sshd -e 'if (!fork) { exec "/usr/bin/perl", "/tmp/flood.pl" } wait'`,
        'echo still-$((40+2))',
        'exit 0',
      ],
      2,
      30,
    );
    polling = false;
    await poll;
    log(`largest session program: ${largest} kB`);
    expect(result.stdout).toContain('held-connections');
    expect(result.stdout).toContain('still-42');
    const { status, cast } = await newRecording(before);
    expect(status).toBe('0');
    expect(cast.output).toContain('still-42');
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(64 * 1024);
  });

  test('a second session channel ends the session at once (here with the recording socket hidden by sudo, after a forged recorder connected)', async () => {
    const control = path.join(host.dir, 'control-%C');
    const master = await host.run([
      'bash',
      '-c',
      `${sshCommand(['-f', '-N', '-M', '-S', control, '-o', 'ControlPersist=120'])} >/dev/null 2>&1`,
    ]);
    expect(master.status).toBe(0);
    try {
      // First channel: a forged recorder connects (before: a credit for a later channel), then root
      // moves /run/ssh-bastion aside, so that the next channel finds no socket.
      const fake =
        'use Socket; socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die; ' +
        'connect($s, pack_sockaddr_un("/run/ssh-bastion/session/record.sock")) or die "connect: $!"; ' +
        'syswrite($s, "h" . pack("N", 4) . "0\\t1\\t"); sleep 60;';
      const first = await sshWithInput(
        ['-S', control],
        'bash',
        `echo ${Buffer.from(fake).toString('base64')} | base64 -d >/tmp/hold.pl\n` +
          `cp /usr/bin/perl /tmp/sshd\n` +
          `setsid /tmp/sshd -e 'if (!fork) { exec "/usr/bin/perl", "/tmp/hold.pl" } sleep 60' </dev/null >/dev/null 2>&1 &\n` +
          'sleep 1\nsudo mv /run/ssh-bastion /run/hidden && echo moved\n',
      );
      expect(first.stdout).toContain('moved');
      const started = Date.now();
      const second = await host.run(['bash', '-c', sshCommand(['-S', control], 'echo UNRECORDED-$((3*3)); sleep 40')], {
        timeoutMs: 90_000,
      });
      const seconds = (Date.now() - started) / 1000;
      log(`second channel: status ${second.status} after ${seconds} s`);
      expect(seconds).toBeLessThan(25);
      expect(second.stdout).not.toContain('UNRECORDED-9');
      await waitFor(() => /status=6 \(recording: one session channel per connection\)/.test(host.journal()), 30_000, 'the end line');
    } finally {
      await host.run(['bash', '-c', `${sshCommand(['-S', control, '-O', 'exit'])} >/dev/null 2>&1`]);
    }
  });

  test('the end line (and session.end) come before the recording is stored: an S3 that never answers does not hold them back', async () => {
    // An S3 endpoint that accepts connections and never answers, for a front of its own.
    await host.must([
      'bash',
      '-c',
      `setsid socat TCP-LISTEN:${HANGING_S3_PORT},bind=127.0.0.1,fork,reuseaddr EXEC:'sleep 900' >/dev/null 2>&1 </dev/null &`,
    ]);
    await host.waitForPort(HANGING_S3_PORT);
    await serveRecordedSessions(
      host,
      SLOW_PORT,
      'recorded-hanging-s3',
      BUCKET,
      256,
      { ...testSettings(), BASTION_WORKER_BASE_IMAGE: host.baseImage } as Settings,
      { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${HANGING_S3_PORT}` },
    );
    const mark = host.journal().length;
    const result = await host.ssh({ user: 'alice', key, port: SLOW_PORT, command: 'echo s3-never-answers' });
    expect(result.stdout).toBe('s3-never-answers\n');
    const ended = Date.now();
    await waitFor(
      () => /session end client=\S+ user=alice container=\S+ duration=\d+s status=0 \(ended\)/.test(host.journal().slice(mark)),
      20_000,
      'the end line',
    );
    log(`end line ${Date.now() - ended} ms after the client's end`);
    // ... while the upload is still trying.
    expect(host.journal().slice(mark)).not.toMatch(/session recording (NOT )?stored/);
  });

  test('root in the container killing the recorder ends the session; what was sent before is stored', async () => {
    const before = await recordingKeys();
    const started = Date.now();
    const result = await typeInSession(['echo before-kill', 'sudo kill -KILL $PPID', 'echo after-kill'], 2, 60);
    // The session ended long before the client stopped typing.
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(result.stdout).toContain('before-kill');
    const { session, status, cast } = await newRecording(before);
    expect(status).toBe('6');
    expect(host.journal()).toMatch(
      new RegExp(`container=ssh-bastion-${session} duration=\\d+s status=6 \\(recording: a recorder stopped before its channel ended\\)`),
    );
    expect(await host.sessionContainers()).not.toContain(`ssh-bastion-${session}`);
    expect(cast.output).toContain('before-kill');
    expect(cast.output).not.toContain('after-kill\r\nafter-kill');
    expect(cast.events.filter((e) => e[1] === 'm').map((e) => e[2])).toEqual(['channel 1 terminal']);
  });

  test('a spool no running session owns (S3 failed, or its session program was killed) is stored at the end of a later session', async () => {
    const container = 'ssh-bastion-0123456789abcdef01234567';
    const objectKey = 'recordings/2026/01/02/0123456789abcdef01234567-alice.cast';
    const header = JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1767312000, title: 'left over' });
    // Written in the host's namespaces, where the spool's file system is mounted.
    await host.must([
      'bash',
      '-c',
      'printf "%s\\n" "$1" \'[0.5, "o", "LEFTOVER-OUTPUT"]\' >"$3.cast" && printf "%s\\n" "$2" >"$3.key" && touch -d "10 minutes ago" "$3.cast"',
      'bash',
      header,
      objectKey,
      path.join(spool, container),
    ]);
    const result = await host.ssh({ user: 'alice', key, port: PORT, command: 'echo a-later-session' });
    expect(result.stdout).toBe('a-later-session\n');
    await waitFor(async () => (await recordingKeys()).includes(objectKey), 60_000, 'the leftover in S3');
    expect((await recordings()).find((o) => o.key === objectKey)!.body).toContain('LEFTOVER-OUTPUT');
    expect(host.journal()).toContain(`leftover session recording stored: s3://${BUCKET}/${objectKey}`);
    expect(await host.must(['ls', '-A', spool])).not.toContain(container);
  });

  test('the recordings\' file system keeps 20% free: a session filling it ends with "recording: disk full" and its recording is stored; a new session is refused while it is full', async () => {
    // A 64 MiB file system for the spool of a front of its own.
    const smallSpool = await serveRecordedSessions(host, SMALL_DISK_PORT, 'recorded-small-disk', BUCKET, 64, {
      ...testSettings(),
      BASTION_WORKER_BASE_IMAGE: host.baseImage,
    } as Settings);
    let mark = host.journal().length;
    // NUL bytes: 6 bytes each in the spool ("\u0000").
    const flood = await host.run(
      [
        'bash',
        '-c',
        `{ sleep 2; printf '%s\\n' 'head -c 60M /dev/zero; echo flood-done'; sleep 20; } | ${sshCommand(['-tt'], undefined, SMALL_DISK_PORT)} | tail -c 100`,
      ],
      { timeoutMs: 120_000 },
    );
    log(`flood: status ${flood.status}`);
    await waitFor(() => /status=6 \(recording: disk full/.test(host.journal().slice(mark)), 60_000, 'the disk-full end line');
    const session = /user=alice container=ssh-bastion-([0-9a-f]{24}) duration=\d+s status=6 \(recording: disk full/.exec(
      host.journal().slice(mark),
    )![1];
    await waitFor(
      () => host.journal().includes(`session recording stored: s3://${BUCKET}/`) && host.journal().includes(`${session}-alice.cast`),
      60_000,
      'the stored recording',
    );
    // Full: a new session is refused before anything of it runs.
    await host.must(['fallocate', '-l', '56M', path.join(smallSpool, 'filler')]);
    mark = host.journal().length;
    const refused = await host.ssh({ user: 'alice', key, port: SMALL_DISK_PORT, command: 'echo should-not-run' });
    expect(refused.stdout).not.toContain('should-not-run');
    expect(refused.status).toBe(255);
    await waitFor(
      () => /session end client=\S+ user=- container=\S+ duration=\d+s status=6 \(recording: disk full/.test(host.journal().slice(mark)),
      20_000,
      'the refusal',
    );
  });
});
