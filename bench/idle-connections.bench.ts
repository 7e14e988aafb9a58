/**
 * idle-connections: what one unauthenticated connection that never sends a byte costs the host.
 * Such a connection is held by the front (one Python process for the whole service port) until
 * the login grace ends; it never reaches a container. Measured with 0, N and 2N idle connections
 * (N = 500, 5 from each of 100 loopback addresses 127.0.1.x, then 100 more 127.0.2.x: under
 * BASTION_MAX_CONNECTIONS_PER_SOURCE = 10, the module's default):
 *
 * - the front's PSS, RSS and private memory (/proc/<pid>/smaps_rollup) and its descriptors;
 * - the processes on the test host (its network namespace) and in containers: their number must
 *   not grow with the connections (nothing but the front holds them);
 * - kernel memory, not in any PSS: /proc/net/sockstat of the host's namespace (TCP sockets in use,
 *   buffer pages) and /proc/slabinfo (the machine's: TCP and socket inode objects; both ends of
 *   each connection are on this machine, so about half of that delta is the server's).
 *
 * BASTION_LOGIN_GRACE_SECONDS is raised to 120 here, so that no connection is closed by the grace
 * while it is measured; the grace changes nothing a connection holds.
 * Target: at most 2 MiB PSS per idle unauthenticated connection.
 */
import { BastionTestHost } from '../test/helpers/harness';
import {
  bootHost,
  cleanup,
  frontPid,
  holdConnections,
  machine,
  memoryOf,
  processCounts,
  round,
  settlePool,
  sleep,
  table,
} from './support/common';

const PER_STEP = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 500);
const PER_SOURCE = 5;
const TARGET_MIB = 2;

interface Snapshot {
  label: string;
  connections: number;
  pssKib: number;
  rssKib: number;
  ussKib: number;
  fds: number;
  hostProcesses: number;
  containers: number;
  containerProcesses: number;
  tcpInuse: number;
  tcpMemPages: number;
  slab: Record<string, { objects: number; bytes: number }>;
}

const SLABS = ['TCP', 'sock_inode_cache', 'filp', 'eventpoll_epi'];

