/**
 * session-density: memory per idle session at 50 concurrent idle sessions (each a login shell
 * over `ssh -tt`, doing nothing, each from its own loopback address), and sessions per GiB.
 *
 * Per session = the container's memory cgroup (sshd, the user's shell, docker-init, page cache
 * of its writes) + the host-side processes it needs: its containerd-shim and its session program
 * (Python, reading sshd's log); no docker CLI stays. RSS counts shared pages (binaries,
 * libraries) once per process; PSS divides them among the processes sharing them, which is what
 * 50 sessions really cost. The containers kept ready by the front (BASTION_READY_SESSIONS) are
 * told apart from the sessions' (a session's container is named in /run/ssh-bastion/units) and
 * reported as a fixed cost, as is the front itself. The harness's unit-instance.py plays systemd
 * and does not exist on a real host: reported, not counted. dockerd/containerd growth is
 * reported apart.
 * Target: at most 15 MiB per idle session.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, waitFor } from '../test/helpers/harness';
import { bootHost, cleanup, frontPid, machine, memoryOf, round, sleep, sshOptions, table } from './support/common';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 50);
const USERS = 5;
const MIB = 1048576;

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  args: string;
  rssKib: number;
  pssKib: number;
  /** private pages only (USS): what one more such process costs */
  ussKib: number;
  /** in the test host's network namespace (not another test host's on the same machine) */
  inHost: boolean;
}

async function processes(host: BastionTestHost): Promise<Proc[]> {
  // one pass inside the host's namespaces: pid ppid comm | Rss Pss (smaps_rollup) | in the host's netns | args
  const script =
    `me=$(readlink /proc/self/ns/net); for d in /proc/[0-9]*; do p=\${d#/proc/}; s=$(cat $d/stat 2>/dev/null) || continue; ` +
    `h=0; [ "$(readlink $d/ns/net 2>/dev/null)" = "$me" ] && h=1; ` +
    `r=$(awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_(Clean|Dirty):/{u+=$2} END{print r+0, p+0, u+0}' $d/smaps_rollup 2>/dev/null); ` +
    `a=$(tr '\\0' ' ' <$d/cmdline 2>/dev/null); c=\${s#*(}; c=\${c%)*}; rest=\${s##*) }; set -- $rest; echo "$p|$2|$c|$r|$h|$a"; done`;
  const out = await host.must(['bash', '-c', script], { timeoutMs: 120_000 });
  return out
    .trim()
    .split('\n')
    .map((l) => {
      const [pid, ppid, comm, mem, inHost, ...args] = l.split('|');
      const [rss, pss, uss] = (mem ?? '0 0 0').split(' ').map(Number);
      return {
        pid: Number(pid),
        ppid: Number(ppid),
        comm,
        args: args.join('|'),
        rssKib: rss || 0,
        pssKib: pss || 0,
        ussKib: uss || 0,
        inHost: inHost === '1',
      };
    });
}

/** memory cgroup (v1 here; v2 memory.current on AL2023) of each of the named containers */
async function containerMemory(
  host: BastionTestHost,
  names: string[],
): Promise<{ name: string; id: string; usage: number; rss: number; cache: number }[]> {
  if (names.length === 0) return [];
  // The container's memory cgroup wherever --cgroup-parent put it, from its first process's
  // /proc/<pid>/cgroup: the memory controller's line on v1, the unified one on v2.
  const script =
    `for name in ${names.join(' ')}; do set -- $(docker inspect -f '{{.Id}} {{.State.Pid}}' $name); id=$1 pid=$2; ` +
    `v1=$(sed -n 's/^[0-9]*:memory://p' /proc/$pid/cgroup); ` +
    `if [ -n "$v1" ]; then d=/sys/fs/cgroup/memory$v1; echo "$name $id $(cat $d/memory.usage_in_bytes) $(awk '/^total_rss /{r=$2} /^total_cache /{c=$2} END{print r, c}' $d/memory.stat)"; ` +
    `else d=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$pid/cgroup); echo "$name $id $(cat $d/memory.current) $(awk '/^anon /{r=$2} /^file /{c=$2} END{print r, c}' $d/memory.stat)"; fi; done`;
  const out = await host.must(['bash', '-c', script]);
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, id, usage, rss, cache] = l.split(' ');
      return { name, id, usage: Number(usage), rss: Number(rss), cache: Number(cache) };
    });
}

