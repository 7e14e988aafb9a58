// Faults and load at runtime, end to end: one test host (test/helpers/harness.ts) booted by the
// real run-sections, with the fault proxy (test/helpers/fault-proxy.ts) between the real key
// lookup service and moto's IAM; real OpenSSH clients and sshd in real session containers.
//
// 1. Throttling, 500, 503 and a hanging IAM make THAT login fail closed, the next one succeeds,
//    nothing crashed and no container is left.
// 2. 50 concurrent logins of 50 different users all succeed, at exactly 2 + K IAM calls each.
// 3. A flood of 200 unauthenticated connections (50 open at a time) plus ssh clients with no
//    acceptable key: a real login succeeds during it, connections that never send an SSH
//    identification line get no session, those that never reach authentication make no KEYS
//    call, USERS refreshes stay within the cache budget, and the host is back to its baseline
//    (containers, processes, fds; dockerd answers) afterwards.
//
// The flood comes from the one address 127.0.0.1: the front's per-source limits are raised here
// (they are proven in test/e2e/front.test.ts), so that this test measures the harder case, the
// cost of the connections themselves.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Settings, testSettings } from '../helpers/harness';
import { countOf, FaultyBastionHost, flood, HostStats, KEYS_ACTIONS } from './load-helpers';
import { log, logEachTest } from './log';

jest.setTimeout(120_000);
logEachTest();

const SERVICE_PORT = 22;
const LOAD_USERS = 50;
const loadUser = (i: number): string => `load${String(i).padStart(2, '0')}`;
const GROUPS = ['bastion-admins', 'bastion-load'];
const USERS_CACHE_SECONDS = 60; // the product default of BASTION_USERS_CACHE_SECONDS
// Flood size: every connection costs a whole container here (see above), about 1.5 per second on
// a busy 2-core machine, so the default keeps the file within its time budget;
// SSHB_LOAD_FLOOD=300 (a multiple of 4) for a bigger one.
const FLOOD = Number(process.env.SSHB_LOAD_FLOOD ?? 200);
const FLOOD_CONCURRENCY = 50;
// The flood's own bound: 2 s a connection, three times the ~0.67 s a connection takes on 2 free
// cores (132-148 s for 200 measured) and 1.5-1.75 times what it takes on one (228-263 s). It bounds each
// connection and each ssh client during the flood as well: what is checked is that every one of
// them is answered, not how long it queued (connections wait for container starts queued in
// dockerd, in an order of dockerd's choosing). Speed is measured in bench/.
const FLOOD_BOUND_S = FLOOD * 2;

const SETTINGS: Settings = testSettings({
  BASTION_SERVICE_PORT: String(SERVICE_PORT),
  BASTION_SESSION_MAX_SECONDS: '600',
  BASTION_ALLOWED_IAM_GROUPS: GROUPS.join(','),
  BASTION_HOST_KEY_PARAMETER: '', // a host key generated at boot: this file is not about SSM
  // the flood and the logins all come from 127.0.0.1 (see above)
  BASTION_MAX_CONNECTIONS_PER_SOURCE: '1000',
  BASTION_HOSTNAME_PREFIX: 'load-bastion',
  BASTION_USERS_CACHE_SECONDS: String(USERS_CACHE_SECONDS),
});

let host: FaultyBastionHost;
const keys: Record<string, string> = {};
let daemonPid: number | undefined;

function keyPair(dir: string, name: string): { file: string; publicKey: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { file, publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim() };
}

/** What the harness's systemd-socket-activate writes to the journal of every connection. */
/** The front's counts, one line per 10 s: refusals (the flood's closed and garbage connections) and fresh starts. */
const FRONT_SUMMARY_LINE =
  /^ssh-bastion: front: (refused \d+ connections from \d+ sources in 10s: .*|\d+ sessions started a container of their own in 10s: .*)$/;
const SOCKET_ACTIVATE_LINE =
  /^(Communication attempt on fd \d+\.|Connection from .+ to \S+|Spawned .* as PID \d+\.|Execing .*|Child \d+ died with code \d+)$/;

/** How the sessions whose end lines are in `journal` ended: count by "status=N (reason)". */
function sessionEnds(journal: string): Record<string, number> {
  const ends: Record<string, number> = {};
  for (const m of journal.matchAll(/ session end client=\S+ user=\S+ container=\S+ duration=\d+s (status=\d+ \(.*\))$/gm)) {
    ends[m[1]] = (ends[m[1]] ?? 0) + 1;
  }
  return ends;
}

