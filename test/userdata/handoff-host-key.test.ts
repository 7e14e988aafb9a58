// handoff serves the private host key to the session's sshd once, through a FIFO beside its
// socket, unlinked before the key is written: run for real (python3 handoff, a python3 stand-in
// for the container that receives the connection and then reads the FIFO as sshd does).
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { HOST_DIR, temporaryDir, writeFile } from './userdata-tree';

const HANDOFF = path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion/handoff');
const KEY_TEXT = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key, only its bytes matter here\n-----END OPENSSH PRIVATE KEY-----\n';

let scratch: ReturnType<typeof temporaryDir>;
beforeEach(() => {
  scratch = temporaryDir('handoff-key-');
});
afterEach(() => scratch.remove());

/** Exit status and output; not 'close', which also waits for the log pipe that handoff passed on. */
function exited(child: ChildProcess): Promise<{ status: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const ended = (stream: NodeJS.ReadableStream | null) => new Promise<void>((resolve) => (stream ? stream.on('end', resolve) : resolve()));
  const status = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return Promise.all([status, ended(child.stdout), ended(child.stderr)]).then(([code]) => ({ status: code, stdout, stderr }));
}

/** Starts handoff with a key file; resolves once it listens. fd 4 is closed at once (docker run returned). */
async function startHandoff(seconds: string) {
  const socketPath = path.join(scratch.dir, 'handoff.sock');
  const key = path.join(scratch.dir, 'host_key');
  writeFile(key, KEY_TEXT, 0o600);
  const child = spawn('python3', [HANDOFF, socketPath, seconds, key], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
  const done = exited(child);
  await new Promise<void>((resolve) => (child.stdio[3] as net.Socket).once('data', () => resolve()));
  (child.stdio[4] as net.Socket).end();
  return { socketPath, fifo: path.join(scratch.dir, 'ssh_host_ed25519_key'), done };
}

// The container's side: takes the two descriptors, then reads the key as sshd reads a HostKey
// (open, read to the end), then looks at the path again as sshd does for the public key.
const CONTAINER = `import json, os, socket, stat, sys
sock_path, fifo = sys.argv[1], sys.argv[2]
report = {"fifo_before": stat.S_ISFIFO(os.stat(fifo).st_mode), "mode": oct(os.stat(fifo).st_mode & 0o777)}
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
_, fds, _, _ = socket.recv_fds(s, 16, 2)
report["descriptors"] = len(fds)
fd = os.open(fifo, os.O_RDONLY)
data = b""
while True:
    chunk = os.read(fd, 4096)
    if not chunk:
        break
    data += chunk
report["key"] = data.decode()
try:
    os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    report["second_open"] = "opened"
except FileNotFoundError:
    report["second_open"] = "ENOENT"
print(json.dumps(report))
`;

test('the key goes through the FIFO once; its name is gone before the reader sees the end of the key', async () => {
  const { socketPath, fifo, done } = await startHandoff('20');
  const container = exited(spawn('python3', ['-c', CONTAINER, socketPath, fifo], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const [handoff, reader] = await Promise.all([done, container]);
  expect(reader.stderr).toBe('');
  expect(JSON.parse(reader.stdout)).toEqual({ fifo_before: true, mode: '0o600', descriptors: 2, key: KEY_TEXT, second_open: 'ENOENT' });
  expect(handoff).toEqual({ status: 0, stdout: '', stderr: '' });
  expect(fs.existsSync(fifo)).toBe(false);
});

test('handoff exits 4 and removes the FIFO when nothing reads the key in time', async () => {
  const { socketPath, fifo, done } = await startHandoff('0.5');
  // takes the connection, never opens the FIFO
  const taker = spawn('python3', ['-c', 'import socket, sys, time\ns = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); socket.recv_fds(s, 16, 2); time.sleep(30)', socketPath], { stdio: 'ignore' });
  try {
    const handoff = await done;
    expect(handoff.status).toBe(4);
    expect(handoff.stderr).toBe('ssh-bastion: handoff: sshd did not read the host key within 0.5s\n');
    expect(fs.existsSync(fifo)).toBe(false);
  } finally {
    taker.kill();
  }
});
