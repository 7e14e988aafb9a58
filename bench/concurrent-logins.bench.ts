/**
 * concurrent-logins: 50 logins of 50 different IAM users at once (`ssh ... true`, each from its own
 * loopback address, 127.0.3.1 ... 127.0.3.50), wall time from the first connect to the last command
 * done, beside the same 50 logins (same keys, same addresses) at once to a plain `sshd -i` of the
 * distribution behind `systemd-socket-activate --inetd` on the same test host. Rounds interleaved;
 * before each the host is settled (the front's ready containers there, no session left).
 *
 * The front keeps BASTION_READY_SESSIONS (the module's default 2) containers ready: the other
 * logins of a burst each start a container of their own (the front starts at most 4 at once), so
 * the bench counts the logins that found a ready container and times the container starts from
 * dockerd's events (create → start of each, and the span of all of them).
 * Target: the bastion's wall time at most 2× the plain sshd's.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost } from '../test/helpers/harness';
import {
  bootHost,
  cleanup,
  machine,
  percentile,
  recordDockerEvents,
  round,
  sessionStarts,
  settlePool,
  sshOptions,
  startPlainSshd,
  table,
} from './support/common';

const LOGINS = Number(process.env.BENCH_CONCURRENT_LOGINS ?? 50);
const ROUNDS = Number(process.env.BENCH_CONCURRENT_ROUNDS ?? 3);
const READY = Number(process.env.BENCH_READY_SESSIONS ?? 2);
const PLAIN_PORT = 2400;
const TARGET_RATIO = 2;

interface Round {
  wallMs: number;
  loginsMs: number[];
  failed: number;
  startedAt: number;
  endedAt: number;
}

/** Runs `LOGINS` ssh logins at once on the test host; each line of the script's output is "i status µs". */
async function burst(host: BastionTestHost, users: { name: string; keyFiles: string[] }[], port: number, plain: boolean): Promise<Round> {
  const lines = users.slice(0, LOGINS).map((u, i) => {
    // a generous ConnectTimeout: under a burst the server's banner may come late
    const options = sshOptions(u.keyFiles[0], port)
      .map((o) => (o === 'ConnectTimeout=20' ? 'ConnectTimeout=300' : o))
      .join(' ');
    return `( t0=$(date +%s%N); ssh -b 127.0.3.${i + 1} ${options} ${plain ? 'root' : u.name}@127.0.0.1 true >/dev/null 2>>"$ERRLOG"; s=$?; t1=$(date +%s%N); echo "${i} $s $(( (t1 - t0) / 1000 ))" ) &`;
  });
  const script = [
    'T0=$(date +%s%N)',
    'echo "start $T0"',
    ...lines,
    'wait',
    'T1=$(date +%s%N)',
    'echo "wall $(( (T1 - T0) / 1000 )) $T1"',
  ].join('\n');
  const out = await host.must(['bash', '-c', script], { env: { ERRLOG: path.join(host.dir, 'concurrent.err') }, timeoutMs: 600_000 });
  const result: Round = { wallMs: 0, loginsMs: [], failed: 0, startedAt: 0, endedAt: 0 };
  for (const line of out.trim().split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'start') result.startedAt = Number(f[1]) / 1e6;
    else if (f[0] === 'wall') {
      result.wallMs = Number(f[1]) / 1000;
      result.endedAt = Number(f[2]) / 1e6;
    } else {
      result.loginsMs.push(Number(f[2]) / 1000);
      if (f[1] !== '0') result.failed++;
    }
  }
  return result;
}