/** Journal lines of the session wrapper: how many sessions started and ended (so far, or in `journal`). */
function sessionCounts(journal = host.journal()): { started: number; ended: number } {
  return { started: journal.match(/ session start client=/g)?.length ?? 0, ended: journal.match(/ session end client=/g)?.length ?? 0 };
}

function daemonLines(re: RegExp): string[] {
  return host
    .daemonLog()
    .split('\n')
    .filter((l) => re.test(l));
}

/** Nothing crashed: the same daemon process, its socket answers, dockerd answers, no container. */
async function expectHealthy(): Promise<void> {
  await host.waitForNoContainers(30_000);
  expect(host.daemonPid()).toBe(daemonPid);
  expect(await host.usersOnSocket()).toContain('alice');
  expect(await host.dockerAnswers()).toBe(true);
  expect(host.daemonLog()).not.toMatch(/Traceback/);
}

beforeAll(async () => {
  host = new FaultyBastionHost({ ...SETTINGS });
  await host.prepare();
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  for (const name of ['alice', 'stranger', ...Array.from({ length: LOAD_USERS }, (_, i) => loadUser(i))]) {
    const pair = keyPair(keyDir, name);
    keys[name] = pair.file;
    keys[`${name}.pub`] = pair.publicKey;
  }
  await host.moto!.seedUsers([
    { name: 'alice', groups: ['bastion-admins'], keys: [keys['alice.pub']] },
    ...Array.from({ length: LOAD_USERS }, (_, i) => ({ name: loadUser(i), groups: ['bastion-load'], keys: [keys[`${loadUser(i)}.pub`]] })),
  ]);
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
  daemonPid = host.daemonPid();
  if (!daemonPid) throw new Error(`key lookup service not running:\n${host.daemonLog()}`);
  // The boot's USERS went through the proxy: proof that the daemon talks to IAM through it.
  expect(host.proxy.countActions().GetGroup).toBeGreaterThanOrEqual(GROUPS.length);
  log(`boot (run-sections, image build included): ${boot.ms} ms`);
}, 300_000);

afterAll(async () => {
  await host?.stop();
});

describe('IAM faults during a login', () => {
  afterEach(() => host.proxy.clearFaults());

  test.each([
    // fault, action it hits, attempts answered with it, code the daemon logs
    ['throttle', 'ListGroupsForUser', 3, 'Throttling'],
    ['http500', 'ListSSHPublicKeys', 3, 'ServiceFailure'],
    ['http503', 'GetSSHPublicKey', 3, 'ServiceUnavailable'],
    ['hang', 'ListGroupsForUser', 3, 'Timeout'],
  ] as const)('%s on %s: that login fails closed, the next one succeeds, nothing crashed', async (fault, action, count, code) => {
    await host.waitForNoContainers(30_000);
    const failedBefore = daemonLines(new RegExp(`keys lookup failed for user=alice: ${code} iam_user=alice `)).length;
    host.proxy.clear();
    host.proxy.inject(fault, count, { action });

    const failed = await host.sshWithin({ user: 'alice', key: keys.alice, command: 'echo ok', timeoutMs: 60_000 });
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain('Permission denied (publickey)');
    expect(failed.status).toBe(255);
    // the daemon failed THAT lookup closed, with one log line naming the error
    const failures = daemonLines(new RegExp(`keys lookup failed for user=alice: ${code} iam_user=alice `));
    expect(failures).toHaveLength(failedBefore + 1);
    const lookupMs = Number(/ ms=(\d+)/.exec(failures[failures.length - 1])?.[1]);
    const faulted = host.proxy.requests.filter((r) => r.fault === fault);
    if (fault === 'hang') {
      // each hanging attempt ends at the 3 s read timeout; the request bound (8 s) ends the lookup
      expect(lookupMs).toBeGreaterThanOrEqual(7900);
      expect(lookupMs).toBeLessThan(9500);
      expect(failed.ms).toBeGreaterThanOrEqual(8000);
      expect(failed.ms).toBeLessThan(30_000);
      expect(faulted.length).toBeGreaterThanOrEqual(2);
    } else {
      // bounded retries: the 3 attempts of the failing call, no call after it
      expect(faulted.map((r) => r.action)).toEqual([action, action, action]);
      const keysCalls = host.proxy.actions().filter((a) => KEYS_ACTIONS.includes(a));
      expect(keysCalls[keysCalls.length - 1]).toBe(action);
    }
    log(
      `${fault} on ${action}: lookup failed after ${lookupMs} ms, login refused after ${failed.ms} ms; IAM requests ${JSON.stringify(host.proxy.countActions())}`,
    );

    host.proxy.clearFaults();
    const next = await host.sshWithin({ user: 'alice', key: keys.alice, command: 'echo ok', timeoutMs: 60_000 });
    expect(next.stderr).toBe('');
    expect(next.stdout).toBe('ok\n');
    expect(next.status).toBe(0);
    await expectHealthy();
  });
});

