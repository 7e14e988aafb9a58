/**
 * Shared pieces of the benchmarks: statistics, tables, the machine's description, cleanup on
 * interruption, and a booted test host (the e2e harness, test/helpers/harness.ts) with IAM users.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BastionTestHost, Settings } from '../../test/helpers/harness';
import { fakeSshPublicKey } from '../../test/helpers/moto';

/** The module's defaults (src/config.ts) for everything that shapes a session. */
export const DEFAULT_SETTINGS: Settings = {
  BASTION_SERVICE_PORT: '22',
  BASTION_ADMIN_PORT: '2222',
  BASTION_HEALTH_PORT: '2224',
  BASTION_SESSION_MAX_SECONDS: '43200',
  BASTION_ALLOWED_IAM_GROUPS: 'bench-users',
  BASTION_ASSUME_ROLE_ARN: '',
  BASTION_HOST_KEY_PARAMETER: '',
  BASTION_WORKER_BASE_IMAGE: '',
  BASTION_WORKER_IMAGE: '',
  BASTION_CONTAINER_MEMORY_MB: '512',
  BASTION_CONTAINER_PIDS: '256',
  BASTION_CONTAINER_CPUS: '1',
  BASTION_MAX_CONNECTIONS_PER_SOURCE: '10',
  // many connections a minute from the few loopback addresses of these tests
  BASTION_NEW_CONNECTIONS_PER_MINUTE: '100000',
  BASTION_TUNNEL_ONLY: 'false',
  BASTION_HOSTNAME_PREFIX: 'bench-bastion',
  BASTION_AUDIT_LOG_GROUP: '/bench/bastion-service/audit',
};

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Prints a plain-text table. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): void {
  const cells = [headers.map(String), ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(cells[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

function version(command: string, args: string[], re: RegExp = /^.*$/m): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return (re.exec(out)?.[0] ?? 'unknown').trim();
}

/** nproc, memory, kernel and the versions of what the benches run. */
export function machine(): Record<string, string | number> {
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memory_mib: Math.round(os.totalmem() / 1048576),
    kernel: os.release(),
    docker: version('dockerd', ['--version']),
    openssh: version('ssh', ['-V'], /OpenSSH_[^ ,]+/),
    python: version('python3', ['--version']),
    system_python: version('/usr/bin/python3', ['--version']),
    node: process.version,
    loadavg_1m: round(os.loadavg()[0], 2),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
let exiting = false;

/** Registers something to undo at the end, also on SIGINT/SIGTERM. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

let cleaning: Promise<void> | undefined;

/** Runs the registered cleanups, newest first; a second caller waits for the same run. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch (e) {
        console.error(`cleanup: ${String(e)}`);
      }
    }
  })().finally(() => (cleaning = undefined));
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (exiting) return;
    exiting = true;
    console.error(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

export interface BenchUser {
  readonly name: string;
  /** private key files (ed25519) whose public halves are in IAM */
  readonly keyFiles: string[];
}

/** Makes an ed25519 key pair with ssh-keygen; returns the private key file and public line. */
export function keyPair(dir: string, name: string): { file: string; publicKey: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { file, publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim() };
}

/**
 * Boots a test host with the module's default session settings and `members` IAM users in the
 * group bench-users (bench000 ... with one key each; the first `withKeys` get real key pairs the
 * benches can log in with).
 */
export async function bootHost(options: {
  members: number;
  withKeys: number;
  settings?: Settings;
}): Promise<{ host: BastionTestHost; users: BenchUser[]; ms: number }> {
  const started = Date.now();
  const host = new BastionTestHost({ ...DEFAULT_SETTINGS, ...options.settings });
  onCleanup(() => host.stop());
  await host.prepare();
  const keyDir = path.join(host.dir, 'bench-keys');
  fs.mkdirSync(keyDir);
  const users: BenchUser[] = [];
  const seed = [];
  for (let i = 0; i < options.members; i++) {
    const name = `bench${String(i).padStart(3, '0')}`;
    if (i < options.withKeys) {
      const pair = keyPair(keyDir, name);
      users.push({ name, keyFiles: [pair.file] });
      seed.push({ name, groups: ['bench-users'], keys: [pair.publicKey] });
    } else {
      seed.push({ name, groups: ['bench-users'], keys: [fakeSshPublicKey(name)] });
    }
  }
  await host.moto!.seedUsers(seed);
  // the audit log group the module creates: the hosts' audit shipper writes to it from the start
  execFileSync('aws', ['logs', 'create-log-group', '--log-group-name', host.settings.BASTION_AUDIT_LOG_GROUP], {
    env: { ...process.env, ...host.moto!.awsEnv() },
  });
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
  return { host, users, ms: Date.now() - started };
}

/** ssh client options shared by the bastion and the plain sshd runs. */
export function sshOptions(key: string, port: number): string[] {
  return [
    '-i',
    key,
    '-p',
    String(port),
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
    '-o',
    'ControlMaster=no',
    '-o',
    'ControlPath=none',
  ];
}

/**
 * A plain OpenSSH sshd on the test host, in inetd mode behind systemd-socket-activate --inetd
 * (one `sshd -i` per connection, as the bastion has one container per connection): a temp
 * config, a temp host key, and an authorized_keys file for root with the given public keys.
 */
export async function startPlainSshd(host: BastionTestHost, port: number, publicKeys: string[]): Promise<void> {
  const dir = path.join(host.dir, 'plain-sshd');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  keyPair(dir, 'host_key');
  fs.writeFileSync(path.join(dir, 'authorized_keys'), publicKeys.map((k) => `${k}\n`).join(''), { mode: 0o600 });
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PrintMotd no',
      'PrintLastLog no',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      'PidFile none',
      '',
    ].join('\n'),
  );
  await host.must([
    'bash',
    '-c',
    `setsid systemd-socket-activate --accept --inetd -l 127.0.0.1:${port} /usr/sbin/sshd -i -e -f ${dir}/sshd_config >>${dir}/sshd.log 2>&1 </dev/null &`,
  ]);
  await host.waitForPort(port);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `commands` (shell command lines) in turn on the test host, `rounds` times, interleaved so
 * both sides see the same machine load; returns the wall time of each (ms) by label. `before`
 * (by label) runs untimed before each run of that command.
 */
export async function timeCommands(
  host: BastionTestHost,
  commands: Record<string, string>,
  rounds: number,
  before: Record<string, string> = {},
): Promise<Record<string, number[]>> {
  const labels = Object.keys(commands);
  const script = [
    'set -u',
    `for round in $(seq 1 ${rounds}); do`,
    ...labels.map(
      (label) =>
        (before[label] ? `  ( ${before[label]} ) >/dev/null 2>>"$ERRLOG"\n` : '') +
        `  t0=$(date +%s%N); ( ${commands[label]} ) >/dev/null 2>>"$ERRLOG"; s=$?; t1=$(date +%s%N); echo "${label} $(( (t1 - t0) / 1000 )) $s"`,
    ),
    'done',
  ].join('\n');
  const errlog = path.join(host.dir, 'bench-commands.err');
  const out = await host.must(['bash', '-c', script], { env: { ERRLOG: errlog }, timeoutMs: 600_000 });
  const result: Record<string, number[]> = Object.fromEntries(labels.map((l) => [l, []]));
  for (const line of out.trim().split('\n')) {
    const [label, us, status] = line.split(' ');
    if (status !== '0')
      throw new Error(`${label} failed (${status}): ${fs.existsSync(errlog) ? fs.readFileSync(errlog, 'utf8').slice(-2000) : ''}`);
    result[label].push(Number(us) / 1000);
  }
  return result;
}

/** The front's session socket on the test host (the label value of its containers). */
export const SESSION_SOCKET = '/run/ssh-bastion/session.sock';

/**
 * Shell lines (for `before` of timeCommands) that wait until the front has `ready` containers
 * ready and no session left (every earlier session's container removed, the pool refilled), so
 * that a login starts on a settled host; with `record`, they append the ready containers' names
 * to that file ("READY name..."), to tell afterwards whether a login took one of them.
 */
export function settlePool(ready: number, record?: string, sessionSocket = SESSION_SOCKET): string {
  return [
    'for _ in $(seq 1 600); do',
    `  n=$(docker ps -q --filter label=ssh-bastion.session=${sessionSocket} | wc -l)`,
    '  u=$(ls /run/ssh-bastion/units 2>/dev/null | wc -l)',
    `  [ "$n" -eq ${ready} ] && [ "$u" -eq 0 ] && break`,
    '  sleep 0.1',
    'done',
    'sleep 0.3',
    ...(record
      ? [`echo "READY $(docker ps --filter label=ssh-bastion.session=${sessionSocket} --format '{{.Names}}' | tr '\\n' ' ')" >>${record}`]
      : []),
  ].join('\n');
}

/** Containers named in the front's "session start" lines of `journal`, in order. */
export function sessionStarts(journal: string): { client: string; container: string }[] {
  return [...journal.matchAll(/session start client=(\S+) container=(ssh-bastion-[0-9a-f]+)/g)].map((m) => ({
    client: m[1],
    container: m[2],
  }));
}

/**
 * Sessions that started a container of their own (the front's summary lines of `journal`), of the
 * fronts that keep `ready` containers ready.
 */
export function freshStarts(journal: string, ready: number): number {
  return [...journal.matchAll(/(\d+) sessions started a container of their own in \d+s: no ready one was left \((\d+) kept ready\)/g)]
    .filter((m) => Number(m[2]) === ready)
    .reduce((a, m) => a + Number(m[1]), 0);
}

/** The pid of the test host's front (the one in the host's network namespace). */
export async function frontPid(host: BastionTestHost, sessionSocket = SESSION_SOCKET): Promise<number> {
  const script =
    `me=$(readlink /proc/self/ns/net); for d in /proc/[0-9]*; do ` +
    `[ "$(readlink $d/ns/net 2>/dev/null)" = "$me" ] || continue; ` +
    `tr '\\0' ' ' <$d/cmdline 2>/dev/null | grep -Eq '^/usr/bin/python3 (-IS )?/usr/local/libexec/ssh-bastion/front' || continue; ` +
    `tr '\\0' '\\n' <$d/environ | grep -qx 'BASTION_SESSION_SOCKET=${sessionSocket}' && echo \${d#/proc/}; done`;
  const pids = (await host.must(['bash', '-c', script])).split('\n').filter(Boolean).map(Number);
  if (pids.length !== 1) throw new Error(`expected one front for ${sessionSocket}, found ${pids.length}`);
  return pids[0];
}

/** Rss, Pss and private (USS) KiB of one process, from /proc/<pid>/smaps_rollup. */
export async function memoryOf(host: BastionTestHost, pid: number): Promise<{ rssKib: number; pssKib: number; ussKib: number }> {
  const out = await host.must([
    'awk',
    '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_(Clean|Dirty):/{u+=$2} END{print r+0, p+0, u+0}',
    `/proc/${pid}/smaps_rollup`,
  ]);
  const [rssKib, pssKib, ussKib] = out.trim().split(' ').map(Number);
  return { rssKib, pssKib, ussKib };
}

/**
 * Numbers of processes on the test host: those in its network namespace (the benches' own clients,
 * bench/support/holder.py, left out), and those in containers.
 */
export async function processCounts(host: BastionTestHost): Promise<{ host: number; containers: number; inContainers: number }> {
  const script =
    `me=$(readlink /proc/self/ns/net); n=0; for d in /proc/[0-9]*; do [ "$(readlink $d/ns/net 2>/dev/null)" = "$me" ] || continue; ` +
    `grep -qs bench/support/holder.py $d/cmdline || n=$((n + 1)); done; ` +
    `ids=$(docker ps -q); c=0; i=0; [ -n "$ids" ] && for p in $(docker inspect -f '{{.State.Pid}}' $ids); do c=$((c + 1)); ` +
    `i=$((i + $(cat /sys/fs/cgroup/pids$(sed -n 's/^[0-9]*:pids://p' /proc/$p/cgroup 2>/dev/null)/pids.current 2>/dev/null || echo 0))); done; echo "$n $c $i"`;
  const [h, c, i] = (await host.must(['bash', '-c', script])).trim().split(' ').map(Number);
  // the counting shell itself and its children are in the namespace too
  return { host: h - 2, containers: c, inContainers: i };
}

/**
 * Connection holder on the test host (bench/support/holder.py): opens TCP connections to
 * 127.0.0.1:port from the given loopback addresses (spec "127.0.1.1-100x5": 5 from each of
 * 127.0.1.1 ... 127.0.1.100), silent or sending an SSH identification line, and holds them until
 * it is told to stop (a file) or `seconds` have passed; with reopen, a connection the server
 * closed is opened again. Resolves `ready` once all are open, `done` with what happened to them.
 */
export interface HeldSummary {
  opened: number;
  errors: number;
  first_error: string | null;
  closed: number;
  closed_after_s: number[];
  spoke: number;
  reopened: number;
  open_at_end: number;
  open_s: number;
}

export function holdConnections(
  host: BastionTestHost,
  options: { port: number; spec: string; mode: 'silent' | 'banner'; seconds: number; reopen?: boolean; name: string },
): { ready: Promise<void>; stop: () => void; done: Promise<HeldSummary> } {
  const readyFile = path.join(host.dir, `holder-${options.name}.ready`);
  const stopFile = path.join(host.dir, `holder-${options.name}.stop`);
  const script = path.join(__dirname, 'holder.py');
  const done = host
    .run(
      [
        'python3',
        script,
        String(options.port),
        options.spec,
        options.mode,
        String(options.seconds),
        readyFile,
        stopFile,
        options.reopen ? 'reopen' : 'once',
      ],
      { timeoutMs: (options.seconds + 120) * 1000 },
    )
    .then((r) => {
      if (r.status !== 0) throw new Error(`holder ${options.name} failed (${r.status}): ${r.stderr.slice(-2000)}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as HeldSummary;
    });
  onCleanup(() => fs.writeFileSync(stopFile, 'stop'));
  const ready = Promise.race([
    (async () => {
      for (;;) {
        if (fs.existsSync(readyFile)) return;
        await sleep(50);
      }
    })(),
    done.then((s) => {
      throw new Error(`holder ${options.name} ended before all were open: ${JSON.stringify(s)}`);
    }),
  ]);
  return { ready, stop: () => fs.writeFileSync(stopFile, 'stop'), done };
}

export interface DockerEvent {
  /** ms since the epoch */
  at: number;
  action: string;
  name: string;
}

/**
 * Records the test host's container events (dockerd keeps only its last 256 events, too few for
 * a flood: so they are read as they come) until the returned function is called.
 */
export async function recordDockerEvents(host: BastionTestHost): Promise<() => Promise<DockerEvent[]>> {
  const file = path.join(host.dir, `docker-events-${Date.now()}.log`);
  const fd = fs.openSync(file, 'w');
  const args = [
    ...host.enter,
    'docker',
    'events',
    '--filter',
    'type=container',
    '--format',
    '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}',
  ];
  const child = spawn(args[0], args.slice(1), { stdio: ['ignore', fd, 'ignore'], env: host.env });
  fs.closeSync(fd);
  onCleanup(() => void child.kill('SIGKILL'));
  await sleep(1000); // subscribed
  return async () => {
    await sleep(1000);
    child.kill('SIGTERM');
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [ns, action, name] = l.split(' ');
        return { at: Number(BigInt(ns) / 1000n) / 1000, action, name };
      });
  };
}
