// End to end: the audit events of real sessions reach CloudWatch Logs (moto's), through the real
// audit shipper started as its unit would be, behind a fault-injecting proxy that plays a
// CloudWatch outage. A login, a refused key, a command, a tunnel to an address beside the host
// and the logouts each produce their events with every field; an outage delays events but loses
// none; a shipper killed (SIGKILL) or stopped (SIGTERM) and started again neither loses nor
// repeats any (and says, with audit.lost, that it was not running). A connection flood from one
// session (a plain user's non-blocking connects) is cut by the firewall's per-session rate limit
// and reported as tcp.limited, once per 10 s; the shipper's memory and spool stay bounded and
// another session's tunnel opened during the flood is logged with its user. UDP flows are logged
// (udp.flow) and limited (udp.limited) the same way, apart from TCP.
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import {
  BastionTestHost,
  TEST_INSTANCE_ID,
  testSettings,
  VPC_ADDRESS,
  VPC_SERVICE_PORT,
  VPC_SERVICE_TEXT,
  waitFor,
} from '../helpers/harness';
import { FaultProxy } from '../helpers/fault-proxy';
import { log, logEachTest } from './log';

const execFileAsync = promisify(execFile);
jest.setTimeout(240_000);
logEachTest();

const GROUP = '/e2e/bastion-service/audit';
const BOB_IAM = 'bob+ops=x,y@corp';
const BOB_LINUX = 'bobplusopsequalxcommayatcorp';
const CAROL = 'carol';

type AuditEvent = { [field: string]: any };

let host: BastionTestHost;
let proxy: FaultProxy;
const keys: Record<string, string> = {};

function keyPair(dir: string, name: string): { file: string; publicKey: string; fingerprint: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return { file, publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint };
}

