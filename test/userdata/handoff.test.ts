// The hand-off of a connection from the host to a session container, run for real on loopback
// without docker: a stand-in for the front starts the "container" as front does (its directories,
// the hand-off socket listening in its session directory, then the worker's receive-connection,
// perl, on that socket) and hands the host's session program (python3, with its settings from
// with-settings) the accepted TCP connection and the container's hand-off connection; session
// hands the connection and the log pipe on to receive-connection, which execs a command in place
// of sshd. Real docker only adds the bind mount of the directory (the e2e suite runs session with
// it and the real front; see session-standalone.ts).
// receive-connection calls recvmsg(2) by its number with hand-packed structures (recv_fds), so it
// also runs as arm64 (Graviton) code: the arm64 Debian Perl under qemu-user.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { QEMU_AARCH64, arm64Root } from '../helpers/arm64-root';
import { containerName, readAll, runSession } from './session-standalone';
import { WORKER_DIR, temporaryDir } from './userdata-tree';

const RECEIVE = path.join(WORKER_DIR, 'receive-connection');
const RECEIVER = ['perl', RECEIVE];

let scratch: ReturnType<typeof temporaryDir>;
beforeEach(() => {
  scratch = temporaryDir('handoff-');
});
afterEach(() => scratch.remove());

/** How to run receive-connection: this machine's Perl, or arm64 Perl under qemu-user. */
const RECEIVERS: [string, () => string[]][] = [
  ['x86_64 (this machine)', () => ['perl', RECEIVE]],
  [
    'arm64 (qemu-user)',
    () => {
      const root = arm64Root();
      // -L: absolute paths the guest opens resolve in the arm64 root first (Perl's modules)
      return [QEMU_AARCH64, '-L', root, path.join(root, 'usr/bin/perl'), RECEIVE];
    },
  ],
];

beforeAll(() => {
  arm64Root();
}, 600_000);

// In place of sshd (this machine's Python: once exec'd it runs natively, whatever ran the
// receiver): answers one line on fds 0/1, says what fds 0, 1 and 2 are and whose connection fd 0
// is; then lets go of the connection and, once the test saw the client's end (argv[1] exists),
// writes sshd-like lines to fd 2 (the log) and exits.
const COMMAND = String.raw`import os, socket, sys, time
line = sys.stdin.readline().strip()
connection = socket.socket(fileno=os.dup(0))
peer_port = connection.getpeername()[1]
connection.close()
fds = " ".join(os.readlink(f"/proc/self/fd/{n}") for n in (0, 1, 2))
sys.stdout.write(f"got {line}\n{fds} {peer_port}\n")
sys.stdout.flush()
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 0)
os.dup2(null, 1)
deadline = time.monotonic() + 20
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.05)
sys.stderr.write(f"Accepted publickey for alice from 127.0.0.1 port 50000 ssh2\nlog line of {line}\n")
`;

test.each(RECEIVERS)(
  "%s: session hands over the connection and the log pipe; the command runs on the client connection itself, its stderr reaches session's log, and nobody else keeps the connection",
  async (_arch, receiver) => {
    const release = path.join(scratch.dir, 'release');
    const {
      client,
      clientPort,
      container: c,
      sessionDir,
      keysSessionDir,
      record,
      ended,
    } = await runSession(scratch.dir, { receiver: receiver(), command: ['python3', '-c', COMMAND, release] });
    client.write('ping\n');
    // the command let go of fds 0 and 1: the client sees the end while session and the command still run
    const reply = await readAll(client, 20_000);
    // meanwhile session-stop could find the session's container by the unit's instance name
    const recorded = fs.existsSync(record) ? fs.readFileSync(record, 'utf8') : 'no record';
    fs.writeFileSync(release, '');
    const end = await ended;

    expect(reply.closed).toBe(true);
    const [got, fds] = reply.data.trim().split('\n');
    expect(got).toBe('got ping');
    // fds 0 and 1: the client's TCP connection itself (no pipe in between); fd 2: the log pipe
    const [fd0, fd1, fd2, peerPort] = fds.split(' ');
    expect(fd0).toMatch(/^socket:\[\d+\]$/);
    expect(fd1).toBe(fd0);
    expect(fd2).toMatch(/^pipe:\[\d+\]$/);
    expect(Number(peerPort)).toBe(clientPort);
    expect(recorded).toBe(`${c}\n`);

    const lines = end.log.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      `ssh-bastion: session: session start client=127.0.0.1:${clientPort} container=${c}`,
      `ssh-bastion: ${c}: Accepted publickey for alice from 127.0.0.1 port 50000 ssh2`,
      `ssh-bastion: ${c}: log line of ping`,
    ]);
    expect(lines[3]).toMatch(
      new RegExp(
        `^ssh-bastion: session: session end client=127\\.0\\.0\\.1:${clientPort} user=alice container=${c} duration=\\d+s status=0 \\(ended\\)$`,
      ),
    );
    expect(lines).toHaveLength(4);
    // the same steps as audit events, in order, to the audit shipper's socket
    expect(end.audit.map((e) => e.event)).toEqual(['session.start', 'auth', 'session.end']);
    expect(end.audit[1]).toEqual(
      expect.objectContaining({ result: 'accepted', user: 'alice', client: `127.0.0.1:${clientPort}`, container: c }),
    );
    expect(end.status).toBe(0);
    // the front's connection carried nothing back; it ended with session
    expect(end.sentBack).toBe('');
    // the session's key lookup socket: opened first, closed once sshd accepted a key
    expect(end.keys).toEqual([`OPEN ${c}`, `CLOSE ${c}`]);
    // receive-connection said nothing of its own
    expect(end.containerOutput).toBe('');
    // session starts no container: it only saw that this one had ended by itself
    expect(end.dockerCalls).toEqual([['container', 'inspect', c]]);
    expect(end.containerLeft).toBe(false);
    // the container's directories (the key FIFO in one) and the record are gone with the session
    expect(fs.existsSync(sessionDir)).toBe(false);
    expect(fs.existsSync(keysSessionDir)).toBe(false);
    expect(fs.existsSync(record)).toBe(false);
  },
  60_000,
);

