/**
 * held-connections: a real login while the service port is held by connections that never log in:
 * 500 idle ones that never send a byte (5 from each of 127.0.1.1 ... 127.0.1.100, each reopened
 * when the front closes it at the end of the login grace, so 500 stay held) and 200 that send an
 * SSH identification line and then stall (5 from each of 127.0.2.1 ... 127.0.2.40, opened once).
 * Every address stays under BASTION_MAX_CONNECTIONS_PER_SOURCE (the module's default, 10); every
 * other setting is the module's default too, so the host's caps derived from its memory apply.
 *
 * The stalled clients identified themselves, so each gets a session and a container until the
 * container's sshd ends it (LoginGraceTime = the login grace, 20 s). The login, from 127.0.0.1,
 * is timed as soon as all 700 are open (the worst moment: their containers are being started),
 * then again every few seconds until every stalled connection is gone. Sampled every second: the
 * containers running, the memory of all session containers (their slice's cgroup, and its peak),
 * the machine's memory in use; every few seconds, the PSS of the host's processes.
 * Target: the login takes at most 5 s.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost } from '../test/helpers/harness';
import {
  bootHost,
  cleanup,
  holdConnections,
  machine,
  onCleanup,
  percentile,
  recordDockerEvents,
  round,
  sessionStarts,
  settlePool,
  sleep,
  sshOptions,
  table,
} from './support/common';

const IDLE_SOURCES = 100;
const STALL_SOURCES = 40;
const PER_SOURCE = 5;
const TARGET_MS = 5000;
const MAX_SECONDS = Number(process.env.BENCH_HELD_SECONDS ?? 300);

/**
 * Samples on the test host once a second until the stop file exists: "S <ms> <containers>
 * <slice usage bytes> <slice peak bytes> <machine used KiB>", and every 5th time "P <ms> <PSS KiB of
 * the host's processes> <of it: session programs> <shims> <unit-instance.py> <count of each>".
 * One Perl process (no command per sample); the slice is found from a ready container's cgroup.
 */
const SAMPLER = String.raw`
use strict; use warnings; use Time::HiRes qw(time sleep);
my ($stop, $slice) = @ARGV;
sub slurp { my $f = shift; open(my $h, '<', $f) or return ''; local $/; my $t = <$h>; close $h; return $t // '' }
if (open(my $r, '>', "$slice/memory.max_usage_in_bytes")) { print $r "0"; close $r }
my $me = readlink('/proc/self/ns/net');
$| = 1;
for (my $i = 0; !-e $stop; $i++) {
  my $now = int(time * 1000);
  opendir(my $d, $slice); my $c = grep { !/^\./ && -d "$slice/$_" } readdir($d); closedir($d);
  my $m = slurp('/proc/meminfo'); my ($t) = $m =~ /^MemTotal:\s+(\d+)/m; my ($a) = $m =~ /^MemAvailable:\s+(\d+)/m;
  my ($u, $p) = (slurp("$slice/memory.usage_in_bytes"), slurp("$slice/memory.max_usage_in_bytes"));
  chomp($u, $p);
  print "S $now $c $u $p ", $t - $a, "
";
  if ($i % 5 == 0) {
    my ($all, $ses, $shim, $ui, $ns, $nh, $nu) = (0) x 7;
    opendir(my $pd, '/proc');
    for my $pid (grep { /^\d+$/ } readdir($pd)) {
      next unless (readlink("/proc/$pid/ns/net") // '') eq $me;
      my ($pss) = slurp("/proc/$pid/smaps_rollup") =~ /^Pss:\s+(\d+)/m; $pss //= 0;
      my $args = join(' ', split(chr(0), slurp("/proc/$pid/cmdline")));
      $all += $pss;
      if ($args =~ m{/libexec/ssh-bastion/session }) { $ses += $pss; $ns++ }
      elsif ($args =~ m{^(\S*/)?containerd-shim}) { $shim += $pss; $nh++ }
      elsif ($args =~ /unit-instance\.py/) { $ui += $pss; $nu++ }
    }
    closedir($pd);
    print "P $now $all $ses $shim $ui $ns $nh $nu
";
  }
  sleep(1);
}
`;

/** The memory cgroup (v1) that holds every session container, from a running container's cgroup. */
async function sliceOf(host: BastionTestHost): Promise<string> {
  const out = await host.must([
    'bash',
    '-c',
    `pid=$(docker inspect -f '{{.State.Pid}}' $(docker ps -q | head -n 1)); echo "/sys/fs/cgroup/memory$(dirname "$(sed -n 's/^[0-9]*:memory://p' /proc/$pid/cgroup)")"`,
  ]);
  const slice = out.trim();
  if (!slice.endsWith('ssh_bastion_sessions.slice')) throw new Error(`the session containers' cgroup is ${slice}, not the sessions slice`);
  return slice;
}

