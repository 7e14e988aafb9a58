// The host's session program keeps a recording's header line within its 1 KiB, whatever a recorder
// sends as TERM and whatever the title holds: its header is rewritten in place at the end, and a
// longer one would overwrite the events after it. The real program's Recording class (loaded from
// the file the bundle ships), with a real spool on a tmpfs of its own and a listening socket in a
// scratch folder, is given a recorder's header frame with a 100 KB TERM of any bytes (as anything
// connecting as the recorder could send), events, then a user whose title takes more than 1 KiB as
// JSON.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SESSION } from './session-standalone';
import { loadHostProgram } from '../helpers/host-program';

const PROGRAM = `
import json, socket, sys
${loadHostProgram('session', 'session')}
recording = session.Recording(sys.argv[2], "ssh-bastion-" + "ab" * 12, "host")
stream = session.Stream(socket.socket(socket.AF_UNIX), 1)
term = "xterm-" + "a" * 100000 + "\\u00e9\\x1b]0;\\"}"
recording.frame(stream, b"h", "\\t".join(["1", "80", "24", term, ""]).encode())
for n in range(3):
    recording.frame(stream, b"o", f"EVENT-{n}\\r\\n".encode())
recording.frame(stream, b"e", b"0")
recording.set_user(sys.argv[3])
recording.close()
with open(recording.spool_path, encoding="utf-8") as cast:
    sys.stdout.write(cast.read())
`;

/**
 * Runs PROGRAM as root in a mount namespace of its own, its spool on a 16 MiB tmpfs: the program
 * refuses to record on a file system with less than a fifth free, which says nothing of the machine
 * the test runs on. Gives the recording it wrote.
 */
function record(user: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recording-header-'));
  try {
    const sessionDir = path.join(dir, 'session');
    const spool = path.join(dir, 'spool');
    fs.mkdirSync(sessionDir);
    fs.mkdirSync(spool, { mode: 0o700 });
    const mountAndRun = 'mount -t tmpfs -o size=16m,mode=0700 tmpfs "$1" && shift && exec python3 -I -B -c "$@"';
    return spawnSync('unshare', ['-m', 'sh', '-c', mountAndRun, 'sh', spool, PROGRAM, SESSION, sessionDir, user], {
      env: { PATH: process.env.PATH!, STATE_DIRECTORY: spool },
      encoding: 'utf-8',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("a recorder's 100 KB TERM and a title past 1 KiB leave the header within its place and the events whole", () => {
  // 300 characters of 4 bytes each: 1200 bytes in the title alone
  const run = record('\u{1F600}'.repeat(300));
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const lines = run.stdout.split('\n');
  expect(Buffer.byteLength(lines[0])).toBe(1023);
  const header = JSON.parse(lines[0]);
  expect(header.version).toBe(2);
  expect([...header.title]).toHaveLength(60);
  expect(header.title).toMatch(/^session (ab){12} of \u{1F600}+$/u);
  expect(lines.slice(1, -1).map((l) => JSON.parse(l).slice(1))).toEqual([
    ['m', 'channel 1 terminal'],
    ['o', 'EVENT-0\r\n'],
    ['o', 'EVENT-1\r\n'],
    ['o', 'EVENT-2\r\n'],
    ['m', 'channel 1 ended, status 0'],
  ]);
  expect(lines[lines.length - 1]).toBe('');
});

test("a recorder's TERM is kept sanitised and to 64 characters", () => {
  const run = record('alice');
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const header = JSON.parse(run.stdout.split('\n')[0]);
  expect(header.env.TERM).toBe(`xterm-${'a'.repeat(58)}`);
  expect(header.title).toBe(`session ${'ab'.repeat(12)} of alice on host`);
});
