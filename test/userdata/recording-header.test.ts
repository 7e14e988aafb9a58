// The host's session program keeps a recording's header line within its 1 KiB, whatever a recorder
// sends as TERM and whatever the title holds: its header is rewritten in place at the end, and a
// longer one would overwrite the events after it. The real program's Recording class (loaded from
// the file the bundle ships), with a real spool and listening socket in a scratch folder, is given a
// recorder's header frame with a 100 KB TERM of any bytes (as anything connecting as the recorder
// could send), events, then a user whose title takes more than 1 KiB as JSON.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SESSION } from './session-standalone';

const PROGRAM = `
import importlib.machinery, importlib.util, json, socket, sys
loader = importlib.machinery.SourceFileLoader("session", sys.argv[1])
spec = importlib.util.spec_from_loader("session", loader)
session = importlib.util.module_from_spec(spec)
loader.exec_module(session)
recording = session.Recording(sys.argv[2], "ssh-bastion-" + "ab" * 12, "host")
stream = session.Stream(socket.socket(socket.AF_UNIX), 1)
term = "xterm-" + "a" * 100000 + "\\u00e9\\x1b]0;\\"}"
recording.frame(stream, b"h", "\\t".join(["1", "80", "24", term, ""]).encode())
for n in range(3):
    recording.frame(stream, b"o", f"EVENT-{n}\\r\\n".encode())
recording.frame(stream, b"e", b"0")
recording.set_user(sys.argv[3])
recording.close()
print(recording.spool_path)
`;

test("a recorder's 100 KB TERM and a title past 1 KiB leave the header within its place and the events whole", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recording-header-'));
  try {
    const sessionDir = path.join(dir, 'session');
    fs.mkdirSync(sessionDir);
    // 300 characters of 4 bytes each: 1200 bytes in the title alone
    const user = '\u{1F600}'.repeat(300);
    const run = spawnSync('python3', ['-I', '-B', '-c', PROGRAM, SESSION, sessionDir, user], {
      env: { PATH: process.env.PATH!, STATE_DIRECTORY: path.join(dir, 'spool') },
      encoding: 'utf-8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = fs.readFileSync(run.stdout.trim(), 'utf-8').split('\n');
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
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a recorder's TERM is kept sanitised and to 64 characters", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recording-header-'));
  try {
    const sessionDir = path.join(dir, 'session');
    fs.mkdirSync(sessionDir);
    const run = spawnSync('python3', ['-I', '-B', '-c', PROGRAM, SESSION, sessionDir, 'alice'], {
      env: { PATH: process.env.PATH!, STATE_DIRECTORY: path.join(dir, 'spool') },
      encoding: 'utf-8',
    });
    expect(run.stderr).toBe('');
    const header = JSON.parse(fs.readFileSync(run.stdout.trim(), 'utf-8').split('\n')[0]);
    expect(header.env.TERM).toBe(`xterm-${'a'.repeat(58)}`);
    expect(header.title).toBe(`session ${'ab'.repeat(12)} of alice on host`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