export async function run(): Promise<Record<string, unknown>> {
  try {
    const {
      host,
      users,
      ms: bootMs,
    } = await bootHost({ members: LOGINS, withKeys: LOGINS, settings: { BASTION_READY_SESSIONS: String(READY) } });
    console.log(`test host booted in ${bootMs} ms; ${LOGINS} IAM users with keys; ${READY} containers kept ready`);
    await startPlainSshd(
      host,
      PLAIN_PORT,
      users.map((u) => fs.readFileSync(`${u.keyFiles[0]}.pub`, 'utf8').trim()),
    );
    const settle = async () => host.must(['bash', '-c', settlePool(READY)], { timeoutMs: 180_000 });

    // warm-up: one login each (the front's own start, the first USERS refresh)
    await settle();
    for (const [port, login] of [
      [22, users[0].name],
      [PLAIN_PORT, 'root'],
    ] as const) {
      await host.must(['ssh', ...sshOptions(users[0].keyFiles[0], port), `${login}@127.0.0.1`, 'true']);
    }

    const rounds: { bastion: Round; plain: Round; tookReady: number; sessions: number; starts: { ms: number; at: number }[] }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await settle();
      const ready = (
        await host.docker('ps', '--filter', 'label=ssh-bastion.session=/run/ssh-bastion/session.sock', '--format', '{{.Names}}')
      )
        .split('\n')
        .filter(Boolean);
      const journalBefore = host.journal().length;
      const stopEvents = await recordDockerEvents(host);
      const bastion = await burst(host, users, 22, false);
      const started = sessionStarts(host.journal().slice(journalBefore));
      // container starts in the burst, from dockerd's events: create → start of each
      const created = new Map<string, number>();
      const starts: { ms: number; at: number }[] = [];
      for (const e of await stopEvents()) {
        if (e.at < bastion.startedAt || e.at > bastion.endedAt) continue;
        if (e.action === 'create') created.set(e.name, e.at);
        else if (e.action === 'start' && created.has(e.name))
          starts.push({ ms: e.at - created.get(e.name)!, at: e.at - bastion.startedAt });
      }
      await settle();
      const plain = await burst(host, users, PLAIN_PORT, true);
      rounds.push({
        bastion,
        plain,
        tookReady: started.filter((s) => ready.includes(s.container)).length,
        sessions: started.length,
        starts,
      });
      console.log(
        `round ${r + 1}: bastion ${round(bastion.wallMs, 0)} ms (${bastion.failed} failed), plain ${round(plain.wallMs, 0)} ms (${plain.failed} failed); ` +
          `${started.length} sessions, ${rounds[r].tookReady} took a ready container, ${starts.length} containers started during the burst`,
      );
    }
    const med = (f: (x: (typeof rounds)[number]) => number) => percentile(rounds.map(f), 50);
    const wallB = med((x) => x.bastion.wallMs);
    const wallP = med((x) => x.plain.wallMs);
    const ratio = wallB / wallP;
    const failed = rounds.reduce((a, x) => a + x.bastion.failed + x.plain.failed, 0);
    const allStarts = rounds.flatMap((x) => x.starts);
    const allB = rounds.flatMap((x) => x.bastion.loginsMs);
    const allP = rounds.flatMap((x) => x.plain.loginsMs);
    console.log(`\n${LOGINS} concurrent logins of ${LOGINS} users, ${ROUNDS} rounds interleaved (ms)`);
    table(
      ['path', 'wall (median)', 'every round', 'login p50', 'login p95', 'login max', 'failed'],
      [
        [
          'bastion',
          round(wallB, 0),
          rounds.map((x) => round(x.bastion.wallMs, 0)).join(' '),
          round(percentile(allB, 50), 0),
          round(percentile(allB, 95), 0),
          round(Math.max(...allB), 0),
          rounds.reduce((a, x) => a + x.bastion.failed, 0),
        ],
        [
          'plain sshd -i',
          round(wallP, 0),
          rounds.map((x) => round(x.plain.wallMs, 0)).join(' '),
          round(percentile(allP, 50), 0),
          round(percentile(allP, 95), 0),
          round(Math.max(...allP), 0),
          rounds.reduce((a, x) => a + x.plain.failed, 0),
        ],
      ],
    );
    const tookReady = rounds.map((x) => x.tookReady);
    const spans = rounds.map((x) => (x.starts.length ? Math.max(...x.starts.map((s) => s.at)) : 0));
    console.log(
      `\nwhere the time goes: ${tookReady.join(', ')} logins per round took a ready container; the others waited for a container of their own:`,
    );
    console.log(
      `  ${round(allStarts.length / ROUNDS, 0)} container starts per burst (the pool's refills included), docker create → start p50 ${round(
        percentile(
          allStarts.map((s) => s.ms),
          50,
        ),
        0,
      )} ms, p95 ${round(
        percentile(
          allStarts.map((s) => s.ms),
          95,
        ),
        0,
      )} ms;`,
    );
    console.log(
      `  the last container started ${spans.map((s) => round(s / 1000, 1)).join(', ')} s after the burst began (the front starts at most 4 at once)`,
    );
    console.log(`wall ratio ${round(ratio, 2)} (target ≤ ${TARGET_RATIO}): ${ratio <= TARGET_RATIO && failed === 0 ? 'met' : 'MISSED'}`);
    return {
      bench: 'concurrent-logins',
      logins: LOGINS,
      rounds: ROUNDS,
      ready_sessions: READY,
      bastion_wall_ms: round(wallB, 0),
      plain_wall_ms: round(wallP, 0),
      ratio: round(ratio, 2),
      bastion_rounds_ms: rounds.map((x) => round(x.bastion.wallMs, 0)),
      plain_rounds_ms: rounds.map((x) => round(x.plain.wallMs, 0)),
      bastion_login_ms: { p50: round(percentile(allB, 50), 0), p95: round(percentile(allB, 95), 0), max: round(Math.max(...allB), 0) },
      plain_login_ms: { p50: round(percentile(allP, 50), 0), p95: round(percentile(allP, 95), 0), max: round(Math.max(...allP), 0) },
      took_ready_container: tookReady,
      container_starts_per_burst: rounds.map((x) => x.starts.length),
      container_create_to_start_ms: {
        p50: round(
          percentile(
            allStarts.map((s) => s.ms),
            50,
          ),
          0,
        ),
        p95: round(
          percentile(
            allStarts.map((s) => s.ms),
            95,
          ),
          0,
        ),
      },
      last_container_start_s: spans.map((s) => round(s / 1000, 1)),
      failed,
      target_ratio: TARGET_RATIO,
      met: ratio <= TARGET_RATIO && failed === 0,
      machine: machine(),
    };
  } finally {
    await cleanup();
  }
}
