/**
 * How the daemon fits the host: region from IMDSv2 (fake IMDS on 127.0.0.1) or us-east-1, the
 * env file, bad settings, socket modes, SIGTERM, the systemd unit (systemd-analyze verify must
 * print nothing) and a full run on Python 3.9 with Debian's boto3 1.26 (the oldest we support;
 * Amazon Linux 2023 ships Python 3.9 + python3-boto3).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { FaultProxy } from '../helpers/fault-proxy';
import { fakeSshPublicKey, freePort, MotoServer } from '../helpers/moto';
import { KEYS_SERVICE_PATH, KeysDaemon } from './daemon';

jest.setTimeout(60000);

const UNIT = path.resolve(__dirname, '../../userdata/host/etc/systemd/system/ssh-bastion-keys.service');
const aliceKey = fakeSshPublicKey('alice');

let moto: MotoServer;
let proxy: FaultProxy;

beforeAll(async () => {
  moto = await MotoServer.start();
  await moto.seedUsers([
    { name: 'alice', groups: ['g1'], keys: [aliceKey] },
    { name: 'bob', groups: ['g2'] },
  ]);
  proxy = await FaultProxy.start(moto.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

/** Runs a command without blocking the event loop (the proxy lives in this process). */
function runAsync(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** moto env without any region variable and with IMDS enabled at `imds`. */
function envWithoutRegion(imds: string): Record<string, string> {
  const env = moto.awsEnv(undefined, proxy.endpoint);
  delete env.AWS_REGION;
  delete env.AWS_DEFAULT_REGION;
  delete env.AWS_EC2_METADATA_DISABLED;
  return { ...env, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds };
}

test('region comes from IMDSv2 placement/region when no region variable is set', async () => {
  const seen: string[] = [];
  const imds = http.createServer((req, res) => {
    seen.push(
      `${req.method} ${req.url} ttl=${req.headers['x-aws-ec2-metadata-token-ttl-seconds'] ?? '-'} token=${req.headers['x-aws-ec2-metadata-token'] ?? '-'}`,
    );
    if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      res.end('tok123');
    } else if (req.method === 'GET' && req.headers['x-aws-ec2-metadata-token'] !== 'tok123') {
      res.writeHead(401).end();
    } else if (req.url === '/latest/meta-data/placement/region') {
      res.end('eu-central-1');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => imds.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(imds.address() as net.AddressInfo).port}`;
  const daemon = await KeysDaemon.start({ env: envWithoutRegion(url) });
  try {
    await daemon.waitForLog(/started .* region=eu-central-1 region_source=imds /);
    expect(seen).toEqual(['PUT /latest/api/token ttl=60 token=-', 'GET /latest/meta-data/placement/region ttl=- token=tok123']);
    proxy.clear();
    // the first KEYS loads the user list itself
    expect(await daemon.keys('alice', 'imds-1')).toEqual([aliceKey]);
    // the IAM client really uses that region (it signs with it)
    expect(new Set(proxy.requests.map((r) => r.region))).toEqual(new Set(['eu-central-1']));
  } finally {
    await daemon.stop();
    imds.close();
  }
});

test.each([
  ['refuses connections', false],
  ['accepts connections but never answers', true],
])('when IMDS %s the daemon gives up within its short timeout and uses us-east-1', async (_what, hang) => {
  let url: string;
  let server: net.Server | undefined;
  const sockets: net.Socket[] = [];
  if (hang) {
    server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  } else {
    url = `http://127.0.0.1:${await freePort()}`;
  }
  const daemon = await KeysDaemon.start({ env: envWithoutRegion(url) });
  try {
    const line = await daemon.waitForLog(/imds unavailable: \w+ ms=\d+/);
    const ms = Number(/ms=(\d+)/.exec(line)![1]);
    // one 1 s timeout for the token request, not a hang
    expect(ms).toBeLessThan(hang ? 2500 : 1000);
    if (hang) expect(ms).toBeGreaterThanOrEqual(900);
    await daemon.waitForLog(/started .* region=us-east-1 region_source=default /);
    expect(await daemon.users()).toEqual(['alice', 'bob']);
  } finally {
    await daemon.stop();
    sockets.forEach((s) => s.destroy());
    server?.close();
  }
});

test('settings can come from an env file (bastion.env format); the environment wins', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-env-'));
  const file = path.join(dir, 'bastion.env');
  fs.writeFileSync(
    file,
    'BASTION_SERVICE_PORT=22\nBASTION_ALLOWED_IAM_GROUPS=g1,g2\nBASTION_ASSUME_ROLE_ARN=\nBASTION_USERS_CACHE_SECONDS=7\n',
  );
  const daemon = await KeysDaemon.start({
    env: { ...moto.awsEnv(undefined, proxy.endpoint), BASTION_USERS_CACHE_SECONDS: '9' },
    args: ['--env-file', file],
  });
  try {
    await daemon.waitForLog(/started .* groups=g1,g2 assume_role=no users_cache=9s /);
    expect(await daemon.users()).toEqual(['alice', 'bob']);
  } finally {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a group filter keeps out users of other groups, also at KEYS time', async () => {
  const daemon = await KeysDaemon.start({
    env: { ...moto.awsEnv(undefined, proxy.endpoint), BASTION_ALLOWED_IAM_GROUPS: 'g1,missing-group' },
  });
  try {
    expect(await daemon.users()).toEqual(['alice']);
    await daemon.waitForLog(/group missing group=missing-group: its members are not allowed/);
    expect(await daemon.keys('bob', 'g-1')).toEqual([]);
    expect(await daemon.keys('alice', 'g-2')).toEqual([aliceKey]);
  } finally {
    await daemon.stop();
  }
});

test.each([
  ['BASTION_USERS_CACHE_SECONDS', 'soon', /invalid BASTION_USERS_CACHE_SECONDS='soon': not a number/],
  ['BASTION_KEYS_MAX_LOOKUPS', '0', /invalid BASTION_KEYS_MAX_LOOKUPS='0': must be >= 1/],
  ['BASTION_ASSUME_ROLE_DURATION_SECONDS', '60', /must be >= 900/],
])('an invalid %s=%s stops the daemon with a clear message', (name, value, message) => {
  const run = spawnSync('python3', [KEYS_SERVICE_PATH], {
    env: {
      PATH: process.env.PATH!,
      ...moto.awsEnv(),
      BASTION_KEYS_SOCKET: path.join(os.tmpdir(), `never-${process.pid}.sock`),
      [name]: value,
    },
    encoding: 'utf8',
    timeout: 20000,
  });
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(message);
});

test('socket is 0666 in a 0755 directory; a stale socket is replaced; SIGTERM stops it cleanly', async () => {
  const first = await KeysDaemon.start({ env: moto.awsEnv(undefined, proxy.endpoint) });
  const sock = first.socketPath;
  expect(fs.statSync(sock).isSocket()).toBe(true);
  expect(fs.statSync(sock).mode & 0o777).toBe(0o666);
  expect(fs.statSync(path.dirname(sock)).mode & 0o777).toBe(0o755);
  // a crashed daemon leaves its socket behind: the next one must still start there
  process.kill(first.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  expect(fs.existsSync(sock)).toBe(true);
  const script = [
    '"$SVC" 2>"$LOG" & pid=$!',
    'for i in $(seq 100); do grep -q started "$LOG" && break; sleep 0.1; done',
    `python3 -c 'import socket,sys; c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.sendall(b"USERS\\n"); print("answer=" + c.recv(999).decode().replace("\\n", ","))' "$SOCK"`,
    'kill -TERM $pid; wait $pid; echo "exit=$?"; cat "$LOG" >&2',
  ].join('\n');
  // not spawnSync: the fault proxy runs in this process and must keep answering
  const run = await runAsync('bash', ['-c', script], {
    PATH: process.env.PATH!,
    HOME: process.env.HOME!,
    ...moto.awsEnv(undefined, proxy.endpoint),
    SVC: KEYS_SERVICE_PATH,
    BASTION_KEYS_SOCKET: sock,
    SOCK: sock,
    LOG: `${sock}.log`,
  });
  expect(run.stdout).toContain('answer=alice,bob,');
  expect(run.stdout).toContain('exit=0');
  expect(run.stderr).toMatch(/ssh-bastion-keys: started socket=.* region=us-east-1/);
  expect(run.stderr).toMatch(/ssh-bastion-keys: stopped/);
  await first.stop();
});

test('the systemd unit passes systemd-analyze verify with no output at all', () => {
  const run = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8', timeout: 30000 });
  expect(run.error).toBeUndefined();
  expect(`${run.stdout}${run.stderr}`).toBe('');
  expect(run.status).toBe(0);
  const unit = fs.readFileSync(UNIT, 'utf8');
  for (const line of [
    'EnvironmentFile=/etc/ssh-bastion/bastion.env',
    'Environment=BASTION_KEYS_SOCKET=/run/ssh-bastion/keys/keys.sock',
    'ExecStart=/usr/bin/python3 -I -B /usr/local/libexec/ssh-bastion/keys-service',
    'RuntimeDirectory=ssh-bastion/keys',
    'RuntimeDirectoryMode=0755',
    'Restart=always',
    'ProtectSystem=strict',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'DynamicUser=yes',
  ]) {
    expect(unit.split('\n')).toContain(line);
  }
});

test('the daemon file is executable with a python3 shebang', () => {
  const stat = fs.statSync(KEYS_SERVICE_PATH);
  expect(stat.mode & 0o111).toBe(0o111);
  expect(fs.readFileSync(KEYS_SERVICE_PATH, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env python3');
});

/** Python 3.9 (pyenv) and Debian's python3-boto3 1.26 / botocore 1.29, if this machine has them. */
function python39WithOldBoto3(): { python: string; pythonPath: string } | undefined {
  const candidates = [
    process.env.BASTION_KEYS_PY39,
    ...globVersions('/root/.pyenv/versions', /^3\.9\./).map((v) => `/root/.pyenv/versions/${v}/bin/python3.9`),
  ];
  const python = candidates.find((p) => p && fs.existsSync(p));
  const dist = '/usr/lib/python3/dist-packages';
  if (!python || !fs.existsSync(`${dist}/boto3`)) return undefined;
  // only the packages boto3 needs, not the 3.11 extension modules next to them
  const shim = fs.mkdtempSync(path.join(os.tmpdir(), 'boto3-126-'));
  for (const p of [
    'boto3',
    'botocore',
    'jmespath',
    'dateutil',
    'urllib3',
    'six.py',
    's3transfer',
    'requests',
    'idna',
    'charset_normalizer',
    'chardet',
    'certifi',
  ]) {
    if (fs.existsSync(`${dist}/${p}`)) fs.symlinkSync(`${dist}/${p}`, path.join(shim, p));
  }
  return { python, pythonPath: shim };
}

function globVersions(dir: string, re: RegExp): string[] {
  try {
    return fs.readdirSync(dir).filter((v) => re.test(v));
  } catch {
    return [];
  }
}

const old = python39WithOldBoto3();
const requireOld = process.env.BASTION_KEYS_REQUIRE_PY39 === '1';
(old || requireOld ? test : test.skip)('runs on Python 3.9 with boto3 1.26 (Amazon Linux 2023 class)', async () => {
  // apt-get install python3-boto3 provides boto3 1.26.27 / botocore 1.29.27 on Debian 12
  expect(old).toBeDefined();
  const compile = spawnSync(
    old!.python,
    ['-c', `import ast,sys; ast.parse(open(sys.argv[1]).read(), feature_version=(3, 9))`, KEYS_SERVICE_PATH],
    { encoding: 'utf8' },
  );
  expect(compile.stderr).toBe('');
  const daemon = await KeysDaemon.start({
    python: old!.python,
    env: { ...moto.awsEnv(undefined, proxy.endpoint), PYTHONPATH: old!.pythonPath, BASTION_ALLOWED_IAM_GROUPS: 'g1' },
  });
  try {
    await daemon.waitForLog(/started .* python=3\.9\.\d+ boto3=1\.26\./);
    expect(await daemon.users()).toEqual(['alice']);
    expect(await daemon.keys('alice', 'py39-1')).toEqual([aliceKey]);
    proxy.clear();
    proxy.inject('throttle', 3);
    expect(await daemon.keys('alice', 'py39-2')).toEqual([]);
    expect(proxy.requests).toHaveLength(3);
    await daemon.waitForLog(/keys lookup failed for user=alice: Throttling/);
    expect(await daemon.keys('alice', 'py39-3')).toEqual([aliceKey]);
    expect(daemon.logs()).not.toMatch(/Traceback/);
  } finally {
    proxy.clearFaults();
    await daemon.stop();
    fs.rmSync(old!.pythonPath, { recursive: true, force: true });
  }
});
