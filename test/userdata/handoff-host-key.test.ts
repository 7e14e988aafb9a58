// session serves the private host key to the session's sshd once, through a FIFO in the session's
// directory, unlinked before the key is written (serve_key, from follow). Run for real: the host's
// session program, the worker's receive-connection, and in place of sshd a Python stand-in that
// reads the FIFO as sshd reads a HostKey (see session-standalone.ts for what stands in for docker
// and the front, which starts the container before session gets its connection).
import * as fs from 'fs';
import * as path from 'path';
import { KEY_TEXT, readAll, runSession } from './session-standalone';
import { WORKER_DIR, temporaryDir } from './userdata-tree';

const RECEIVER = ['perl', path.join(WORKER_DIR, 'receive-connection')];

let scratch: ReturnType<typeof temporaryDir>;
beforeEach(() => {
  scratch = temporaryDir('handoff-key-');
});
afterEach(() => scratch.remove());

// sshd's part: opens the key where the container sees it (the session directory's FIFO) and
// reads it to its end; looks whether the name is still there once the first byte came, and tries
// the path again as sshd does for the public key. Reports on the connection (its stdout).
const READER = String.raw`import json, os, stat, sys
fifo = os.path.join(os.environ["FAKE_HANDOFF_DIR"], "ssh_host_ed25519_key")
mode = os.stat(fifo).st_mode
report = {"fifo": stat.S_ISFIFO(mode), "mode": oct(mode & 0o777)}
fd = os.open(fifo, os.O_RDONLY)
data = os.read(fd, 1)
report["name_at_first_byte"] = "present" if os.path.lexists(fifo) else "gone"
while True:
    chunk = os.read(fd, 4096)
    if not chunk:
        break
    data += chunk
os.close(fd)
report["key"] = data.decode()
try:
    os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    report["second_open"] = "opened"
except FileNotFoundError:
    report["second_open"] = "ENOENT"
sys.stdout.write(json.dumps(report) + "\n")
`;

test('the key goes through the FIFO once; its name is gone before the reader has the first byte of the key', async () => {
  // A key larger than a pipe holds (64 KiB): session's write cannot be over when the first byte
  // arrives, so the name's state then says whether it was unlinked before the write, not after.
  const key = KEY_TEXT.replace('only its bytes matter here\n', 'only its bytes matter here\n'.repeat(8192));
  const {
    client,
    container: c,
    ended,
  } = await runSession(scratch.dir, { receiver: RECEIVER, command: ['python3', '-c', READER], hostKey: key });
  const [reply, end] = await Promise.all([readAll(client, 20_000), ended]);
  expect(reply.closed).toBe(true);
  const { key: read, ...report } = JSON.parse(reply.data);
  expect(report).toEqual({ fifo: true, mode: '0o600', name_at_first_byte: 'gone', second_open: 'ENOENT' });
  expect(read.length).toBe(key.length);
  expect(read === key).toBe(true); // (not toEqual: no diff of 200 KiB)
  expect(end.containerOutput).toBe('');
  expect(end.log).toMatch(new RegExp(` container=${c} duration=\\d+s status=0 \\(ended\\)\n$`));
  expect(end.status).toBe(0);
}, 30_000);

test('the session ends with status 4 and takes the container with it when sshd does not open the key in time', async () => {
  // takes the connection (and the log pipe), never opens the FIFO
  const {
    client,
    clientPort,
    container: c,
    sessionDir,
    record,
    ended,
  } = await runSession(scratch.dir, { receiver: RECEIVER, command: ['sleep', '30'], hostKeySeconds: 1 });
  const [reply, end] = await Promise.all([readAll(client, 20_000), ended]);
  expect(end.log).toMatch(
    new RegExp(
      `\nssh-bastion: session: session end client=127\\.0\\.0\\.1:${clientPort} user=- container=${c} duration=\\d+s status=4 \\(sshd did not read the host key within 1s\\)\n$`,
    ),
  );
  expect(reply).toMatchObject({ closed: true, data: '' });
  expect(reply.ms).toBeGreaterThanOrEqual(1000);
  expect(reply.ms).toBeLessThan(10_000);
  // removed, not waited for: docker rm -f, which ended the sleeping "sshd" and with it the connection
  expect(end.dockerCalls).toEqual([['rm', '-f', c]]);
  expect(end.containerLeft).toBe(false);
  expect(end.keys).toEqual([`OPEN ${c}`, `CLOSE ${c}`]);
  expect(fs.existsSync(sessionDir)).toBe(false);
  expect(fs.existsSync(record)).toBe(false);
  expect(end.status).toBe(0);
}, 30_000);

test("a container that is gone before its sshd opened the key (a client that closed at once) ends its session at once, not after the key's time", async () => {
  const {
    client,
    container: c,
    sessionDir,
    record,
    ended,
  } = await runSession(scratch.dir, { receiver: RECEIVER, command: ['true'], hostKeySeconds: 60 });
  const [reply, end] = await Promise.all([readAll(client, 20_000), ended]);
  expect(reply.closed).toBe(true);
  expect(reply.ms).toBeLessThan(10_000);
  expect(end.log).toMatch(new RegExp(` user=- container=${c} duration=\\d+s status=0 \\(ended\\)\n$`));
  // ended by itself: session only looked whether it was gone
  expect(end.dockerCalls).toEqual([['container', 'inspect', c]]);
  expect(fs.existsSync(sessionDir)).toBe(false);
  expect(fs.existsSync(record)).toBe(false);
}, 30_000);
