// End to end: the service port's front (userdata/host/.../front). A connection costs a container
// only once its client has sent its SSH identification line; silent, non-SSH, too fast and too
// many connections are closed by the front without one. A test host booted by the real
// run-sections; attackers are Python clients on other loopback addresses of the host, the user a
// real OpenSSH client on 127.0.0.1.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, Settings, testSettings, waitFor } from '../helpers/harness';
import { logEachTest } from './log';

jest.setTimeout(300_000);
logEachTest();

const SERVICE_PORT = 22;
const totalMb = Math.floor(Number(/^MemTotal:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024);

const SETTINGS: Settings = testSettings({
  BASTION_SERVICE_PORT: String(SERVICE_PORT),
  BASTION_CONTAINER_CPUS: '1',
  BASTION_HOSTNAME_PREFIX: 'front-bastion',
});

/**
 * Opens TCP connections to 127.0.0.1:<port> from the given source addresses, silent or sending an
 * SSH identification line or another line, and watches them for <hold> seconds; prints for each
 * connection when the server closed it (seconds after it opened; null = still open) and whether
 * the server sent anything. Writes <ready> once every connection is open.
 */
const HOLDER_SCRIPT = String.raw`
import json, select, socket, sys, time
port, spec, mode, hold, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
conns = []
for item in spec.split(","):
    source, n = item.split("x")
    for _ in range(int(n)):
        s = socket.socket()
        s.bind((source, 0))
        c = dict(source=source, closed=None, spoke=False, error=None)
        try:
            s.connect(("127.0.0.1", port))
        except OSError as e:
            c["error"] = str(e)
            conns.append(c)
            continue
        if mode == "banner":
            s.sendall(b"SSH-2.0-holder_1.0\r\n")
        elif mode == "http":
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        elif mode == "long":
            s.sendall(b"SSH-2.0-" + b"x" * 300)
        c["sock"], c["opened"] = s, time.monotonic()
        conns.append(c)
open(ready, "w").write("ready")
deadline = time.monotonic() + hold
while time.monotonic() < deadline:
    live = [c for c in conns if "sock" in c and c["closed"] is None]
    if not live:
        break
    readable = select.select([c["sock"] for c in live], [], [], 0.1)[0]
    for c in live:
        if c["sock"] in readable:
            try:
                data = c["sock"].recv(4096)
            except OSError:
                data = b""
            if data:
                c["spoke"] = True
            else:
                c["closed"] = round(time.monotonic() - c["opened"], 2)
print(json.dumps([{k: v for k, v in c.items() if k not in ("sock", "opened")} for c in conns]))
`;

interface Held {
  source: string;
  closed: number | null;
  spoke: boolean;
  error: string | null;
}

let host: BastionTestHost;
const keys: Record<string, string> = {};

/** Starts the holder; resolves `ready` once its connections are open and `done` with their fates. */
function hold(
  port: number,
  spec: string,
  mode: 'silent' | 'banner' | 'http' | 'long',
  seconds: number,
): { ready: Promise<void>; done: Promise<Held[]> } {
  const script = path.join(host.dir, 'holder.py');
  fs.writeFileSync(script, HOLDER_SCRIPT);
  const readyFile = path.join(host.dir, `holder-${Math.random().toString(36).slice(2)}.ready`);
  const done = host
    .run(['python3', script, String(port), spec, mode, String(seconds), readyFile], { timeoutMs: (seconds + 60) * 1000 })
    .then((r) => {
      if (r.status !== 0) throw new Error(`holder failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as Held[];
    });
  const ready = Promise.race([waitFor(() => fs.existsSync(readyFile), 60_000, 'holder connections'), done.then(() => undefined)]);
  return { ready, done };
}

/** "127.0.1.1x6,127.0.1.2x6,...": n connections from each of `sources` addresses 127.0.<net>.1.. */
function spread(net: number, sources: number, each: number): string {
  return Array.from({ length: sources }, (_, i) => `127.0.${net}.${i + 1}x${each}`).join(',');
}

async function serve(port: number, name: string, settings: Partial<Settings>): Promise<void> {
  await host.serveSessions(port, { ...SETTINGS, BASTION_WORKER_BASE_IMAGE: host.baseImage, ...settings } as Settings, name);
}

beforeAll(async () => {
  host = new BastionTestHost({ ...SETTINGS });
  await host.prepare();
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  keys.alice = path.join(keyDir, 'alice');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', keys.alice]);
  await host.moto!.seedUsers([{ name: 'alice', groups: ['bastion-admins'], keys: [fs.readFileSync(`${keys.alice}.pub`, 'utf8').trim()] }]);
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
}, 600_000);

afterAll(async () => {
  await host?.stop();
});

test('120 silent connections from 20 addresses start no container, and a login succeeds meanwhile', async () => {
  const held = hold(SERVICE_PORT, spread(1, 20, 6), 'silent', 12);
  await held.ready;
  expect(await host.sessionContainers()).toEqual([]);
  const login = await host.ssh({ user: 'alice', key: keys.alice, command: 'echo in' });
  expect({ status: login.status, stdout: login.stdout }).toEqual({ status: 0, stdout: 'in\n' });
  const fates = await held.done;
  expect(fates.filter((f) => f.error !== null)).toEqual([]);
  // all still open after 12 s (the grace is 20 s), none got a word from sshd
  expect(fates.filter((f) => f.closed !== null || f.spoke)).toEqual([]);
  expect(host.journal()).not.toMatch(/session start client=127\.0\.1\./);
});

test('a connection that never speaks is closed after the login grace, without a container', async () => {
  await serve(2401, 'grace', { BASTION_LOGIN_GRACE_SECONDS: '3' });
  const fates = await hold(2401, '127.0.2.1x3', 'silent', 20).done;
  for (const fate of fates) {
    expect(fate.closed).not.toBeNull();
    expect(fate.closed!).toBeGreaterThanOrEqual(2.5);
    expect(fate.closed!).toBeLessThan(10);
  }
  await waitFor(
    () => /refused \d+ connections from \d+ sources in 10s: .*3 silent for the login grace/.test(host.journal()),
    15_000,
    'summary line',
  );
  expect(host.journal()).not.toMatch(/session start client=127\.0\.2\.1:/);
});

test('a client that sends something other than an SSH-2.0 identification line is closed at once, without a container', async () => {
  const fates = await hold(SERVICE_PORT, '127.0.3.1x2', 'http', 10).done;
  for (const fate of fates) {
    expect(fate.closed).not.toBeNull();
    expect(fate.closed!).toBeLessThan(2);
    expect(fate.spoke).toBe(false);
  }
  expect(host.journal()).not.toMatch(/session start client=127\.0\.3\.1:/);
});

test('an identification line longer than 255 bytes (RFC 4253) is closed at once, without a container', async () => {
  const fates = await hold(SERVICE_PORT, '127.0.3.2x1', 'long', 10).done;
  expect(fates[0].closed).not.toBeNull();
  expect(fates[0].closed!).toBeLessThan(2);
  expect(fates[0].spoke).toBe(false);
  expect(host.journal()).not.toMatch(/session start client=127\.0\.3\.2:/);
});

test('the per-source rate limit refuses a burst from one address while another address logs in', async () => {
  await serve(2402, 'rate', { BASTION_NEW_CONNECTIONS_PER_MINUTE: '5', BASTION_MAX_CONNECTIONS_PER_SOURCE: '100' });
  const held = hold(2402, '127.0.4.1x10', 'silent', 4);
  await held.ready;
  const login = await host.ssh({ user: 'alice', key: keys.alice, port: 2402, command: 'echo in' });
  expect({ status: login.status, stdout: login.stdout }).toEqual({ status: 0, stdout: 'in\n' });
  const fates = await held.done;
  // the first five are waiting for their line; the other five were closed at once
  expect(fates.slice(0, 5).map((f) => f.closed)).toEqual([null, null, null, null, null]);
  for (const fate of fates.slice(5)) expect(fate.closed).not.toBeNull();
  expect(Math.max(...fates.slice(5).map((f) => f.closed!))).toBeLessThan(2);
  await waitFor(() => /5 over the per-source rate/.test(host.journal()), 15_000, 'summary line');
});

test('the per-source concurrency limit refuses connections beyond it while that address holds them', async () => {
  await serve(2403, 'per-source', { BASTION_MAX_CONNECTIONS_PER_SOURCE: '3' });
  const fates = await hold(2403, '127.0.5.1x5', 'silent', 4).done;
  expect(fates.map((f) => f.closed === null)).toEqual([true, true, true, false, false]);
});

test('the host-wide session cap follows from the memory: beyond it a client that identified itself is closed', async () => {
  // sessions get 32 MiB: 2 sessions of SESSION_BUDGET_MB (16)
  await serve(2404, 'capped', { BASTION_HOST_MEMORY_RESERVE_MB: String(totalMb - 32) });
  await waitFor(() => host.journal().includes('at most 2 sessions'), 20_000, 'the capped front').catch(async () => {
    // the front starts with its first connection (socket activation)
    await hold(2404, '127.0.6.9x1', 'silent', 0.5).done;
    await waitFor(() => host.journal().includes('at most 2 sessions'), 20_000, 'the capped front');
  });
  const first = hold(2404, '127.0.6.1x1,127.0.6.2x1', 'banner', 15);
  await first.ready;
  await waitFor(() => (host.journal().match(/session start client=127\.0\.6\.[12]:/g) ?? []).length === 2, 30_000, 'two sessions');
  const third = await hold(2404, '127.0.6.3x1', 'banner', 5).done;
  expect(third[0].closed).not.toBeNull();
  expect(third[0].spoke).toBe(false);
  await waitFor(() => /1 over the host's sessions/.test(host.journal()), 15_000, 'summary line');
  const fates = await first.done;
  // the two sessions got sshd's banner
  expect(fates.map((f) => f.spoke)).toEqual([true, true]);
});

describe('ready containers', () => {
  /** Containers named in session start lines, in order. */
  const startedContainers = () =>
    [...host.journal().matchAll(/session start client=\S+ container=(ssh-bastion-[0-9a-f]+)/g)].map((m) => m[1]);

  test('a login takes a container that was ready before it came; each is given one connection only; the pool refills', async () => {
    const seenReady = new Set<string>();
    const before = startedContainers().length;
    for (let i = 0; i < 4; i++) {
      await waitFor(async () => (await host.readyContainers()).length === 2, 60_000, 'two ready containers');
      for (const name of await host.readyContainers()) seenReady.add(name);
      const login = await host.ssh({ user: 'alice', key: keys.alice, command: 'echo in' });
      expect({ status: login.status, stdout: login.stdout }).toEqual({ status: 0, stdout: 'in\n' });
    }
    const used = startedContainers().slice(before);
    expect(used).toHaveLength(4);
    expect(new Set(used).size).toBe(4);
    for (const name of used) expect(seenReady).toContain(name);
    // nothing of the session was in the ready container: its key lookup socket is not open yet
    const [ready] = await host.readyContainers();
    expect((await host.run(['test', '-e', `/run/ssh-bastion/keys/sessions/${ready}/keys.sock`])).status).toBe(1);
    expect((await host.run(['test', '-e', `/run/ssh-bastion/sessions/${ready}/ssh_host_ed25519_key`])).status).toBe(1);
  });

  test('when no ready container is left, a login starts one of its own', async () => {
    await serve(2405, 'one-ready', { BASTION_READY_SESSIONS: '1' });
    const before = startedContainers().length;
    const logins = await Promise.all(
      [0, 1, 2].map(() => host.ssh({ user: 'alice', key: keys.alice, port: 2405, command: 'sleep 2; echo in' })),
    );
    expect(logins.map((l) => [l.status, l.stdout])).toEqual([
      [0, 'in\n'],
      [0, 'in\n'],
      [0, 'in\n'],
    ]);
    expect(new Set(startedContainers().slice(before)).size).toBe(3);
    await waitFor(
      () => /[1-3] sessions started a container of their own in 10s: no ready one was left \(1 kept ready\)/.test(host.journal()),
      15_000,
      'summary line',
    );
  });

  test('a ready container that goes away leaves the pool and is replaced', async () => {
    await waitFor(async () => (await host.readyContainers()).length === 2, 60_000, 'two ready containers');
    const [victim] = await host.readyContainers();
    await host.docker('kill', victim);
    await waitFor(() => host.journal().includes(`ready container ${victim} went away`), 20_000, 'the front noticing');
    await waitFor(
      async () => {
        const ready = await host.readyContainers();
        return ready.length === 2 && !ready.includes(victim);
      },
      60_000,
      'a replacement',
    );
    const login = await host.ssh({ user: 'alice', key: keys.alice, command: 'echo in' });
    expect(login.status).toBe(0);
  });
});
