// End to end: what one session may take from the host (disk, memory), and a health check that
// answers for the host as it is when asked. A test host booted by the real run-sections; real
// OpenSSH clients log in; the attacks are run from inside sessions with the root sudo gives.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, SESSIONS_SLICE, Settings, testSettings, waitFor } from '../helpers/harness';
import { sshOptions } from '../helpers/ssh-options';
import { log, logEachTest } from './log';

jest.setTimeout(300_000);
logEachTest();

const SERVICE_PORT = 22;
const HEALTH_PORT = 2224;
const CONTAINER_MEMORY_MB = 256;
const SESSION_DISK_MB = 64;
/** The sessions' ceiling on this test host: the reserve is set so that sessions get exactly this. */
const SESSIONS_MB = 400;
const HOLD_MB = 150;

const totalMb = Math.floor(Number(/^MemTotal:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024);

const SETTINGS: Settings = testSettings({
  BASTION_SERVICE_PORT: String(SERVICE_PORT),
  BASTION_HEALTH_PORT: String(HEALTH_PORT),
  BASTION_CONTAINER_MEMORY_MB: String(CONTAINER_MEMORY_MB),
  BASTION_SESSION_DISK_MB: String(SESSION_DISK_MB),
  BASTION_HOST_MEMORY_RESERVE_MB: String(totalMb - SESSIONS_MB),
});

let host: BastionTestHost;
const keys: Record<string, string> = {};
const clients: ChildProcess[] = [];

/** An ssh session left running in the background; its output collected as it comes. */
function startSsh(user: string, command: string): { proc: ChildProcess; output: () => string; done: Promise<number> } {
  const args = [...host.enter, 'ssh', ...sshOptions({ key: keys[user], port: SERVICE_PORT }), `${user}@127.0.0.1`, command];
  const proc = spawn(args[0], args.slice(1), { env: host.env, stdio: ['ignore', 'pipe', 'pipe'] });
  clients.push(proc);
  let text = '';
  proc.stdout!.on('data', (d) => (text += d));
  proc.stderr!.on('data', (d) => (text += d));
  const done = new Promise<number>((resolve) => proc.on('exit', (code) => resolve(code ?? 255)));
  return { proc, output: () => text, done };
}

/** One HTTP GET of the health port, as the load balancer sends it: the status line, or '' when none came. */
async function health(): Promise<{ status: string; body: string; ms: number }> {
  const result = await host.run([
    'bash',
    '-c',
    `exec 3<>/dev/tcp/127.0.0.1/${HEALTH_PORT} && printf 'GET / HTTP/1.1\\r\\nHost: 10.0.0.1:${HEALTH_PORT}\\r\\nUser-Agent: ELB-HealthChecker/2.0\\r\\n\\r\\n' >&3 && timeout 30 cat <&3`,
  ]);
  const [head, ...rest] = result.stdout.split('\r\n\r\n');
  return { status: head.split('\r\n')[0] ?? '', body: rest.join(''), ms: result.ms };
}

/** Pid of the key lookup service of this test host (the listener of its socket in this network namespace). */
async function keysServicePid(): Promise<string> {
  const out = await host.must(['ss', '-Hxlp', 'src', '/run/ssh-bastion/keys/keys.sock']);
  return /pid=(\d+)/.exec(out)![1];
}

beforeAll(async () => {
  host = new BastionTestHost({ ...SETTINGS });
  await host.prepare();
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  for (const name of ['alice', 'bob']) {
    keys[name] = path.join(keyDir, name);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', keys[name]]);
  }
  await host.moto!.seedUsers(
    ['alice', 'bob'].map((name) => ({ name, groups: ['bastion-admins'], keys: [fs.readFileSync(`${keys[name]}.pub`, 'utf8').trim()] })),
  );
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
}, 600_000);

afterEach(async () => {
  const had = clients.length;
  for (const proc of clients.splice(0)) proc.kill('SIGKILL');
  if (had > 0)
    await waitFor(async () => (await host.sessionContainers()).length === 0, 60_000, 'the session containers to go').catch(() => undefined);
});

afterAll(async () => {
  await host?.stop();
});

describe('disk', () => {
  test('a session writing until failure gets ENOSPC at its bound, nothing reaches the host disk, another user logs in meanwhile', async () => {
    // Writes at most 3 times the bound: enough to show the bound, and without one (the code before)
    // it only costs the host's disk 200 MB for the length of the test.
    const count = 3 * SESSION_DISK_MB;
    const alice = startSsh(
      'alice',
      `for d in /tmp "$HOME" /var/tmp; do dd if=/dev/zero of="$d/fill" bs=1M count=${count} 2>&1 | grep -o "No space left on device" | head -n 1; ` +
        `echo "$d $(stat -c %s "$d/fill")"; done; ` +
        `sudo -n dd if=/dev/zero of=/var/fill bs=1M count=1 2>&1 | grep -o "Read-only file system" | head -n 1; echo filled; sleep 600`,
    );
    await waitFor(() => alice.output().includes('filled'), 180_000, `alice's writes; output so far: ${alice.output()}`);
    const out = alice.output();
    log(`alice's session: ${out.replace(/\n/g, ' | ')}`);
    const container = (await host.sessionContainers())[0];
    const sizeRw = Number((await host.docker('container', 'inspect', '--size', '--format', '{{.SizeRw}}', container)).trim());
    log(`alice's container wrote ${sizeRw} bytes to docker's storage on the host disk`);

    const bob = await host.ssh({ user: 'bob', key: keys.bob, command: 'id -un; echo ok > "$HOME/note" && cat "$HOME/note"' });

    for (const dir of ['/tmp', '/home/alice', '/var/tmp']) {
      const written = Number(new RegExp(`^${dir} (\\d+)$`, 'm').exec(out)?.[1]);
      expect(written).toBeLessThanOrEqual(SESSION_DISK_MB * 1048576);
      expect(written).toBeGreaterThan((SESSION_DISK_MB - 2) * 1048576);
    }
    expect(out.match(/No space left on device/g)?.length).toBe(3);
    expect(out).toContain('Read-only file system');
    expect(sizeRw).toBeLessThan(1048576);
    expect(bob.stdout).toBe('bob\nok\n');
  });
});

describe('memory', () => {
  test(`sessions of one user together stay under the sessions' ceiling (${SESSIONS_MB} MiB here), and others log in afterwards`, async () => {
    expect(host.readFile(`/etc/systemd/system/${SESSIONS_SLICE}.d/50-settings.conf`)).toContain(`MemoryMax=${SESSIONS_MB}M`);
    // Four sessions, each holding 150 MiB: each fits its own 256 MiB limit, not all under 400 MiB.
    const holders = Array.from({ length: 4 }, () =>
      startSsh('alice', `perl -e '$| = 1; vec($x, ${HOLD_MB} * 1048576 - 1, 8) = 1; print "held\\n"; sleep 600'; echo "perl status $?"`),
    );
    // Each either holds its memory or has ended.
    await waitFor(
      () => holders.every((h) => /held|perl status/.test(h.output())),
      240_000,
      `every session to hold or end: ${holders.map((h) => h.output().trim()).join(' / ')}`,
    );
    const alive = async () => {
      let n = 0;
      for (const name of await host.sessionContainers()) {
        n += (await host.run(['docker', 'exec', name, 'pgrep', '-x', 'perl'])).status === 0 ? 1 : 0;
      }
      return n;
    };
    const fits = Math.floor(SESSIONS_MB / HOLD_MB);
    let holding = 0;
    await waitFor(async () => (holding = await alive()) <= fits, 30_000, 'the sessions to fit the ceiling').catch(() => undefined);
    const usage = (await host.docker('stats', '--no-stream', '--format', '{{.MemUsage}}'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' / ')[0])
      .map((v) => parseFloat(v) * (v.endsWith('GiB') ? 1024 : v.endsWith('MiB') ? 1 : v.endsWith('KiB') ? 1 / 1024 : 1 / 1048576));
    const total = usage.reduce((a, b) => a + b, 0);
    log(
      `sessions holding ${HOLD_MB} MiB: ${holding} of 4; the session containers use ${Math.round(total)} MiB together; ${holders.map((h) => h.output().trim().replace(/\n/g, ' ')).join(' / ')}`,
    );
    expect(holding).toBeGreaterThanOrEqual(1);
    expect(holding).toBeLessThanOrEqual(fits);
    expect(total).toBeLessThanOrEqual(SESSIONS_MB);
    for (const proc of clients.splice(0)) proc.kill('SIGKILL');
    await waitFor(async () => (await host.sessionContainers()).length === 0, 60_000, 'the session containers to go');
    const bob = await host.ssh({ user: 'bob', key: keys.bob, command: 'id -un' });
    expect(bob.stdout).toBe('bob\n');
  });
});

describe('health', () => {
  test('a ready host answers the health check with 200', async () => {
    const answer = await health();
    log(`health check of a ready host: ${answer.status} in ${answer.ms} ms`);
    expect(answer.status).toBe('HTTP/1.0 200 OK');
  });

  test('the key lookup service killed, or hanging: 503 within the bound; back to 200 once it answers again', async () => {
    const pid = await keysServicePid();
    await host.must(['kill', '-STOP', pid]);
    const hanging = await health();
    await host.must(['kill', '-CONT', pid]);
    log(`key lookup hanging: ${hanging.status} (${hanging.body.trim()}) in ${hanging.ms} ms`);
    expect(hanging.status).toBe('HTTP/1.0 503 Service Unavailable');
    expect(hanging.body).toContain('key-lookup');
    expect(hanging.ms).toBeLessThan(15_000);

    await host.must(['kill', '-KILL', pid]);
    await waitFor(async () => (await host.run(['kill', '-0', pid])).status !== 0, 10_000, 'the key lookup service to end');
    const down = await health();
    log(`key lookup down: ${down.status} (${down.body.trim()})`);
    expect(down.status).toBe('HTTP/1.0 503 Service Unavailable');
    expect(down.body).toContain('key-lookup');

    await host.must(['systemctl', 'start', 'ssh-bastion-keys.service']);
    await waitFor(async () => (await health()).status === 'HTTP/1.0 200 OK', 60_000, 'the health check to pass again');
  });

  test('a full disk: 503; 200 again once space is freed', async () => {
    // The journal's file system, a small one of its own on this test host (on a host it is the root volume).
    await host.must(['mount', '-t', 'tmpfs', '-o', 'size=300m', 'tmpfs', '/var/log']);
    try {
      expect((await health()).status).toBe('HTTP/1.0 200 OK');
      await host.must(['dd', 'if=/dev/zero', 'of=/var/log/fill', 'bs=1M', 'count=100']);
      const full = await health();
      log(`disk nearly full: ${full.status} (${full.body.trim()})`);
      expect(full.status).toBe('HTTP/1.0 503 Service Unavailable');
      expect(full.body).toContain('disk-space:/var/log');
      await host.must(['rm', '/var/log/fill']);
      expect((await health()).status).toBe('HTTP/1.0 200 OK');
    } finally {
      await host.run(['umount', '/var/log']);
    }
  });

  test('docker stopped: 503', async () => {
    await host.dockerd!.stop();
    const answer = await health();
    log(`docker stopped: ${answer.status} (${answer.body.trim()}) in ${answer.ms} ms`);
    expect(answer.status).toBe('HTTP/1.0 503 Service Unavailable');
    expect(answer.body).toContain('docker-and-worker-image');
  });
});