/** Every event of the group's streams, as CloudWatch Logs (moto, asked directly) has them, in stream order. */
async function cloudWatch(): Promise<{ stream: string; timestamp: number; event: AuditEvent }[]> {
  const code = `
import boto3, json, sys
logs = boto3.client("logs")
out = []
for stream in logs.describe_log_streams(logGroupName=sys.argv[1])["logStreams"]:
    token = None
    while True:
        args = dict(logGroupName=sys.argv[1], logStreamName=stream["logStreamName"], startFromHead=True, limit=10000)
        if token: args["nextToken"] = token
        page = logs.get_log_events(**args)
        out += [{"stream": stream["logStreamName"], "timestamp": e["timestamp"], "message": e["message"]} for e in page["events"]]
        if not page["events"] or page["nextForwardToken"] == token: break
        token = page["nextForwardToken"]
print(json.dumps(out))
`;
  const { stdout } = await execFileAsync('python3', ['-c', code, GROUP], {
    env: { ...process.env, ...host.moto!.awsEnv() },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout).map((e: { stream: string; timestamp: number; message: string }) => ({
    stream: e.stream,
    timestamp: e.timestamp,
    event: JSON.parse(e.message),
  }));
}

async function eventsWhen(what: string, ready: (events: AuditEvent[]) => boolean, timeoutMs = 60_000): Promise<AuditEvent[]> {
  let events: AuditEvent[] = [];
  await waitFor(
    async () => {
      events = (await cloudWatch()).map((e) => e.event);
      return ready(events);
    },
    timeoutMs,
    what,
  );
  return events;
}

function ssh(user: string, key: string, command: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return host.ssh({ user, key, command, timeoutMs: 60_000 });
}

/** The audit shipper's process (the child of the loop that plays Restart=always). */
async function shipperPid(): Promise<string> {
  const loop = fs.readFileSync(path.join(host.dir, 'systemctl', 'pid-ssh-bastion-audit.socket'), 'utf8').trim();
  let pid = '';
  await waitFor(
    async () => {
      pid = (await host.run(['pgrep', '-P', loop, '-f', 'audit-shipper'])).stdout.trim();
      return pid !== '';
    },
    20_000,
    'the audit shipper',
  );
  return pid;
}

/** Runs `command` in a session of bob's, reading `count` every 250 ms meanwhile: its result, and the highest count read. */
async function highestWhile(
  count: () => Promise<number>,
  command: string,
): Promise<{ result: { status: number; stdout: string; stderr: string }; max: number }> {
  let max = await count();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      max = Math.max(max, await count());
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const result = await ssh(BOB_LINUX, keys.bob, command);
  sampling = false;
  await sampler;
  return { result, max };
}

/** The events of one session (by id), by kind. */
function ofSession(events: AuditEvent[], session: string): Record<string, AuditEvent[]> {
  const byKind: Record<string, AuditEvent[]> = {};
  for (const e of events.filter((e) => e.session === session || e.container === `ssh-bastion-${session}`)) (byKind[e.event] ??= []).push(e);
  return byKind;
}

beforeAll(async () => {
  host = new BastionTestHost(testSettings({ BASTION_ALLOWED_IAM_GROUPS: 'bastion-admins', BASTION_AUDIT_LOG_GROUP: GROUP }));
  await host.prepare();
  const moto = host.moto!;
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  for (const name of ['bob', 'stranger', 'carol']) {
    const pair = keyPair(keyDir, name);
    keys[name] = pair.file;
    keys[`${name}.pub`] = pair.publicKey;
    keys[`${name}.fingerprint`] = pair.fingerprint;
  }
  await moto.seedUsers([
    { name: BOB_IAM, groups: ['bastion-admins'], keys: [keys['bob.pub']] },
    { name: CAROL, groups: ['bastion-admins'], keys: [keys['carol.pub']] },
  ]);
  await execFileAsync('aws', ['logs', 'create-log-group', '--log-group-name', GROUP], { env: { ...process.env, ...moto.awsEnv() } });
  // The shipper's CloudWatch Logs endpoint is a fault proxy in front of moto.
  proxy = await FaultProxy.start(moto.endpoint);
  await host.relayPort(Number(new URL(proxy.endpoint).port));
  host.auditEndpoint = proxy.endpoint;
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
}, 300_000);

afterAll(async () => {
  if (host) log(`audit shipper log:\n${host.auditLog()}`);
  await proxy?.stop();
  await host?.stop();
});

describe('audit events in CloudWatch Logs', () => {
  let events: AuditEvent[] = [];
  let refusedSession = '';
  let commandSession = '';
  let tunnelSession = '';

  test('a refused key, a login with a command, a tunnel to an address beside the host and the logouts', async () => {
    const refused = await ssh(BOB_LINUX, keys.stranger, 'true');
    expect(refused.status).toBe(255);
    const command = await ssh(BOB_LINUX, keys.bob, 'echo audit-hello');
    expect(command.stdout).toBe('audit-hello\n');
    const tunnel = await host.run([
      'bash',
      '-c',
      `ssh -i ${keys.bob} -p 22 -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o ExitOnForwardFailure=yes ` +
        `-N -L 127.0.0.1:18090:${VPC_ADDRESS}:${VPC_SERVICE_PORT} ${BOB_LINUX}@127.0.0.1 & tunnel=$!; ` +
        `for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/18090) 2>/dev/null && break; sleep 0.1; done; ` +
        `exec 3<>/dev/tcp/127.0.0.1/18090 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3; kill "$tunnel"`,
    ]);
    expect(tunnel.stdout).toContain(VPC_SERVICE_TEXT);

    events = await eventsWhen('three session.end events', (all) => all.filter((e) => e.event === 'session.end').length >= 3);
    const ends = events.filter((e) => e.event === 'session.end');
    refusedSession = ends.find((e) => e.user === '-')!.session;
    const accepted = ends.filter((e) => e.user === BOB_LINUX).map((e) => e.session);
    expect(accepted).toHaveLength(2);
    tunnelSession = accepted.find((s) => events.some((e) => e.event === 'tcp.connect' && e.session === s))!;
    commandSession = accepted.find((s) => s !== tunnelSession)!;
    log(`events:\n${events.map((e) => JSON.stringify(e)).join('\n')}`);
  });

  test('every event: time, host (the instance id), a number; nothing of a key but its fingerprint', () => {
    expect(events.length).toBeGreaterThanOrEqual(12);
    for (const e of events) {
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(e.host).toBe(TEST_INSTANCE_ID);
      expect(Number.isInteger(e.seq)).toBe(true);
    }
    const text = JSON.stringify(events);
    for (const name of ['bob', 'stranger']) expect(text).not.toContain(keys[`${name}.pub`].split(' ')[1]);
  });

  test('session start and end: session id, container and its address, client address:port, users, duration, end reason', () => {
    for (const session of [refusedSession, commandSession, tunnelSession]) {
      const {
        'session.start': [start],
        'session.end': [end],
      } = ofSession(events, session);
      expect(session).toMatch(/^[0-9a-f]{24}$/);
      expect(start).toMatchObject({
        container: `ssh-bastion-${session}`,
        client: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        unit: expect.stringMatching(/^\d+-\d+-\d+$/),
      });
      expect(start.container_address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(end).toMatchObject({ container: start.container, client: start.client, status: 0, end_reason: 'ended' });
      expect(Number.isInteger(end.duration_s)).toBe(true);
    }
    expect(ofSession(events, commandSession)['session.end'][0]).toMatchObject({ user: BOB_LINUX, iam_user: BOB_IAM });
    expect(ofSession(events, refusedSession)['session.end'][0]).toMatchObject({ user: '-' });
  });

  test('authentication: the refused key and the accepted one, by fingerprint, with the Linux and the IAM user', () => {
    const refused = ofSession(events, refusedSession).auth;
    expect(refused).toContainEqual(
      expect.objectContaining({
        result: 'refused',
        user: BOB_LINUX,
        iam_user: BOB_IAM,
        valid_user: true,
        method: 'publickey',
        key_type: 'ED25519',
        key_fingerprint: keys['stranger.fingerprint'],
      }),
    );
    expect(refused.some((e) => e.result === 'accepted')).toBe(false);
    const accepted = ofSession(events, commandSession).auth.filter((e) => e.result === 'accepted');
    expect(accepted).toEqual([
      expect.objectContaining({
        user: BOB_LINUX,
        iam_user: BOB_IAM,
        method: 'publickey',
        key_type: 'ED25519',
        key_fingerprint: keys['bob.fingerprint'],
        client: expect.stringMatching(/^127\.0\.0\.1:/),
      }),
    ]);
  });

  test('key lookups: the decisions of the key lookup service for the session', () => {
    const lookups = ofSession(events, commandSession)['keys.lookup'];
    expect(lookups).toContainEqual(expect.objectContaining({ decision: 'answered', user: BOB_LINUX, iam_user: BOB_IAM, keys: 1 }));
    // the refused key was looked up too: the user's keys were answered, sshd found none matching
    expect(ofSession(events, refusedSession)['keys.lookup']).toContainEqual(
      expect.objectContaining({ decision: 'answered', user: BOB_LINUX, iam_user: BOB_IAM, keys: 1 }),
    );
  });

  test('the tunnel: a tcp.connect to the VPC address and port for each connection through it, with the session and both users; none for the other sessions', () => {
    // two: the client's wait for the forwarded port to open, and the fetch
    const connects = events.filter((e) => e.event === 'tcp.connect');
    expect(connects.length).toBeGreaterThanOrEqual(1);
    const address = ofSession(events, tunnelSession)['session.start'][0].container_address;
    for (const connect of connects) {
      expect(connect).toMatchObject({
        session: tunnelSession,
        container: `ssh-bastion-${tunnelSession}`,
        user: BOB_LINUX,
        iam_user: BOB_IAM,
        destination_address: VPC_ADDRESS,
        destination_port: VPC_SERVICE_PORT,
        protocol: 'tcp',
      });
      expect(connect.source).toMatch(new RegExp(`^${address.replace(/\./g, '\\.')}:\\d+$`));
    }
  });

  test('a connection root opens from a shell in the session (nothing sshd logs) is in the log too: netfilter sees it on the host', async () => {
    const result = await ssh(
      BOB_LINUX,
      keys.bob,
      `sudo timeout 3 bash -c 'exec 3<>/dev/tcp/${VPC_ADDRESS}/${VPC_SERVICE_PORT}' && echo connected`,
    );
    expect(result.stdout).toContain('connected');
    const before = events.filter((e) => e.event === 'tcp.connect').length;
    const all = await eventsWhen('one more tcp.connect', (all) => all.filter((e) => e.event === 'tcp.connect').length > before);
    const last = all.filter((e) => e.event === 'tcp.connect').pop()!;
    expect(last).toMatchObject({ user: BOB_LINUX, destination_address: VPC_ADDRESS, destination_port: VPC_SERVICE_PORT });
    expect(last.session).not.toBe(tunnelSession);
  });

  test('in time order: timestamps never go back, numbers grow by one', async () => {
    const all = await cloudWatch();
    expect(new Set(all.map((e) => e.stream))).toEqual(new Set([TEST_INSTANCE_ID]));
    for (let i = 1; i < all.length; i++) {
      expect(all[i].timestamp).toBeGreaterThanOrEqual(all[i - 1].timestamp);
      expect(all[i].event.seq).toBe(all[i - 1].event.seq + 1);
    }
    expect(all[0].event.seq).toBe(1);
  });
});

describe('CloudWatch unreachable, the shipper killed and restarted', () => {
  test('an outage delays events, a SIGKILL and a SIGTERM restart lose and repeat none, order kept', async () => {
    // everything so far shipped (the last session's end may still be on its way)
    const spoolLines = () =>
      fs
        .readFileSync(path.join(host.dir, 'audit-state', 'events.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean).length;
    await waitFor(async () => (await cloudWatch()).length === spoolLines(), 30_000, 'the spool shipped');
    const before = (await cloudWatch()).length;
    proxy.inject('http503', 1_000_000);
    const first = await ssh(BOB_LINUX, keys.bob, 'echo during-outage');
    expect(first.stdout).toBe('during-outage\n');
    await waitFor(() => /shipping failed/.test(host.auditLog()), 30_000, 'the shipper noticing the outage');
    await waitFor(
      () =>
        fs
          .readFileSync(path.join(host.dir, 'audit-state', 'events.jsonl'), 'utf8')
          .split('\n')
          .filter(Boolean).length >=
        before + 5,
      30_000,
      'events in the spool',
    );
    expect((await cloudWatch()).length).toBe(before);

    // killed hard during the outage: what it had received is in its spool; what is sent while it
    // is down waits in the socket (systemd's, here systemd-socket-activate's)
    const killed = await shipperPid();
    await host.run(['kill', '-KILL', killed]);
    const second = await ssh(BOB_LINUX, keys.bob, 'echo while-down');
    expect(second.stdout).toBe('while-down\n');
    const restarted = await shipperPid();
    expect(restarted).not.toBe(killed);
    expect((await cloudWatch()).length).toBe(before);

    const outage = Date.now();
    proxy.clearFaults();
    // Two logins' worth: start, keys lookup, auth, end each; the shipper's backoff is at most 60 s.
    await eventsWhen('the events of both logins', (events) => events.filter((e) => e.event === 'session.end').length >= 6, 120_000);
    log(`delivered ${Math.round((Date.now() - outage) / 1000)} s after the outage ended`);

    // a graceful restart (systemctl restart: SIGTERM) with everything shipped, then one more login
    await host.run(['kill', '-TERM', await shipperPid()]);
    await waitFor(() => /stopped: everything shipped/.test(host.auditLog()), 30_000, 'the shipper stopping');
    const third = await ssh(BOB_LINUX, keys.bob, 'echo after-restart');
    expect(third.stdout).toBe('after-restart\n');
    const all = await eventsWhen('the third login', (events) => events.filter((e) => e.event === 'session.end').length >= 7, 60_000);

    // each start after the first says that connections opened while it was down are not logged
    const restarts = all.filter((e) => e.event === 'audit.lost' && e.reason === 'shipper-restart');
    expect(restarts).toHaveLength(2);
    for (const e of restarts) {
      expect(e).toMatchObject({ count: null, host: TEST_INSTANCE_ID });
      expect(Date.parse(e.to)).toBeGreaterThanOrEqual(Date.parse(e.from));
    }

    const withTimes = await cloudWatch();
    const seqs = withTimes.map((e) => e.event.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    for (let i = 1; i < withTimes.length; i++) expect(withTimes[i].timestamp).toBeGreaterThanOrEqual(withTimes[i - 1].timestamp);
    const spooled = fs
      .readFileSync(path.join(host.dir, 'audit-state', 'events.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(spooled).toHaveLength(all.length);
    for (const session of all
      .filter((e) => e.event === 'session.end')
      .slice(-3)
      .map((e) => e.session)) {
      const kinds = ofSession(all, session);
      expect(Object.keys(kinds).sort()).toEqual(['auth', 'keys.lookup', 'session.end', 'session.start']);
      expect(kinds['session.start']).toHaveLength(1);
      expect(kinds['session.end']).toHaveLength(1);
    }
  });
});

/** The resident memory (KiB) of a process of this machine (the test host shares its pid namespace). */
function rssKiB(pid: string): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]);
}

describe('a connection flood from one session', () => {
  test('cut by the per-session rate limit and reported as tcp.limited; the shipper stays small and keeps logging other sessions', async () => {
    const FLOOD_SECONDS = Number(process.env.SSHB_FLOOD_SECONDS ?? 30);
    const pid = await shipperPid();
    const spoolFile = path.join(host.dir, 'audit-state', 'events.jsonl');
    const before = (await cloudWatch()).length;
    let maxRss = rssKiB(pid);
    const startRss = maxRss;
    let maxConntrack = 0;
    let maxSpool = 0;
    const sampler = setInterval(() => {
      try {
        maxRss = Math.max(maxRss, rssKiB(pid));
        maxSpool = Math.max(maxSpool, fs.statSync(spoolFile).size);
      } catch {
        // the process gone: checked below
      }
      host
        .run(['cat', '/proc/sys/net/netfilter/nf_conntrack_count'])
        .then((r) => (maxConntrack = Math.max(maxConntrack, Number(r.stdout.trim()) || 0)))
        .catch(() => undefined);
    }, 500);
    // a plain user (no sudo): non-blocking connects to closed ports beside the host, each closed at once
    const perl =
      'use Socket; use Fcntl; my $ip = inet_aton("' +
      VPC_ADDRESS +
      '"); my $end = time + ' +
      FLOOD_SECONDS +
      '; my $n = 0; ' +
      'while (time < $end) { for (1..100) { socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!"; ' +
      'fcntl($s, F_SETFL, O_NONBLOCK); connect($s, sockaddr_in(20000 + $n % 40000, $ip)); close $s; $n++ } } print "attempts=$n\\n";';
    const started = Date.now();
    const flood = ssh(BOB_LINUX, keys.bob, `perl -e '${perl}'`);
    await new Promise((r) => setTimeout(r, 8_000));
    // another user's tunnel during the flood
    const tunnel = await host.run([
      'bash',
      '-c',
      `ssh -i ${keys.carol} -p 22 -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o ExitOnForwardFailure=yes ` +
        `-N -L 127.0.0.1:18091:${VPC_ADDRESS}:${VPC_SERVICE_PORT} ${CAROL}@127.0.0.1 & tunnel=$!; ` +
        `for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/18091) 2>/dev/null && break; sleep 0.1; done; ` +
        `exec 3<>/dev/tcp/127.0.0.1/18091 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3; kill "$tunnel"`,
    ]);
    expect(tunnel.stdout).toContain(VPC_SERVICE_TEXT);
    const result = await flood;
    const floodMs = Date.now() - started;
    const attempts = Number(/attempts=(\d+)/.exec(result.stdout)?.[1] ?? 0);
    log(
      `during the flood: ${attempts} attempts in ${floodMs} ms; shipper RSS max ${Math.round(maxRss / 1024)} MiB, ` +
        `spool max ${maxSpool} bytes, conntrack entries max ${maxConntrack}`,
    );
    expect(result.status).toBe(0);

    // caught up: everything in the spool is in CloudWatch
    const spoolLines = () => fs.readFileSync(spoolFile, 'utf8').split('\n').filter(Boolean).length;
    const caughtUp = Date.now();
    await waitFor(async () => (await cloudWatch()).length === spoolLines() && spoolLines() > before, 120_000, 'the spool shipped');
    const catchUpMs = Date.now() - caughtUp;
    clearInterval(sampler);
    const events = (await cloudWatch()).map((e) => e.event).slice(before);
    // the flooding session: the one with the most connections logged
    const perSession: Record<string, number> = {};
    for (const e of events.filter((e) => e.event === 'tcp.connect')) perSession[e.session] = (perSession[e.session] ?? 0) + 1;
    const floodSession = Object.keys(perSession).sort((x, y) => perSession[y] - perSession[x])[0];
    const connects = events.filter((e) => e.event === 'tcp.connect' && e.session === floodSession);
    const limited = events.filter((e) => e.event === 'tcp.limited');
    const lost = events.filter((e) => e.event === 'audit.lost');
    const spoolBytes = fs.statSync(spoolFile).size;
    log(
      `flood: ${attempts} connection attempts in ${FLOOD_SECONDS} s (${Math.round(attempts / FLOOD_SECONDS)}/s), ` +
        `${connects.length} logged as tcp.connect, ${limited.length} tcp.limited (samples ${limited.map((e) => e.samples).join(',')}), ` +
        `${lost.length} audit.lost; shipper RSS ${Math.round(startRss / 1024)} MiB before, max ${Math.round(maxRss / 1024)} MiB; ` +
        `spool max ${maxSpool} bytes, ${spoolBytes} after; conntrack entries max ${maxConntrack}; ` +
        `flood took ${floodMs} ms, caught up ${catchUpMs} ms later`,
    );
    expect(floodSession).toBeDefined();
    expect(attempts).toBeGreaterThan(20_000);
    // the rate limit: the burst and 50 a second, with a little slack for timing
    expect(connects.length).toBeGreaterThan(200);
    expect(connects.length).toBeLessThan(200 + 50 * (FLOOD_SECONDS + 5));
    for (const e of connects) expect(e).toMatchObject({ user: BOB_LINUX, iam_user: BOB_IAM });
    // one per container and 10 s, with the session and its users
    expect(limited.length).toBeGreaterThanOrEqual(2);
    expect(limited.length).toBeLessThanOrEqual(Math.ceil(FLOOD_SECONDS / 10) + 2);
    for (const e of limited) {
      expect(e).toMatchObject({ session: floodSession, user: BOB_LINUX, iam_user: BOB_IAM, limit: '50/s (burst 200), 512 open' });
      expect(e.samples).toBeGreaterThan(0);
      expect(e.first_destination).toMatch(new RegExp(`^${VPC_ADDRESS.replace(/\./g, '\\.')}:\\d+$`));
    }
    expect(lost).toEqual([]);
    // the other user's tunnel, with its user
    expect(events).toContainEqual(
      expect.objectContaining({
        event: 'tcp.connect',
        user: CAROL,
        iam_user: CAROL,
        destination_address: VPC_ADDRESS,
        destination_port: VPC_SERVICE_PORT,
      }),
    );
    // the shipper: the same process, small
    expect(await shipperPid()).toBe(pid);
    expect(maxRss).toBeLessThan(200 * 1024);
    expect(spoolBytes).toBeLessThan(16 << 20);
  }, 300_000);

  test("connections to an address that never answers: the host's connection tracking holds at most 512 of one session", async () => {
    // 192.0.2.99 is on the host's VPC subnet and nobody answers it: each SYN leaves a tracked
    // connection (SYN_SENT, 120 s) on the host. Without a bound one session could fill the host's
    // table (nf_conntrack_max, 65,536 on a 2 GiB host), and new flows of every session would be dropped.
    const SECONDS = 15;
    const perl =
      'use Socket; use Fcntl; my $ip = inet_aton("192.0.2.99"); my $end = time + ' +
      SECONDS +
      '; my $n = 0; ' +
      'while (time < $end) { for (1..50) { socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!"; ' +
      'fcntl($s, F_SETFL, O_NONBLOCK); connect($s, sockaddr_in(20000 + $n % 40000, $ip)); close $s; $n++ } select(undef, undef, undef, 0.01) } print "attempts=$n\\n";';
    const count = async () => Number((await host.run(['cat', '/proc/sys/net/netfilter/nf_conntrack_count'])).stdout.trim());
    const before = await count();
    const { result, max } = await highestWhile(count, `perl -e '${perl}'`);
    const after = await count();
    const attempts = Number(/attempts=(\d+)/.exec(result.stdout)?.[1] ?? 0);
    log(`no answer: ${attempts} attempts in ${SECONDS} s; tracked connections ${before} before, max ${max}, ${after} after`);
    expect(attempts).toBeGreaterThan(2_000);
    expect(max - before).toBeGreaterThan(200);
    expect(max - before).toBeLessThanOrEqual(512 + 20);
  }, 120_000);

  test('UDP: a datagram to the VPC is a udp.flow with the session and its users; datagrams to many ports are cut at 512 flows tracked at once, reported as udp.limited', async () => {
    // Each new UDP destination and port a session sends to is an entry of the host's connection
    // tracking (30 s unanswered). Without a bound one session sending datagrams to many ports
    // could fill the host's table, and no new flow of any session, nor any new client, would pass.
    const SECONDS = 15;
    const UDP_PORT = 5353;
    const before = (await cloudWatch()).length;
    const perl =
      'use Socket; my $vpc = inet_aton("' +
      VPC_ADDRESS +
      '"); my $far = inet_aton("192.0.2.99"); socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!"; ' +
      'send($s, "hello", 0, sockaddr_in(' +
      UDP_PORT +
      ', $vpc)) or die "send: $!"; sleep 1; my $end = time + ' +
      SECONDS +
      '; my $n = 0; ' +
      'while (time < $end) { for (1..50) { send($s, "x", 0, sockaddr_in(20000 + $n % 40000, $far)); $n++ } select(undef, undef, undef, 0.01) } print "datagrams=$n\n";';
    // the session's UDP flows the host tracks (its container's address is the source of each)
    const count = async () =>
      Number((await host.run(['bash', '-c', "grep -c ' udp .* dst=192\\.0\\.2\\.99 ' /proc/net/nf_conntrack || true"])).stdout.trim());
    const { result, max } = await highestWhile(count, `perl -e '${perl}'`);
    const datagrams = Number(/datagrams=(\d+)/.exec(result.stdout)?.[1] ?? 0);
    log(`udp: ${datagrams} datagrams to distinct ports in ${SECONDS} s; flows tracked at most ${max}`);
    expect(result.status).toBe(0);
    expect(datagrams).toBeGreaterThan(2_000);
    expect(max).toBeGreaterThan(200);
    expect(max).toBeLessThanOrEqual(512 + 20);
    const events = (
      await eventsWhen('udp.limited after the datagrams', (all) => all.slice(before).some((e) => e.event === 'udp.limited'), 60_000)
    ).slice(before);
    const flows = events.filter((e) => e.event === 'udp.flow');
    const limited = events.filter((e) => e.event === 'udp.limited');
    log(`udp: ${flows.length} udp.flow, ${limited.length} udp.limited (samples ${limited.map((e) => e.samples).join(',')})`);
    const first = flows.find((e) => e.destination_address === VPC_ADDRESS);
    expect(first).toMatchObject({
      user: BOB_LINUX,
      iam_user: BOB_IAM,
      destination_port: UDP_PORT,
      protocol: 'udp',
      source: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+:\d+$/),
    });
    expect(first!.session).toMatch(/^[0-9a-f]{24}$/);
    const far = flows.filter((e) => e.destination_address === '192.0.2.99');
    expect(far.length).toBeGreaterThan(200);
    expect(far.length).toBeLessThan(200 + 50 * (SECONDS + 5));
    for (const e of far) expect(e).toMatchObject({ session: first!.session, user: BOB_LINUX, protocol: 'udp' });
    expect(limited.length).toBeGreaterThanOrEqual(1);
    for (const e of limited) {
      expect(e).toMatchObject({ session: first!.session, user: BOB_LINUX, iam_user: BOB_IAM, limit: '50/s (burst 200), 512 open' });
      expect(e.first_destination).toMatch(/^192\.0\.2\.99:\d+$/);
    }
    // counted apart from TCP: none of this session's datagrams took from its TCP budget
    expect(events.filter((e) => e.event === 'tcp.limited' && e.session === first!.session)).toEqual([]);
  }, 180_000);
});