export async function run(): Promise<Record<string, unknown>> {
  try {
    const { host, users } = await bootHost({ members: 10, withKeys: 1 });
    const user = users[0];
    const limits = host.journal().match(/serving: .*/)?.[0] ?? '';
    await host.must(['bash', '-c', settlePool(2)], { timeoutMs: 180_000 });
    const login = async (): Promise<{ ms: number; status: number; at: number }> => {
      const options = sshOptions(user.keyFiles[0], 22).map((o) => (o === 'ConnectTimeout=20' ? 'ConnectTimeout=300' : o));
      const r = await host.run(['ssh', ...options, `${user.name}@127.0.0.1`, 'true'], { timeoutMs: 400_000 });
      return { ms: r.ms, status: r.status, at: Date.now() - r.ms };
    };
    const quiet = await login(); // before: the same login on a quiet host
    await host.must(['bash', '-c', settlePool(2)], { timeoutMs: 180_000 });

    const stopSampler = path.join(host.dir, 'sampler.stop');
    onCleanup(() => fs.writeFileSync(stopSampler, 'stop'));
    const sampler = host.run(['perl', '-e', SAMPLER, stopSampler, await sliceOf(host)], { timeoutMs: (MAX_SECONDS + 300) * 1000 });
    const stopEvents = await recordDockerEvents(host);
    await sleep(1500);
    const journalBefore = host.journal().length;
    const began = Date.now();
    const idle = holdConnections(host, {
      port: 22,
      spec: `127.0.1.1-${IDLE_SOURCES}x${PER_SOURCE}`,
      mode: 'silent',
      seconds: MAX_SECONDS,
      reopen: true,
      name: 'idle',
    });
    await idle.ready;
    const stall = holdConnections(host, {
      port: 22,
      spec: `127.0.2.1-${STALL_SOURCES}x${PER_SOURCE}`,
      mode: 'banner',
      seconds: MAX_SECONDS,
      name: 'stall',
    });
    await stall.ready;
    const opened = Date.now();
    const logins: { ms: number; status: number; at: number }[] = [];
    let stallDone = false;
    void stall.done.then(
      () => (stallDone = true),
      () => (stallDone = true),
    );
    while (!stallDone && Date.now() - began < MAX_SECONDS * 1000) {
      logins.push(await login());
      await sleep(3000);
    }
    logins.push(await login()); // once every stalled connection is gone (idle ones still held)
    idle.stop();
    const [idleHeld, stallHeld] = [await idle.done, await stall.done];
    const ended = Date.now();
    await sleep(12_000); // the front's summary lines
    fs.writeFileSync(stopSampler, 'stop');
    const sampled = await sampler;
    if (sampled.status !== 0) throw new Error(`the sampler failed (${sampled.status}): ${sampled.stderr}`);
    const samples = sampled.stdout.trim().split('\n');
    const events = await stopEvents();

    const journal = host.journal().slice(journalBefore);
    const stallSessions = sessionStarts(journal).filter((s) => s.client.startsWith('127.0.2.'));
    const created = events.filter((e) => e.action === 'create' && e.at >= began && e.at <= ended).length;
    const startTimes = events.filter((e) => e.action === 'start' && e.at >= began && e.at <= ended).map((e) => e.at);
    const startSpan = startTimes.length ? (Math.max(...startTimes) - Math.min(...startTimes)) / 1000 : 0;
    const S = samples.filter((l) => l.startsWith('S ')).map((l) => l.split(' ').slice(1).map(Number));
    const P = samples.filter((l) => l.startsWith('P ')).map((l) => l.split(' ').slice(1).map(Number));
    const baseS = S.find((s) => s[0] < began) ?? S[0];
    const baseP = P.find((p) => p[0] < began) ?? P[0];
    const peakContainers = Math.max(...S.map((s) => s[1]));
    const peakSlice = Math.max(...S.map((s) => s[3]));
    const peakUsedKib = Math.max(...S.map((s) => s[4]));
    const peakP = P.reduce((a, p) => (p[1] > a[1] ? p : a), baseP);
    const refused = [...journal.matchAll(/refused (\d+) connections from \d+ sources in 10s: (.*?); now/g)].map((m) => `${m[1]}: ${m[2]}`);
    const own = [...journal.matchAll(/(\d+) sessions started a container of their own/g)].reduce((a, m) => a + Number(m[1]), 0);
    const sessionEnds = [...journal.matchAll(/session end client=127\.0\.2\.\S+ .* status=(\d+) \(([^)]*)\)/g)];
    const endReasons = new Map<string, number>();
    for (const m of sessionEnds) endReasons.set(`status ${m[1]} (${m[2]})`, (endReasons.get(`status ${m[1]} (${m[2]})`) ?? 0) + 1);

    const mib = (kib: number) => round(kib / 1024, 0);
    console.log(`\nfront: ${limits}`);
    console.log(
      `all 700 connections open ${round((opened - began) / 1000, 1)} s after the first (idle: ${idleHeld.open_s} s for 500, stalled: ${stallHeld.open_s} s for 200)`,
    );
    console.log('\nlogins (ssh ... true from 127.0.0.1, ms):');
    table(
      ['when', 'ms', 'status'],
      [
        ['before the connections (quiet)', quiet.ms, quiet.status],
        ...logins.map((l, i) => [
          i === logins.length - 1
            ? `after the stalled ones were gone (${round((l.at - opened) / 1000, 0)} s)`
            : `${round((l.at - opened) / 1000, 0)} s after all were open`,
          l.ms,
          l.status,
        ]),
      ],
    );
    const first = logins[0];
    const during = logins.slice(0, -1);
    const worst = Math.max(...logins.map((l) => l.ms));
    console.log(
      `\nstalled connections: ${stallHeld.opened} opened, ${stallSessions.length} became sessions (a container each), ${stallHeld.spoke} got sshd's banner, ` +
        `closed after p50 ${round(percentile(stallHeld.closed_after_s, 50), 0)} s, max ${round(Math.max(...stallHeld.closed_after_s, 0), 0)} s; session ends: ${[...endReasons].map(([k, v]) => `${v} × ${k}`).join(', ')}`,
    );
    console.log(
      `idle connections: ${idleHeld.opened} opened (${idleHeld.reopened} reopened after the front closed them at the grace), ${idleHeld.spoke} got a byte, ${idleHeld.errors} failed`,
    );
    console.log(
      `containers created meanwhile: ${created} (${own} sessions started one of their own; the rest refilled the ready pool); at most ${peakContainers} running at once; ` +
        `${startTimes.length} started within ${round(startSpan, 1)} s (${round(startTimes.length / Math.max(startSpan, 0.001), 1)} per second), the last ${round((Math.max(...startTimes, opened) - opened) / 1000, 1)} s after all connections were open`,
    );
    console.log(
      `memory: session containers' slice peak ${round(peakSlice / 1048576, 0)} MiB (before: ${round(baseS[2] / 1048576, 0)} MiB); ` +
        `host processes PSS ${mib(peakP[1])} MiB at their peak (before: ${mib(baseP[1])} MiB), of it ${peakP[5]} session programs ${mib(peakP[2])} MiB, ${peakP[6]} shims ${mib(peakP[3])} MiB, ` +
        `(harness only) ${peakP[7]} unit-instance.py ${mib(peakP[4])} MiB; the machine's memory in use rose by at most ${mib(peakUsedKib - baseS[4])} MiB (the machine is shared: an upper bound)`,
    );
    if (refused.length) console.log(`front's refusals: ${refused.join(' | ')}`);
    const met = worst <= TARGET_MS && logins.every((l) => l.status === 0);
    console.log(
      `target (login ≤ ${TARGET_MS / 1000} s while held): ${met ? 'met' : 'MISSED'} (first login ${first.ms} ms, worst ${worst} ms)`,
    );
    return {
      bench: 'held-connections',
      idle: 500,
      stalled: 200,
      per_source: PER_SOURCE,
      quiet_login_ms: quiet.ms,
      login_ms: logins.map((l) => l.ms),
      login_at_s: logins.map((l) => round((l.at - opened) / 1000, 1)),
      first_login_ms: first.ms,
      worst_login_ms: worst,
      logins_failed: logins.filter((l) => l.status !== 0).length,
      during_p50_ms: percentile(
        during.map((l) => l.ms),
        50,
      ),
      stalled_sessions: stallSessions.length,
      stalled_got_banner: stallHeld.spoke,
      stalled_closed_after_s: { p50: percentile(stallHeld.closed_after_s, 50), max: Math.max(...stallHeld.closed_after_s, 0) },
      stalled_session_ends: Object.fromEntries(endReasons),
      idle_reopened: idleHeld.reopened,
      containers_created: created,
      containers_started_span_s: round(startSpan, 1),
      last_container_start_s: round((Math.max(...startTimes, opened) - opened) / 1000, 1),
      own_container_starts: own,
      peak_containers_running: peakContainers,
      slice_peak_mib: round(peakSlice / 1048576, 0),
      host_processes_pss_peak_mib: mib(peakP[1]),
      host_processes_pss_before_mib: mib(baseP[1]),
      session_programs_at_peak: { count: peakP[5], pss_mib: mib(peakP[2]) },
      shims_at_peak: { count: peakP[6], pss_mib: mib(peakP[3]) },
      machine_used_rise_mib: mib(peakUsedKib - baseS[4]),
      refusals: refused,
      target_ms: TARGET_MS,
      met,
      machine: machine(),
    };
  } finally {
    await cleanup();
  }
}