test('under qemu-user, the receiver really is arm64 Perl', () => {
  const [program, ...args] = RECEIVERS[1][1]();
  const result = spawnSync(program, [...args.slice(0, -1), '-MConfig', '-e', 'print $Config{archname}'], { encoding: 'utf8' });
  expect(result.stdout).toMatch(/^aarch64-linux/);
});

test('a container that went away after it was ready (its hand-off connection closed) ends the session with status 3 at once; the client is disconnected and the container removed', async () => {
  const {
    client,
    clientPort,
    container: c,
    sessionDir,
    keysSessionDir,
    record,
    ended,
  } = await runSession(scratch.dir, { receiver: RECEIVER, containerGone: true, command: ['sleep', '30'] });
  const [end, reply] = await Promise.all([ended, readAll(client, 20_000)]);

  expect(reply).toMatchObject({ closed: true, data: '' });
  expect(reply.ms).toBeLessThan(5000);
  const lines = end.log.trimEnd().split('\n');
  expect(lines).toEqual([
    `ssh-bastion: session: session start client=127.0.0.1:${clientPort} container=${c}`,
    expect.stringMatching(
      new RegExp(
        `^ssh-bastion: session: session end client=127\\.0\\.0\\.1:${clientPort} user=- container=${c} duration=\\d+s status=3 \\(the container did not take the connection \\(Broken pipe\\)\\)$`,
      ),
    ),
  ]);
  expect(end.status).toBe(0);
  expect(end.keys).toEqual([`OPEN ${c}`, `CLOSE ${c}`]);
  // not waited for: removed at once
  expect(end.dockerCalls).toEqual([['rm', '-f', c]]);
  expect(fs.existsSync(sessionDir)).toBe(false);
  expect(fs.existsSync(keysSessionDir)).toBe(false);
  expect(fs.existsSync(record)).toBe(false);
}, 30_000);

test('a session whose key lookup socket did not open ends with status 5 before anything reaches the container; the client is disconnected and the container removed', async () => {
  const {
    client,
    clientPort,
    container: c,
    sessionDir,
    record,
    ended,
  } = await runSession(scratch.dir, { receiver: RECEIVER, keysAnswer: 'ERR no such thing\n', command: ['echo', 'must not run'] });
  const [end, reply] = await Promise.all([ended, readAll(client, 20_000)]);

  expect(reply).toMatchObject({ closed: true, data: '' });
  expect(reply.ms).toBeLessThan(5000);
  expect(end.log).toMatch(
    new RegExp(
      `\nssh-bastion: session: session end client=127\\.0\\.0\\.1:${clientPort} user=- container=${c} duration=\\d+s status=5 \\(the key lookup did not open the session's socket\\)\n$`,
    ),
  );
  // no CLOSE: nothing was opened
  expect(end.keys).toEqual([`OPEN ${c}`]);
  expect(end.dockerCalls).toEqual([['rm', '-f', c]]);
  // receive-connection was still waiting (nothing was handed to it) when docker rm -f ended it
  expect(end.containerOutput).toBe('');
  expect(end.containerLeft).toBe(false);
  expect(fs.existsSync(sessionDir)).toBe(false);
  expect(fs.existsSync(record)).toBe(false);
}, 30_000);