async function snapshot(host: BastionTestHost, pid: number, label: string, connections: number): Promise<Snapshot> {
  const mem = await memoryOf(host, pid);
  const fds = Number((await host.must(['bash', '-c', `ls /proc/${pid}/fd | wc -l`])).trim());
  const counts = await processCounts(host);
  const sockstat = await host.must(['cat', '/proc/net/sockstat']);
  const tcp = /^TCP: inuse (\d+) orphan \d+ tw \d+ alloc \d+ mem (\d+)/m.exec(sockstat);
  const slabinfo = await host.must(['cat', '/proc/slabinfo']);
  const slab: Snapshot['slab'] = {};
  for (const line of slabinfo.split('\n')) {
    const f = line.split(/\s+/);
    if (SLABS.includes(f[0])) slab[f[0]] = { objects: Number(f[1]), bytes: Number(f[1]) * Number(f[3]) };
  }
  return {
    label,
    connections,
    ...mem,
    fds,
    hostProcesses: counts.host,
    containers: counts.containers,
    containerProcesses: counts.inContainers,
    tcpInuse: Number(tcp?.[1] ?? NaN),
    tcpMemPages: Number(tcp?.[2] ?? NaN),
    slab,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  try {
    const { host } = await bootHost({ members: 5, withKeys: 1, settings: { BASTION_LOGIN_GRACE_SECONDS: '120' } });
    await host.must(['bash', '-c', settlePool(2)], { timeoutMs: 180_000 });
    const pid = await frontPid(host);
    await sleep(3000);
    const shots: Snapshot[] = [await snapshot(host, pid, 'none', 0)];
    const sources = PER_STEP / PER_SOURCE;
    const first = holdConnections(host, {
      port: 22,
      spec: `127.0.1.1-${sources}x${PER_SOURCE}`,
      mode: 'silent',
      seconds: 110,
      name: 'idle-1',
    });
    await first.ready;
    await sleep(3000);
    shots.push(await snapshot(host, pid, `${PER_STEP} idle`, PER_STEP));
    const second = holdConnections(host, {
      port: 22,
      spec: `127.0.2.1-${sources}x${PER_SOURCE}`,
      mode: 'silent',
      seconds: 100,
      name: 'idle-2',
    });
    await second.ready;
    await sleep(3000);
    shots.push(await snapshot(host, pid, `${2 * PER_STEP} idle`, 2 * PER_STEP));
    first.stop();
    second.stop();
    const held = [await first.done, await second.done];
    await sleep(3000);
    shots.push(await snapshot(host, pid, 'after they closed', 0));

    const base = shots[0];
    const slabDelta = (s: Snapshot, names: string[]) =>
      names.reduce((a, n) => a + ((s.slab[n]?.bytes ?? 0) - (base.slab[n]?.bytes ?? 0)), 0);
    console.log(`\nthe front with idle unauthenticated connections (5 per address; KiB unless said)`);
    table(
      [
        'state',
        'front PSS',
        'RSS',
        'private',
        'fds',
        'host processes',
        'containers (processes)',
        'TCP inuse',
        'TCP mem pages',
        'slab TCP + sock_inode KiB',
      ],
      shots.map((s) => [
        s.label,
        s.pssKib,
        s.rssKib,
        s.ussKib,
        s.fds,
        s.hostProcesses,
        `${s.containers} (${s.containerProcesses})`,
        s.tcpInuse,
        s.tcpMemPages,
        round(slabDelta(s, ['TCP', 'sock_inode_cache']) / 1024, 0),
      ]),
    );
    const per = (s: Snapshot) => (s.pssKib - base.pssKib) / s.connections;
    const perMax = Math.max(per(shots[1]), per(shots[2]));
    const grew = shots.slice(1, 3).some((s) => s.hostProcesses !== base.hostProcesses || s.containers !== base.containers);
    const perPrivate = (s: Snapshot) => (s.ussKib - base.ussKib) / s.connections;
    console.log(
      `\nfront PSS per idle connection: ${round(per(shots[1]), 2)} KiB at ${PER_STEP}, ${round(per(shots[2]), 2)} KiB at ${2 * PER_STEP}; ` +
        `private memory (USS) per connection: ${round(perPrivate(shots[1]), 2)} and ${round(perPrivate(shots[2]), 2)} KiB (PSS also moves with the pages the front shares with other Python processes on the machine)`,
    );
    console.log(
      `processes whose number grows with the connections: ${grew ? 'SOME (see the table)' : 'none'} (host ${shots.map((s) => s.hostProcesses).join(' → ')}, containers ${shots.map((s) => s.containers).join(' → ')})`,
    );
    console.log(
      `kernel, not in the PSS: TCP + sock_inode_cache slabs ${round(slabDelta(shots[2], ['TCP', 'sock_inode_cache']) / shots[2].connections / 1024, 2)} KiB per connection (both ends; the machine's slabs), ` +
        `filp + eventpoll_epi ${round(slabDelta(shots[2], ['filp', 'eventpoll_epi']) / shots[2].connections / 1024, 2)} KiB (the machine's: other work moves these); socket buffers ${shots[2].tcpMemPages - base.tcpMemPages} pages in all`,
    );
    console.log(
      `holders: ${held.map((h) => `${h.opened} opened, ${h.errors} failed, ${h.closed} closed by the server before the end`).join('; ')}`,
    );
    const met = perMax <= TARGET_MIB * 1024 && !grew;
    console.log(`target (≤ ${TARGET_MIB} MiB PSS per idle connection): ${met ? 'met' : 'MISSED'} (${round(perMax, 2)} KiB)`);
    return {
      bench: 'idle-connections',
      connections: [PER_STEP, 2 * PER_STEP],
      front_pss_kib: shots.map((s) => s.pssKib),
      front_rss_kib: shots.map((s) => s.rssKib),
      front_private_kib: shots.map((s) => s.ussKib),
      front_fds: shots.map((s) => s.fds),
      pss_per_connection_kib: [round(per(shots[1]), 2), round(per(shots[2]), 2)],
      private_per_connection_kib: [round(perPrivate(shots[1]), 2), round(perPrivate(shots[2]), 2)],
      host_processes: shots.map((s) => s.hostProcesses),
      containers: shots.map((s) => s.containers),
      container_processes: shots.map((s) => s.containerProcesses),
      tcp_inuse: shots.map((s) => s.tcpInuse),
      tcp_mem_pages: shots.map((s) => s.tcpMemPages),
      slab_tcp_sock_inode_kib_per_connection_both_ends: round(
        slabDelta(shots[2], ['TCP', 'sock_inode_cache']) / shots[2].connections / 1024,
        2,
      ),
      slab_filp_epoll_kib_per_connection: round(slabDelta(shots[2], ['filp', 'eventpoll_epi']) / shots[2].connections / 1024, 2),
      holders: held,
      target_mib: TARGET_MIB,
      met,
      machine: machine(),
    };
  } finally {
    await cleanup();
  }
}
