// End to end: session recording. A user types commands in an interactive session of a host whose
// sessions are recorded; the recording appears in moto's S3 as one object named by the session and
// the user, parses as asciicast v2 and its output replays to what was typed (and what the shell
// answered); a session without a terminal is recorded as its command line. The MOTD says the session is recorded. Root in the container (sudo) killing the
// recorder ends the whole session, and what was recorded before is still stored.
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { BastionTestHost, Settings, testSettings, waitFor } from '../helpers/harness';
import { log, logEachTest } from './log';

const execFileAsync = promisify(execFile);
jest.setTimeout(240_000);
logEachTest();

const BUCKET = 'e2e-recordings';
const PORT = 2422;
let host: BastionTestHost;
let key = '';

/** The recordings in moto's S3: key, server-side encryption and body of each object. */
async function recordings(): Promise<{ key: string; sse: string; body: string }[]> {
  const code = `
import boto3, json, sys
s3 = boto3.client("s3")
out = []
for o in s3.list_objects_v2(Bucket=sys.argv[1]).get("Contents", []):
    got = s3.get_object(Bucket=sys.argv[1], Key=o["Key"])
    out.append({"key": o["Key"], "sse": got.get("ServerSideEncryption", ""), "body": got["Body"].read().decode()})
print(json.dumps(out))
`;
  const { stdout } = await execFileAsync('python3', ['-c', code, BUCKET], { env: { ...process.env, ...host.moto!.awsEnv() } });
  return JSON.parse(stdout);
}

/** An interactive login on a terminal (ssh -tt) that types `lines`, each after `pauseSeconds`. */
function typeInSession(
  lines: string[],
  pauseSeconds: number,
  holdSeconds = 2,
): Promise<{ status: number; stdout: string; stderr: string }> {
  const typing = lines.map((l) => `sleep ${pauseSeconds}; printf '%s\\n' ${shellQuote(l)}`).join('; ');
  const ssh = [
    'ssh',
    '-tt',
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
  ]
    .map(shellQuote)
    .join(' ');
  return host.run(['bash', '-c', `{ ${typing}; sleep ${holdSeconds}; } | ${ssh}`], { timeoutMs: 120_000 });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
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
  // A front and session unit of their own whose bastion.env turns recording on; the spool is the
  // unit's StateDirectory, here in the test's folder.
  const spool = path.join(host.dir, 'recordings-spool');
  await host.serveSessions(
    PORT,
    { ...testSettings(), BASTION_WORKER_BASE_IMAGE: host.baseImage, BASTION_RECORDING_BUCKET: BUCKET } as Settings,
    'recorded',
    undefined,
    { STATE_DIRECTORY: spool },
  );
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

  test('a session without a terminal: its command line is recorded, not its bytes', async () => {
    const before = (await recordings()).length;
    const result = await host.ssh({ user: 'alice', key, port: PORT, command: 'echo not-in-recording-$((2+3))' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('not-in-recording-5\n');
    let objects: { key: string; body: string }[] = [];
    await waitFor(
      async () => {
        objects = await recordings();
        return objects.length === before + 1;
      },
      60_000,
      'the recording in S3',
    );
    const session = [...host.journal().matchAll(/user=alice container=ssh-bastion-([0-9a-f]{24}) duration=\d+s status=0/g)].pop()![1];
    const { events } = replay(objects.find((o) => o.key.endsWith(`${session}-alice.cast`))!.body);
    expect(events.map((e) => [e[1], e[2]])).toEqual([
      ['m', 'channel 1 command: echo not-in-recording-$((2+3))'],
      ['m', 'channel 1 ended, status 0'],
    ]);
  });

  test('root in the container killing the recorder ends the session; what was sent before is stored', async () => {
    const before = (await recordings()).length;
    const started = Date.now();
    const result = await typeInSession(['echo before-kill', 'sudo kill -KILL $PPID', 'echo after-kill'], 2, 60);
    // The session ended long before the client stopped typing.
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(result.stdout).toContain('before-kill');
    await waitFor(() => /status=6 \(recording: a recorder stopped before its channel ended\)/.test(host.journal()), 30_000, 'the end line');
    const session = /user=alice container=ssh-bastion-([0-9a-f]{24}) duration=\d+s status=6/.exec(host.journal())![1];
    expect(await host.sessionContainers()).not.toContain(`ssh-bastion-${session}`);
    let objects: { key: string; body: string }[] = [];
    await waitFor(
      async () => {
        objects = await recordings();
        return objects.length === before + 1;
      },
      60_000,
      'the killed session in S3',
    );
    const killed = objects.find((o) => o.key.endsWith(`${session}-alice.cast`))!;
    const { output, events } = replay(killed.body);
    expect(output).toContain('before-kill');
    expect(output).not.toContain('after-kill\r\nafter-kill');
    expect(events.filter((e) => e[1] === 'm').map((e) => e[2])).toEqual(['channel 1 terminal']);
  });
});
