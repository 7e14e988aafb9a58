// The hand-off of a connection from the host to a session container, run for real on loopback
// without docker: the host's handoff (python3) holds an accepted TCP connection as its stdin, the
// worker's receive-connection (perl) connects to its socket, receives the connection and the log
// pipe, and execs a command in place of sshd. docker only adds the bind mount of the directory.
// receive-connection calls recvmsg(2) by its number with hand-packed structures, so it also runs
// as arm64 (Graviton) code: the arm64 Debian Perl under qemu-user.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { QEMU_AARCH64, arm64Root } from '../helpers/arm64-root';
import { HOST_DIR, WORKER_DIR, temporaryDir, writeFile } from './userdata-tree';

const HANDOFF = path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion/handoff');
const RECEIVE = path.join(WORKER_DIR, 'receive-connection');

let scratch: ReturnType<typeof temporaryDir>;
beforeEach(() => {
  scratch = temporaryDir('handoff-');
});
afterEach(() => scratch.remove());

interface Exit {
  status: number | null;
  stdout: string;
  stderr: string;
}

function exited(child: ChildProcess): Promise<Exit> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/**
 * Accepts one TCP connection on loopback and runs handoff with it as stdin, as systemd runs the
 * session (this process keeps no copy, as systemd keeps none); returns the client's end, handoff's
 * exit and what arrives on the log pipe until every holder of its write end has closed it.
 */
async function acceptedBy(
  socketPath: string,
  seconds: string,
): Promise<{ client: net.Socket; handoff: Promise<Exit>; log: Promise<string>; listening: Promise<string>; containerStarted: () => void }> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const connection = await accepted;
  server.close();
  // fd 3: the write end of sshd's log, which the session wrapper reads (here: this process); its
  // first line is handoff's word that it listens, on which the wrapper starts the container;
  // fd 4: closed by the wrapper once docker run has returned (here: containerStarted())
  const child = spawn('python3', [HANDOFF, socketPath, seconds], { stdio: [connection, 'pipe', 'pipe', 'pipe', 'pipe'] });
  const handoff = exited(child);
  let logText = '';
  const logStream = child.stdio[3] as net.Socket;
  let saidListening: (line: string) => void = () => undefined;
  const listening = new Promise<string>((resolve) => (saidListening = resolve));
  logStream.on('data', (d) => {
    logText += d;
    if (logText.includes('\n')) saidListening(logText.slice(0, logText.indexOf('\n') + 1));
  });
  logStream.on('close', () => saidListening(logText));
  const log = new Promise<string>((resolve) => logStream.on('close', () => resolve(logText)));
  connection.destroy();
  const started = child.stdio[4] as net.Socket;
  return { client, handoff, log, listening, containerStarted: () => started.end() };
}

/** Everything the client reads until the connection closes, and whether it closed. */
function readAll(client: net.Socket, timeoutMs: number): Promise<{ data: string; closed: boolean }> {
  let data = '';
  client.on('data', (d) => (data += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ data, closed: false }), timeoutMs);
    client.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closed: true });
    });
  });
}

/** How to run receive-connection: this machine's Perl, or arm64 Perl under qemu-user. */
const RECEIVERS: [string, () => string[]][] = [
  ['x86_64 (this machine)', () => ['perl', RECEIVE]],
  ['arm64 (qemu-user)', () => {
    const root = arm64Root();
    // -L: absolute paths the guest opens resolve in the arm64 root first (Perl's modules)
    return [QEMU_AARCH64, '-L', root, path.join(root, 'usr/bin/perl'), RECEIVE];
  }],
];

beforeAll(() => {
  arm64Root();
}, 600_000);