describe('load', () => {
  test(`${LOAD_USERS} concurrent logins of different users all succeed`, async () => {
    await host.waitForNoContainers(30_000);
    host.proxy.clear();
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: LOAD_USERS }, (_, i) =>
        // generous but bounded: 50 containers start at once on a small machine
        host.sshWithin({ user: loadUser(i), key: keys[loadUser(i)], command: 'echo ok; id -un', timeoutMs: 150_000, connectTimeoutS: 140 }),
      ),
    );
    const wallMs = Date.now() - started;
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    log(
      `${LOAD_USERS} concurrent logins: wall ${wallMs} ms; per login min ${ms[0]} median ${ms[ms.length >> 1]} max ${ms[ms.length - 1]} ms; ` +
        `IAM requests ${JSON.stringify(host.proxy.countActions())}`,
    );
    const failures = results
      .map((r, i) => ({ r, user: loadUser(i) }))
      .filter(({ r, user }) => r.status !== 0 || r.stdout !== `ok\n${user}\n`)
      .map(({ r, user }) => `${user}: status ${r.status} after ${r.ms} ms: ${JSON.stringify(r.stdout)} ${r.stderr.trim()}`);
    if (failures.length > 0) {
      const rateLimited = daemonLines(/RateLimited/).length;
      throw new Error(
        `${failures.length} of ${LOAD_USERS} logins failed (daemon RateLimited lines: ${rateLimited}):\n${failures.join('\n')}`,
      );
    }
    // 2 + K IAM calls per login (group mode, one active key each), no retry, no extra lookup
    expect(countOf(host.proxy.countActions(), KEYS_ACTIONS)).toEqual({
      ListGroupsForUser: LOAD_USERS,
      ListSSHPublicKeys: LOAD_USERS,
      GetSSHPublicKey: LOAD_USERS,
    });
    expect(wallMs).toBeLessThan(150_000);
    await expectHealthy();
  }, 200_000);

  test(
    `a flood of ${FLOOD} unauthenticated connections (${FLOOD_CONCURRENCY} at a time): a login succeeds during it, no KEYS calls, host back to baseline`,
    async () => {
      const UNKNOWN_USER_SSH = 10; // reach authentication as a user that does not exist: no KEYS call
      const WRONG_KEY_SSH = 5; // alice with a key IAM does not know: one lookup (2 + K calls) each

      await host.waitForNoContainers(30_000);
      // settled: the sessions of the tests before are gone from the process table as well (two
      // samples a second apart agree, at most 20 s)
      let baseline: HostStats = host.stats();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = host.stats();
        const same = JSON.stringify(now.byName) === JSON.stringify(baseline.byName);
        baseline = now;
        if (same) break;
      }
      const sessionsBefore = sessionCounts();
      const journalBefore = host.journal().length;
      const daemonTrouble =
        /request rejected reason=too-many-connections|connection error|accept failed|users lookup timed out|users refresh failed/;
      const troubleBefore = daemonLines(daemonTrouble).length;
      host.proxy.clear();
      const started = Date.now();

      const floodRun = flood(host, {
        port: SERVICE_PORT,
        total: FLOOD,
        concurrency: FLOOD_CONCURRENCY,
        perConnS: FLOOD_BOUND_S,
        totalS: FLOOD_BOUND_S,
      });
      const during = { timeoutMs: FLOOD_BOUND_S * 1000, connectTimeoutS: FLOOD_BOUND_S - 10 };
      // flood sessions open (started, not ended) and containers running when the login starts
      let openDuring = 0;
      let containersDuring = 0;
      const loginDuring = (async () => {
        // once the flood is well under way
        const deadline = Date.now() + 60_000;
        // (only the client-banner quarter of the flood becomes sessions)
        while (sessionCounts().started - sessionsBefore.started < Math.min(20, Math.floor(FLOOD * 0.1))) {
          if (Date.now() > deadline) throw new Error(`the flood did not get under way: ${JSON.stringify(sessionCounts())}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        const now = sessionCounts();
        openDuring = now.started - sessionsBefore.started - (now.ended - sessionsBefore.ended);
        containersDuring = (await host.sessionContainers()).length;
        return host.sshWithin({ user: 'alice', key: keys.alice, command: 'echo ok', ...during });
      })();
      const refused = Promise.all([
        ...Array.from({ length: UNKNOWN_USER_SSH }, () =>
          host.sshWithin({ user: 'intruder', key: keys.stranger, command: 'true', ...during }),
        ),
        ...Array.from({ length: WRONG_KEY_SSH }, () => host.sshWithin({ user: 'alice', key: keys.stranger, command: 'true', ...during })),
      ]);
      // progress every 5 s: sessions started/ended (journal) and containers running (shim processes)
      const samples: string[] = [];
      const sampler = setInterval(() => {
        const s = sessionCounts();
        samples.push(
          `${Math.round((Date.now() - started) / 1000)}s:${s.started - sessionsBefore.started}/${s.ended - sessionsBefore.ended}/${host.stats().byName['containerd-shim'] ?? 0}`,
        );
      }, 5000);
      const [result, login, denied] = await Promise.all([floodRun, loginDuring, refused]).finally(() => clearInterval(sampler));
      const floodMs = Date.now() - started;
      log(`flood progress (time:sessions started/ended/containers): ${samples.join(' ')}`);
      log(
        `flood: ${FLOOD} connections, ${FLOOD_CONCURRENCY} at a time, done in ${result.ms} ms (max ${result.maxOpen} open); ${JSON.stringify(result.kinds)}; ` +
          `login during the flood: ${login.ms} ms with ${openDuring} flood sessions open (${containersDuring} containers running); IAM requests ${JSON.stringify(host.proxy.countActions())}`,
      );

      // Waits for the flood's sessions to be over, then checks; a failure names how the sessions
      // ended, what else the sessions wrote (docker's errors) and the flood's progress.
      // sessions: the flood connections that sent an identification line, and the ssh clients
      const connections = FLOOD / 4 + 1 + UNKNOWN_USER_SSH + WRONG_KEY_SSH;
      let gone = '';
      await host.waitForNoContainers(60_000).catch((e: Error) => (gone = e.message));
      // a wrapper writes its end line once it has seen its container gone: a busy host may lag
      const endsBy = Date.now() + 30_000;
      while (sessionCounts().ended - sessionsBefore.ended < connections && Date.now() < endsBy)
        await new Promise((r) => setTimeout(r, 500));
      const floodJournal = host.journal().slice(journalBefore);
      const ends = sessionEnds(floodJournal);
      const otherLines = floodJournal
        .split('\n')
        .filter(
          (l) =>
            l.trim() !== '' &&
            !/ssh-bastion: (session|ssh-bastion-\S+): /.test(l) &&
            !FRONT_SUMMARY_LINE.test(l) &&
            !SOCKET_ACTIVATE_LINE.test(l),
        );
      log(`flood sessions ended: ${JSON.stringify(ends)}; other session output: ${otherLines.length} lines`);
      try {
        if (gone) throw new Error(gone);
        floodChecks();
      } catch (e) {
        // how the sessions ended first: a report that shows only a message's first lines keeps it
        throw new Error(
          `flood sessions ended: ${JSON.stringify(ends)}; other session output: ${otherLines.length} lines\n${(e as Error).message}\n\n` +
            `other session output (up to 15 lines):\n${otherLines.slice(0, 15).join('\n')}\nflood progress (time:started/ended/containers): ${samples.join(' ')}`,
          { cause: e },
        );
      }

      function floodChecks(): void {
        if (result.unfinished > 0) {
          throw new Error(
            `the flood did not finish within its bound: ${result.unfinished} of ${FLOOD} connections unfinished after ${result.ms} ms; ${JSON.stringify(result.kinds)}`,
          );
        }
        // a real login succeeded during the flood
        expect({ status: login.status, stdout: login.stdout, stderr: login.stderr }).toEqual({ status: 0, stdout: 'ok\n', stderr: '' });
        // it competed with the flood: sessions were open (their containers may all be still queued)
        expect(openDuring).toBeGreaterThan(0);
        // ssh with no acceptable key was refused, each one
        expect(denied.map((d) => d.status)).toEqual(Array(UNKNOWN_USER_SSH + WRONG_KEY_SSH).fill(255));
        denied.forEach((d) => expect(d.stderr).toContain('Permission denied (publickey)'));
        // every flood connection was accepted and answered, none hung until the client gave up
        for (const [kind, k] of Object.entries(result.kinds)) {
          expect({ kind, n: k.n, connect_errors: k.connect_errors, timed_out: k.timed_out }).toEqual({
            kind,
            n: FLOOD / 4,
            connect_errors: 0,
            timed_out: 0,
          });
        }
        // a client that waits for the server to speak first gets nothing, and is closed after the
        // login grace; one that sent its line gets sshd
        expect(result.kinds['wait-banner'].server_banner).toBe(0);
        expect(result.kinds['client-banner'].server_banner).toBe(FLOOD / 4);
        expect(result.kinds['client-banner'].server_closed).toBe(FLOOD / 4);
        expect(result.kinds.garbage.server_closed).toBe(FLOOD / 4);
        expect(result.maxOpen).toBeLessThanOrEqual(FLOOD_CONCURRENCY);

        // every session ended, each by itself: none failed to start its container or to hand it the
        // connection
        expect(sessionCounts(floodJournal)).toEqual({ started: connections, ended: connections });
        expect(ends).toEqual({ 'status=0 (ended)': connections });
        // and nothing else wrote to the journal (docker run's errors would)
        expect(otherLines).toEqual([]);

        // IAM: KEYS calls only for the connections that offered a key of a known user (the real login
        // and the wrong-key attempts), 2 + K = 3 each; the flood itself and the unknown user: none.
        const counts = host.proxy.countActions();
        const lookups = 1 + WRONG_KEY_SSH;
        expect(countOf(counts, KEYS_ACTIONS)).toEqual({ ListGroupsForUser: lookups, ListSSHPublicKeys: lookups, GetSSHPublicKey: lookups });
        // USERS: each of the ~66 sessions asked USERS; IAM saw at most one refresh (one
        // GetGroup per group) per cache period
        const budget = GROUPS.length * (Math.ceil(floodMs / 1000 / USERS_CACHE_SECONDS) + 1);
        expect(counts.GetGroup ?? 0).toBeLessThanOrEqual(budget);
        expect(Object.keys(counts).filter((a) => a !== 'GetGroup' && !KEYS_ACTIONS.includes(a))).toEqual([]);
        // sshd never asked KEYS for the user that does not exist; the daemon served every connection
        expect(daemonLines(/ user=intruder /)).toEqual([]);
        expect(daemonLines(daemonTrouble).slice(troubleBefore)).toEqual([]);
      }

      // the host is back to its baseline: the same processes (no session wrapper, docker client,
      // containerd shim left), fds within a small margin, dockerd answers. socat processes are the
      // harness's relays to moto and the proxy, one per open HTTP keep-alive connection of the
      // daemon (botocore's pool): compared with a margin.
      await expectHealthy();
      const withoutRelays = (stats: HostStats) => Object.fromEntries(Object.entries(stats.byName).filter(([name]) => name !== 'socat'));
      const back = (stats: HostStats) =>
        JSON.stringify(withoutRelays(stats)) === JSON.stringify(withoutRelays(baseline)) &&
        (stats.byName.socat ?? 0) <= (baseline.byName.socat ?? 0) + 10 &&
        stats.fds <= baseline.fds + 32;
      let after = host.stats();
      const deadline = Date.now() + 30_000;
      while (!back(after) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        after = host.stats();
      }
      log(`host before the flood: ${JSON.stringify(baseline)}; after: ${JSON.stringify(after)}`);
      expect(withoutRelays(after)).toEqual(withoutRelays(baseline));
      expect(after.byName.socat ?? 0).toBeLessThanOrEqual((baseline.byName.socat ?? 0) + 10);
      expect(after.fds).toBeLessThanOrEqual(baseline.fds + 32);
    },
    (FLOOD_BOUND_S + 210) * 1000,
  );
});