const VALID = containerName();
const NO_NAME = "ssh-bastion: session: no session: the front's hand-on failed (the front sent no container name)\n";
// The front is the only peer of the session socket (root, mode 0600), but the name it sends
// becomes paths (the session's directories, removed with rm -rf) and docker arguments: session
// takes only what front makes, ssh-bastion- and 24 lowercase hex digits. [what, name, session's
// log (undefined: not checked beyond that no session started)]
const HOSTILE_NAMES: [string, unknown, string | undefined][] = [
  ['23 hex digits', VALID.slice(0, -1), NO_NAME],
  ['25 hex digits', `${VALID}0`, NO_NAME],
  ['upper-case hex digits', VALID.toUpperCase().replace('SSH-BASTION-', 'ssh-bastion-'), NO_NAME],
  ['a path out of the sessions directory', '../../../etc', NO_NAME],
  ['a valid name followed by a path', `${VALID}/../../../etc`, NO_NAME],
  ['a valid name followed by a newline', `${VALID}\n`, NO_NAME],
  ['a valid name followed by a docker option', `${VALID} --privileged`, NO_NAME],
  ['an empty name', '', NO_NAME],
  ['missing', undefined, "ssh-bastion: session: no session: the front's hand-on failed (KeyError: 'container')\n"],
  // (session ends with a Python traceback here, not its one-line refusal)
  ['a number', 42, undefined],
  ['null', null, undefined],
];

test.each(HOSTILE_NAMES)(
  'session refuses a hand-on whose container name is %s: no record, no key lookup socket, no docker call, nothing for the container; exit 1',
  async (_what, name, log) => {
    const { client, container, sessionDir, record, ended } = await runSession(scratch.dir, {
      receiver: RECEIVER,
      command: ['echo', 'must not run'],
      about: { container: name },
    });
    const [end, reply] = await Promise.all([ended, readAll(client, 20_000)]);

    expect(end.status).toBe(1);
    if (log !== undefined) expect(end.log).toBe(log);
    expect(end.log).not.toContain('session start');
    expect(end.keys).toEqual([]);
    expect(end.dockerCalls).toEqual([]);
    expect(fs.existsSync(record)).toBe(false);
    expect(fs.existsSync(path.dirname(record))).toBe(false);
    // session made nothing in the (real) container's directory, and nothing was handed to it: its
    // receive-connection saw the hand-off connection close when session exited
    expect(fs.readdirSync(sessionDir)).toEqual([]);
    expect(end.containerOutput).toBe('ssh-bastion: receive-connection: the host closed the hand-off socket without sending anything\n');
    expect(container).toMatch(/^ssh-bastion-[0-9a-f]{24}$/);
    // the client's connection closed with session: nobody else held it
    expect(reply).toMatchObject({ closed: true, data: '' });
    expect(reply.ms).toBeLessThan(5000);
  },
  30_000,
);

// session always sends two descriptors: a broken host is played by Python.
const BROKEN_HOST = `import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
print("listening", flush=True)
peer, _ = s.accept()
count = int(sys.argv[2])
if count < 0:
    peer.close()
    sys.exit(0)
fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(count)]
if fds:
    socket.send_fds(peer, [b"C"], fds)
else:
    peer.send(b"C")
peer.recv(1)
`;

const REFUSALS: [string, number, string][] = [
  ['a message without descriptors', 0, 'the hand-off message did not carry exactly two descriptors'],
  ['a message with one descriptor', 1, 'the hand-off message did not carry exactly two descriptors'],
  ['a message with three descriptors', 3, 'the hand-off message did not carry exactly two descriptors'],
  ['no message (the host closed)', -1, 'the host closed the hand-off socket without sending anything'],
];

test.each(
  RECEIVERS.flatMap(([arch, receiver]) => REFUSALS.map(([what, count, message]) => [arch, what, count, message, receiver] as const)),
)(
  '%s: receive-connection refuses %s and runs nothing',
  async (_arch, _what, count, message, receiver) => {
    const socketPath = path.join(scratch.dir, 'handoff.sock');
    const host = spawn('python3', ['-c', BROKEN_HOST, socketPath, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => host.stdout!.once('data', resolve));
      const [program, ...args] = receiver();
      const result = spawnSync(program, [...args, socketPath, 'echo', 'must not run'], { encoding: 'utf8', timeout: 15_000 });
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`ssh-bastion: receive-connection: ${message}\n`);
      expect(result.status).toBe(1);
    } finally {
      host.kill();
    }
  },
  30_000,
);

test('receive-connection gives up after its connect timeout when nobody listens, naming the socket', () => {
  const socketPath = path.join(scratch.dir, 'handoff.sock');
  const started = Date.now();
  const result = spawnSync('perl', [RECEIVE, socketPath, 'echo', 'must not run'], { encoding: 'utf8', timeout: 30_000 });
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(`ssh-bastion: receive-connection: cannot connect to ${socketPath}: No such file or directory\n`);
  expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
}, 30_000);

test('without the hand-off directory (docker run -i by hand) the command runs on stdin/stdout as they are', () => {
  const result = spawnSync('perl', [RECEIVE, '/nonexistent/handoff.sock', 'cat'], { input: 'as is\n', encoding: 'utf8' });
  expect(result).toMatchObject({ status: 0, stdout: 'as is\n', stderr: '' });
});

test('receive-connection names the problem when called without a command', () => {
  const result = spawnSync('perl', [RECEIVE, '/run/x.sock'], { encoding: 'utf8' });
  expect(result).toMatchObject({
    status: 1,
    stderr: 'ssh-bastion: receive-connection: usage: receive-connection <socket> <command> [args...]\n',
  });
});