test.each(RECEIVERS)('%s: the command runs on the connection itself, its stderr reaches handoff, and the connection closes when it exits', async (_arch, receiver) => {
  const socketPath = path.join(scratch.dir, 'handoff.sock');
  // (the container connects before docker run has returned, as it usually does: fd 4 stays open)
  const { client, handoff, log, listening } = await acceptedBy(socketPath, '20');
  // the wrapper starts the container once handoff says it listens
  expect(await listening).toBe('listening\n');
  expect(fs.statSync(socketPath).isSocket()).toBe(true);
  // fd 0 and 1 of the command are the TCP socket itself (no pipe in between); it echoes one line.
  // (A script outside the arm64 root: it runs natively once exec'd, whatever ran the receiver.)
  const command = path.join(scratch.dir, 'command');
  writeFile(command, '#!/bin/bash\nread -r line; echo "got $line"; readlink /proc/$$/fd/0 /proc/$$/fd/1; echo "log line of $line" >&2\n', 0o755);
  const [program, ...args] = receiver();
  const received = exited(spawn(program, [...args, socketPath, command], { stdio: ['ignore', 'pipe', 'pipe'] }));
  client.write('ping\n');
  const reply = await readAll(client, 30_000);
  const [result, done, logText] = await Promise.all([received, handoff, log]);

  // handoff is gone before the session is over: it only passed the two descriptors on
  expect(done).toEqual({ status: 0, stdout: '', stderr: '' });
  expect(result).toEqual({ status: 0, stdout: '', stderr: '' });
  expect(reply.closed).toBe(true);
  const [got, fd0, fd1] = reply.data.trim().split('\n');
  expect(got).toBe('got ping');
  expect(fd0).toMatch(/^socket:\[\d+\]$/);
  expect(fd1).toBe(fd0);
  expect(logText).toBe('listening\nlog line of ping\n');
  expect(fs.existsSync(socketPath)).toBe(false);
}, 60_000);

test('under qemu-user, the receiver really is arm64 Perl', () => {
  const [program, ...args] = RECEIVERS[1][1]();
  const result = spawnSync(program, [...args.slice(0, -1), '-MConfig', '-e', 'print $Config{archname}'], { encoding: 'utf8' });
  expect(result.stdout).toMatch(/^aarch64-linux/);
});

test('handoff exits 3 and says so when no container connects in time after docker run returned; the client is disconnected', async () => {
  const socketPath = path.join(scratch.dir, 'handoff.sock');
  const { client, handoff, listening, containerStarted } = await acceptedBy(socketPath, '0.5');
  expect(await listening).toBe('listening\n');
  // docker run still running (a busy host queues container starts): the time does not count yet
  let ended = false;
  void handoff.then(() => (ended = true));
  await new Promise((r) => setTimeout(r, 2000));
  expect(ended).toBe(false);
  const startedAt = Date.now();
  containerStarted();
  const [done, reply] = await Promise.all([handoff, readAll(client, 10_000)]);
  const waitedMs = Date.now() - startedAt;
  expect(waitedMs).toBeGreaterThanOrEqual(450);
  expect(waitedMs).toBeLessThan(5000);
  expect(done.status).toBe(3);
  expect(done.stderr).toBe('ssh-bastion: handoff: no container took the connection within 0.5s\n');
  expect(reply.closed).toBe(true);
  expect(fs.existsSync(socketPath)).toBe(false);
});

test('receive-connection refuses a hand-off without the two descriptors', () => {
  const socketPath = path.join(scratch.dir, 'handoff.sock');
  const fakeHost = `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
peer, _ = s.accept()
socket.send_fds(peer, [b"C"], [0])
`;
  const host = spawn('python3', ['-c', fakeHost, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise<void>((resolve, reject) => {
    host.stdout!.once('data', () => {
      const result = spawnSync('perl', [RECEIVE, socketPath, 'echo', 'must not run'], { encoding: 'utf8', timeout: 15_000 });
      try {
        expect(result.status).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toBe('ssh-bastion: receive-connection: the hand-off message did not carry exactly two descriptors\n');
        resolve();
      } catch (e) {
        reject(e);
      } finally {
        host.kill();
      }
    });
  });
});

test('receive-connection gives up after its connect timeout when nobody listens, naming the socket', () => {
  const socketPath = path.join(scratch.dir, 'handoff.sock');
  const started = Date.now();
  const result = spawnSync('perl', [RECEIVE, socketPath, 'echo', 'must not run'], { encoding: 'utf8', timeout: 30_000 });
  expect(result.status).toBe(1);
  expect(result.stderr).toBe(`ssh-bastion: receive-connection: cannot connect to ${socketPath}: No such file or directory\n`);
  expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
}, 30_000);

test('without the hand-off directory (docker run -i by hand) the command runs on stdin/stdout as they are', () => {
  const result = spawnSync('perl', [RECEIVE, '/nonexistent/handoff.sock', 'cat'], { input: 'as is\n', encoding: 'utf8' });
  expect(result).toMatchObject({ status: 0, stdout: 'as is\n', stderr: '' });
});

test('receive-connection names the problem when called without a command', () => {
  const result = spawnSync('perl', [RECEIVE, '/run/x.sock'], { encoding: 'utf8' });
  expect(result).toMatchObject({ status: 1, stderr: 'ssh-bastion: receive-connection: usage: receive-connection <socket> <command> [args...]\n' });
});