export async function run(): Promise<Record<string, unknown>> {
  try {
    const { host, users } = await bootHost({ members: 20, withKeys: USERS });
    const daemonRss = (procs: Proc[], re: RegExp) => procs.filter((p) => p.inHost && re.test(p.comm)).reduce((a, p) => a + p.rssKib, 0);

    // 50 idle login shells, started 5 at a time; stdin is a pipe that stays open (sleep)
    const started = Date.now();
    const launch = (i: number) => {
      const u = users[i % USERS];
      // every descriptor detached: the launching command returns at once; each session from its
      // own loopback address (the front holds at most BASTION_MAX_CONNECTIONS_PER_SOURCE per address)
      return `setsid bash -c 'sleep 3600 | ssh -tt -b 127.0.4.${i + 1} ${sshOptions(u.keyFiles[0], 22).join(' ')} ${u.name}@127.0.0.1' </dev/null >/dev/null 2>&1 &`;
    };
    for (let i = 0; i < SESSIONS; i += 5) {
      const batch = Array.from({ length: Math.min(5, SESSIONS - i) }, (_, k) => launch(i + k)).join('\n');
      await host.must(['bash', '-c', batch]);
      const want = i + Math.min(5, SESSIONS - i);
      await waitFor(async () => (host.journal().match(/Accepted publickey for bench/g) ?? []).length >= want, 60_000, `${want} logins`);
    }
    // wait until every session has its login shell (bash -l from session-command, under sshd in the container)
    const isLoginShell = (p: Proc) => p.comm === 'bash' && (/^-bash/.test(p.args) || /^\S*bash -l\s*$/.test(p.args));
    await waitFor(async () => (await processes(host)).filter(isLoginShell).length >= SESSIONS, 60_000, 'login shells').catch(
      async (error) => {
        const shells = (await processes(host))
          .filter((p) => p.comm === 'bash' || /setpriv|session-command/.test(p.args))
          .map((p) => `${p.comm}: ${p.args}`);
        throw new Error(`${(error as Error).message}; bash processes: ${shells.length}\n${[...new Set(shells)].join('\n')}`);
      },
    );
    const loginSeconds = (Date.now() - started) / 1000;
    await sleep(10_000); // idle

    const procs = await processes(host);
    const taken = await host.sessionContainers();
    const ready = await host.readyContainers();
    const containers = await containerMemory(host, taken);
    const readyMemory = await containerMemory(host, ready);
    if (containers.length !== SESSIONS) throw new Error(`${containers.length} session containers, expected ${SESSIONS}`);
    const front = await memoryOf(host, await frontPid(host));

    const sessions = procs.filter((p) => p.inHost && /libexec\/ssh-bastion\/session /.test(p.args));
    const childrenOf = (pids: Set<number>) => procs.filter((p) => pids.has(p.ppid));
    // none is expected once a session runs (a docker CLI would relay the connection)
    const clis = procs.filter((p) => p.inHost && p.comm === 'docker');
    // each shim names its container's id: the sessions' shims apart from the ready containers'
    const shimOf = (ids: string[]) => procs.filter((p) => /^containerd-shim/.test(p.comm) && ids.some((id) => p.args.includes(id)));
    const shims = shimOf(containers.map((x) => x.id));
    const readyShims = shimOf(readyMemory.map((x) => x.id));
    const unitInstances = procs.filter((p) => p.inHost && /unit-instance\.py/.test(p.args));
    // the processes inside the session containers (descendants of their shims), for comparison with
    // the cgroup figure, which does not charge file pages (sshd, libc) first read by another cgroup
    const inside: Proc[] = [];
    for (let level = new Set(shims.map((p) => p.pid)); level.size;) {
      const next = childrenOf(level);
      inside.push(...next);
      level = new Set(next.map((p) => p.pid));
    }
    const sum = (list: Proc[], k: 'rssKib' | 'pssKib' | 'ussKib') => list.reduce((a, p) => a + p[k], 0) / 1024 / SESSIONS;
    const dockerdAfter = daemonRss(procs, /^dockerd$/) + daemonRss(procs, /^containerd$/);

    const c = {
      usage: containers.reduce((a, x) => a + x.usage, 0) / containers.length / MIB,
      rss: containers.reduce((a, x) => a + x.rss, 0) / containers.length / MIB,
      cache: containers.reduce((a, x) => a + x.cache, 0) / containers.length / MIB,
    };
    const rows: [string, number, number, number, number][] = [
      ['container cgroup (usage: anon + page cache)', c.usage, c.usage, c.usage, containers.length],
      ['containerd-shim-runc-v2', sum(shims, 'rssKib'), sum(shims, 'pssKib'), sum(shims, 'ussKib'), shims.length],
      ['docker CLI processes (none expected)', sum(clis, 'rssKib'), sum(clis, 'pssKib'), sum(clis, 'ussKib'), clis.length],
      [
        "session program (Python, reads sshd's log)",
        sum(sessions, 'rssKib'),
        sum(sessions, 'pssKib'),
        sum(sessions, 'ussKib'),
        sessions.length,
      ],
    ];
    const totalRss = rows.reduce((a, r) => a + r[1], 0);
    const totalPss = rows.reduce((a, r) => a + r[2], 0);
    const totalUss = rows.reduce((a, r) => a + r[3], 0);
    console.log(
      `\n${SESSIONS} idle login shells (${USERS} users), all logged in after ${round(loginSeconds, 0)} s; measured after 10 s idle`,
    );
    table(
      ['per session (MiB)', 'RSS', 'PSS', 'USS (private)', 'processes'],
      [
        ...rows.map((r) => [r[0], round(r[1], 2), round(r[2], 2), round(r[3], 2), r[4]]),
        ['total per session', round(totalRss, 2), round(totalPss, 2), round(totalUss, 2), ''],
        [
          '(for comparison) processes inside the containers',
          round(sum(inside, 'rssKib'), 2),
          round(sum(inside, 'pssKib'), 2),
          round(sum(inside, 'ussKib'), 2),
          inside.length,
        ],
        [
          '(harness only) unit-instance.py, plays systemd',
          round(sum(unitInstances, 'rssKib'), 2),
          round(sum(unitInstances, 'pssKib'), 2),
          round(sum(unitInstances, 'ussKib'), 2),
          unitInstances.length,
        ],
      ],
    );
    console.log(`container cgroup split: anon/rss ${round(c.rss, 2)} MiB, page cache ${round(c.cache, 2)} MiB`);
    const readyCgroup = readyMemory.reduce((a, x) => a + x.usage, 0) / MIB;
    const readyShimPss = readyShims.reduce((a, p) => a + p.pssKib, 0) / 1024;
    console.log(
      `fixed, not per session: ${readyMemory.length} ready containers ${round(readyCgroup, 2)} MiB (cgroups) + their ${readyShims.length} shims ${round(readyShimPss, 2)} MiB PSS; ` +
        `the front ${round(front.pssKib / 1024, 2)} MiB PSS (${round(front.rssKib / 1024, 2)} MiB RSS)`,
    );
    console.log(
      `shared, not counted above: dockerd + containerd ${round(dockerdAfter / 1024, 1)} MiB RSS with ${SESSIONS} sessions (${round(dockerdAfter / 1024 / SESSIONS, 2)} MiB per session if charged to them)`,
    );
    console.log(`sessions per GiB: ${round(1024 / totalPss, 0)} (PSS) / ${round(1024 / totalRss, 0)} (RSS)`);
    console.log(`target (≤ 15 MiB per idle session, PSS): ${totalPss <= 15 ? 'met' : 'MISSED'}`);
    fs.writeFileSync(path.join(host.dir, 'density-procs.json'), JSON.stringify(procs));
    return {
      bench: 'session-density',
      sessions: SESSIONS,
      per_session_mib: {
        total_pss: round(totalPss, 2),
        total_rss: round(totalRss, 2),
        container_cgroup: round(c.usage, 2),
        container_anon: round(c.rss, 2),
        container_cache: round(c.cache, 2),
        shim_pss: round(sum(shims, 'pssKib'), 2),
        docker_cli_processes: clis.length,
        session_program_pss: round(sum(sessions, 'pssKib'), 2),
        total_uss: round(totalUss, 2),
        inside_containers_pss: round(sum(inside, 'pssKib'), 2),
        inside_containers_rss: round(sum(inside, 'rssKib'), 2),
        dockerd_containerd_rss_shared: round(dockerdAfter / 1024, 1),
      },
      fixed_mib: {
        ready_containers: readyMemory.length,
        ready_containers_cgroup: round(readyCgroup, 2),
        ready_shims_pss: round(readyShimPss, 2),
        front_pss: round(front.pssKib / 1024, 2),
        front_rss: round(front.rssKib / 1024, 2),
      },
      sessions_per_gib: round(1024 / totalPss, 0),
      sessions_per_gib_rss: round(1024 / totalRss, 0),
      met: totalPss <= 15,
      machine: machine(),
    };
  } finally {
    await cleanup();
  }
}
