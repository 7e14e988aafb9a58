/**
 * The service port's units as shipped plus the drop-ins setup-units writes, under a real systemd
 * 252 (the version Amazon Linux 2023 ships), booted with systemd-nspawn in a Debian bookworm root
 * that shares this machine's network: ssh-bastion-front.socket (TCP, Accept=no) and
 * ssh-bastion-front.service (started at boot, as setup-units starts it, so that its ready
 * containers are there before the first client), the real front through the real with-settings
 * with its settings from /etc/ssh-bastion/bastion.env; front starts its ready containers and
 * hands each connection that sent its SSH identification line, with a container's hand-off
 * connection, to ssh-bastion.socket (unix, Accept=yes), which starts one ssh-bastion@.service per
 * connection. What the e2e suite plays with systemd-socket-activate and a helper is checked here
 * against systemd itself: the instance names (`<n>-<front's pid>-<uid>` for the unix socket), the
 * client connection and the container's hand-off connection reaching the per-session unit with the
 * client's address, the identification line still unread, front's per-source limit
 * (BASTION_MAX_CONNECTIONS_PER_SOURCE) counting a session until its unit has stopped,
 * RuntimeMaxSec (the session limit), ExecStopPost with the instance name and the real session-stop
 * removing what the session left, and the pool of BASTION_READY_SESSIONS containers.
 * docker does not run inside nspawn here: `docker` on the root's PATH is a stand-in whose `run`
 * starts the worker's real receive-connection (perl) on the hand-off socket of the session
 * directory it is given, as the real container's first process (with `sleep` in place of the
 * entrypoint); its calls are recorded. The session unit's ExecStart is replaced by a probe that
 * runs through the real with-settings and receives the two descriptors with the session program's
 * own code (Session.receive); a probe runs before and after the real ExecStopPost.
 *
 * Needs root, systemd-nspawn (Debian package systemd-container) and debootstrap; the root (a copy
 * of the keys test's root when present, else built, about 1 min) is kept in .e2e/units-nsroot.
 * Skipped, with a warning, without root or systemd-nspawn, or with BASTION_UNITS_SYSTEMD_TEST=0.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { buildOnce, debootstrap, DEBIAN_MIRROR, E2E_CACHE_DIR } from '../helpers/debootstrap';
import { HOST_DIR, WORKER_DIR } from './userdata-tree';
import { loadHostProgram } from '../helpers/host-program';

const ROOT = path.join(E2E_CACHE_DIR, 'units-nsroot');
const KEYS_ROOT = path.join(E2E_CACHE_DIR, 'keys-nsroot');
const PORT = 2299;
const LIMIT_SECONDS = 4;
const PER_SOURCE = 2;
const LIBEXEC = '/usr/local/libexec/ssh-bastion';
const READY = 2;
const UNITS = ['ssh-bastion-front.socket', 'ssh-bastion-front.service', 'ssh-bastion.socket', 'ssh-bastion@.service'];
const enabled =
  process.env.BASTION_UNITS_SYSTEMD_TEST !== '0' &&
  process.getuid?.() === 0 &&
  spawnSync('sh', ['-c', 'command -v systemd-nspawn']).status === 0;
if (!enabled) console.warn("\n*** the service port's units under a real systemd: SKIPPED (needs root and systemd-nspawn) ***\n");

/** A root with systemd, python3 (front and session are Python programs) and perl (receive-connection). */
const isWhole = (root: string): boolean =>
  ['usr/lib/systemd/systemd', 'usr/bin/python3', 'usr/bin/perl'].every((p) => fs.existsSync(path.join(root, p)));

/** The root: a copy of the key service test's when that one is there, else its own debootstrap. */
function ensureRoot(): void {
  buildOnce(
    ROOT,
    (building) => {
      if (isWhole(KEYS_ROOT)) execFileSync('cp', ['-a', KEYS_ROOT, building], { timeout: 120_000 });
      else
        debootstrap(
          building,
          { suite: 'bookworm', variant: 'minbase', mirror: DEBIAN_MIRROR, include: ['systemd', 'systemd-sysv', 'dbus', 'python3'] },
          280_000,
        );
    },
    isWhole,
  );
}

// ExecStart stand-in, started as the real one is (with-settings ... %i): who is at the other end
// of stdin (front), then the two descriptors as session receives them (the client connection and
// the container's hand-off connection, with who is at its other end), then a greeting on the client
// connection. The hand-off connection stays open until the unit ends.
const SESSION_PROBE = String.raw`#!/usr/bin/python3
import json, os, socket, struct, sys
${loadHostProgram('session', 'session_module', `"${LIBEXEC}/session"`)}
def peer_of(s):
    pid, uid, _ = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return pid, uid, [a.decode() for a in f.read().split(b"\0") if a]
unit = socket.socket(fileno=os.dup(0))
pid, uid, peer_command = peer_of(unit)
unit.close()
report = {"instance": sys.argv[1], "peer_pid": pid, "peer_uid": uid, "peer_command": peer_command,
          "fd0": os.readlink("/proc/self/fd/0"), "fd1": os.readlink("/proc/self/fd/1")}
session = session_module.Session(sys.argv[1])
fd, handoff = session.receive()
connection = socket.socket(fileno=fd)
report.update(client=session.client, container=session.container, connection_peer=list(connection.getpeername()),
              connection_local_port=connection.getsockname()[1], handoff_peer_command=peer_of(handoff)[2])
with open(f"{session_module.E['SESSION_UNITS_DIR']}/{sys.argv[1]}") as f:
    report["record"] = f.read()
# front's asyncio made it non-blocking, and O_NONBLOCK goes with the descriptor (sshd sets it anyway)
connection.setblocking(True)
port = session.client.rsplit(":", 1)[1]
with open(f"/out/session-{port}", "w") as f:
    json.dump(report, f)
line = b""
while not line.endswith(b"\n"):
    data = connection.recv(1)
    if not data:
        break
    line += data
connection.sendall(f"hello {port} {line.decode().strip()}\n".encode())
while connection.recv(4096):  # until the client closes, or the unit is stopped
    pass
`;

// ExecStopPost stand-in, run before the real session-stop and again after it (argument "after"):
// the instance name, how systemd says the main process ended, the container the unit's record
// names, and what of the session is left on the host.
const STOP_PROBE = `#!/bin/bash
record="/run/ssh-bastion/units/$1"
if [[ "\${2:-}" != after ]]; then
  container="$(cat "$record" 2>/dev/null || echo none)"
  echo "$container" >"/run/stop-probe-$1"
else
  container="$(<"/run/stop-probe-$1")"
fi
left=()
for p in "$record" "/run/ssh-bastion/sessions/$container" "/run/ssh-bastion/keys/sessions/$container"; do
  if [[ -e "$p" ]]; then left+=("$p"); fi
done
echo "instance=$1 result=$SERVICE_RESULT code=$EXIT_CODE container=$container left=\${left[*]}" >"/out/stop-$1\${2:+-$2}"
`;

// docker's stand-in. Every call goes to /out/docker-calls (one JSON line: argv and time). `run`
// starts the container's first process, the worker's receive-connection, on the hand-off socket
// in the directory docker would mount at /run/ssh-bastion/session, in the background (a container
// of its own process group); `rm -f` kills it; `container inspect` says whether it runs; `ps`
// lists no containers (no leftovers at boot).
const DOCKER = String.raw`#!/usr/bin/python3
import json, os, signal, subprocess, sys, time
args = sys.argv[1:]
with open("/out/docker-calls", "a") as f:
    f.write(json.dumps({"args": args, "time": time.time()}) + "\n")
state = "/run/fake-docker"
os.makedirs(state, exist_ok=True)
def running(name):
    try:
        with open(f"{state}/{name}.pid") as f:
            pid = f.read().strip()
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
if args[:2] == ["run", "--detach"]:
    name = args[args.index("--name") + 1]
    mounts = {}
    for option, value in zip(args, args[1:]):
        if option == "--mount":
            fields = dict(f.split("=", 1) for f in value.split(",") if "=" in f)
            mounts[fields["dst"]] = fields["src"]
    socket_path = os.path.join(mounts["/run/ssh-bastion/session"], "handoff.sock")
    with open(f"{state}/{name}.log", "wb") as log:
        container = subprocess.Popen(["perl", "/usr/local/bin/receive-connection", socket_path, "sleep", "3600"],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    with open(f"{state}/{name}.pid", "w") as f:
        f.write(str(container.pid))
    print(name)
    sys.exit(0)
if args[:1] == ["ps"]:
    sys.exit(0)
if args[:2] == ["container", "inspect"] and len(args) == 3:
    sys.exit(0 if running(args[2]) else 1)
if args[:2] == ["rm", "-f"] and len(args) == 3:
    if not running(args[2]):
        sys.exit(f"Error response from daemon: No such container: {args[2]}")
    with open(f"{state}/{args[2]}.pid") as f:
        os.killpg(int(f.read()), signal.SIGKILL)
    print(args[2])
    sys.exit(0)
sys.exit(f"docker stand-in: unexpected call {args}")
`;

interface DockerCall {
  args: string[];
  /** seconds since the epoch */
  time: number;
}

interface Received {
  data: string;
  ms: number;
}

/**
 * Connects from `address` (any of 127/8), sends an identification line and collects what arrives
 * until the connection closes; `greeted` once the session's greeting (a line) came.
 */
function connect(address: string): Promise<{ port: number; greeted: Promise<void>; received: Promise<Received> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect({ port: PORT, host: '127.0.0.1', localAddress: address });
    let data = '';
    let greet: () => void = () => undefined;
    const greeted = new Promise<void>((done) => (greet = done));
    socket.on('data', (d) => {
      data += d;
      if (data.includes('\n')) greet();
    });
    const received = new Promise<Received>((done) => socket.on('close', () => done({ data, ms: Date.now() - started })));
    socket.once('connect', () => {
      socket.write(`SSH-2.0-units-test-${socket.localPort}\r\n`);
      resolve({ port: socket.localPort!, greeted, received });
    });
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

(enabled ? describe : describe.skip)("the service port's units under a real systemd", () => {
  jest.setTimeout(300_000);

  beforeAll(async () => {
    ensureRoot();
  }, 300_000);

  test('front keeps its ready containers and hands each connection, with one of them, to its own ssh-bastion@.service: instance names, client address, the per-source limit, the session limit, ExecStopPost and session-stop', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'units-nspawn-out-'));
    const put = (p: string, content: string, mode = 0o644): void => {
      fs.mkdirSync(path.dirname(path.join(ROOT, p)), { recursive: true });
      fs.writeFileSync(path.join(ROOT, p), content, { mode });
      fs.chmodSync(path.join(ROOT, p), mode);
    };
    // nothing else of ours starts at boot (a copy of the keys test's root has its units enabled)
    for (const unit of ['keys-probe.service', 'ssh-bastion-keys.service']) {
      fs.rmSync(path.join(ROOT, 'etc/systemd/system/multi-user.target.wants', unit), { force: true });
    }
    for (const unit of UNITS) {
      put(`etc/systemd/system/${unit}`, fs.readFileSync(path.join(HOST_DIR, 'etc/systemd/system', unit), 'utf8'));
      // drop-ins of earlier runs (the root is kept) go: only this run's count
      fs.rmSync(path.join(ROOT, `etc/systemd/system/${unit}.d`), { recursive: true, force: true });
    }
    put(`${LIBEXEC.slice(1)}/lib.sh`, fs.readFileSync(path.join(HOST_DIR, LIBEXEC, 'lib.sh'), 'utf8'));
    for (const program of ['with-settings', 'front', 'session', 'session-stop']) {
      put(`${LIBEXEC.slice(1)}/${program}`, fs.readFileSync(path.join(HOST_DIR, LIBEXEC, program), 'utf8'), 0o755);
    }
    put('usr/local/bin/receive-connection', fs.readFileSync(path.join(WORKER_DIR, 'receive-connection'), 'utf8'), 0o755);
    put('usr/local/bin/docker', DOCKER, 0o755);
    // The settings front reads through with-settings (the rest are load_settings' defaults).
    put(
      'etc/ssh-bastion/bastion.env',
      [
        `BASTION_SERVICE_PORT=${PORT}`,
        `BASTION_SESSION_MAX_SECONDS=${LIMIT_SECONDS}`,
        `BASTION_MAX_CONNECTIONS_PER_SOURCE=${PER_SOURCE}`,
        'BASTION_NEW_CONNECTIONS_PER_MINUTE=30',
        'BASTION_LOGIN_GRACE_SECONDS=20',
        `BASTION_READY_SESSIONS=${READY}`,
        '',
      ].join('\n'),
    );
    // The drop-ins as setup-units writes them, with this test's values.
    put('etc/systemd/system/ssh-bastion-front.socket.d/50-settings.conf', `[Socket]\nListenStream=\nListenStream=${PORT}\n`);
    put('etc/systemd/system/ssh-bastion.socket.d/50-settings.conf', '[Socket]\nMaxConnections=64\n');
    put('etc/systemd/system/ssh-bastion@.service.d/50-settings.conf', `[Service]\nRuntimeMaxSec=${LIMIT_SECONDS}\n`);
    // The probe in place of session, started as session is; probes around the real session-stop.
    const sessionUnit = fs.readFileSync(path.join(HOST_DIR, 'etc/systemd/system/ssh-bastion@.service'), 'utf8');
    const execStart = /^ExecStart=(.*)$/m.exec(sessionUnit)![1];
    expect(execStart).toBe(`${LIBEXEC}/with-settings ${LIBEXEC}/session %i`);
    const execStopPost = /^ExecStopPost=(.*)$/m.exec(sessionUnit)![1];
    expect(execStopPost).toBe(`${LIBEXEC}/session-stop %i`);
    const probeStart = execStart.replace(`${LIBEXEC}/session `, '/usr/local/bin/session-probe ');
    put(
      'etc/systemd/system/ssh-bastion@.service.d/90-probes.conf',
      [
        '[Service]',
        'ExecStart=',
        `ExecStart=${probeStart}`,
        'ExecStopPost=',
        'ExecStopPost=/usr/local/bin/stop-probe %i',
        `ExecStopPost=${execStopPost}`,
        'ExecStopPost=/usr/local/bin/stop-probe %i after',
        '',
      ].join('\n'),
    );
    put('usr/local/bin/session-probe', SESSION_PROBE, 0o755);
    put('usr/local/bin/stop-probe', STOP_PROBE, 0o755);
    const dockerCalls = (): DockerCall[] => {
      const file = path.join(out, 'docker-calls');
      return fs.existsSync(file)
        ? fs
            .readFileSync(file, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as DockerCall)
        : [];
    };
    const runs = (): DockerCall[] => dockerCalls().filter((c) => c.args[0] === 'run');
    const nameOf = (call: DockerCall): string => call.args[call.args.indexOf('--name') + 1];

    // A journal on disk, read from here: front's lines, and what failed.
    const journalDir = path.join(ROOT, 'var/log/journal');
    fs.rmSync(journalDir, { recursive: true, force: true });
    fs.mkdirSync(journalDir);
    const journal = (): string =>
      spawnSync('journalctl', ['-D', journalDir, '--no-pager', '-o', 'short-monotonic'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
        .stdout ?? '';

    // The boot: the two sockets and the front are wanted, as setup-units starts them (systemd.wants=
    // on PID 1's command line).
    const nspawn = spawn(
      'systemd-nspawn',
      [
        '-D',
        ROOT,
        '--boot',
        '--register=no',
        '--keep-unit',
        `--bind=${out}:/out`,
        '--console=pipe',
        'systemd.wants=ssh-bastion-front.socket',
        'systemd.wants=ssh-bastion.socket',
        'systemd.wants=ssh-bastion-front.service',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let console_ = '';
    nspawn.stdout!.on('data', (d: Buffer) => (console_ += d.toString()));
    nspawn.stderr!.on('data', (d: Buffer) => (console_ += d.toString()));
    const exited = new Promise<number | null>((resolve) => nspawn.on('close', resolve));
    const failure = (what: string) =>
      new Error(
        `${what}:\n${console_.slice(-2000)}\n${journal().split('\n').slice(-60).join('\n')}\ndocker calls:\n${dockerCalls()
          .map((c) => JSON.stringify(c.args))
          .join('\n')}`,
      );
    const within = async <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(failure(what)), ms)));
      try {
        return await Promise.race([promise, timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
    try {
      // Before any client: front looks for leftovers of an earlier run, then starts its ready
      // containers, and no more than that.
      const deadline = Date.now() + 90_000;
      while (runs().length < READY) {
        if (Date.now() > deadline) throw failure(`front never started its ${READY} ready containers`);
        await sleep(250);
      }
      await sleep(2000); // their receive-connection connects meanwhile: they are ready
      const ready = runs();
      expect(ready).toHaveLength(READY);
      expect(dockerCalls()[0].args).toEqual([
        'ps',
        '-a',
        '--filter',
        'label=ssh-bastion.session=/run/ssh-bastion/session.sock',
        '--format',
        '{{.Names}}',
      ]);
      for (const call of ready) {
        const name = nameOf(call);
        expect(name).toMatch(/^ssh-bastion-[0-9a-f]{24}$/);
        expect(call.args.slice(0, 3)).toEqual(['run', '--detach', '--rm']);
        expect(call.args).toEqual(
          expect.arrayContaining([
            '--label',
            'ssh-bastion.session=/run/ssh-bastion/session.sock',
            '--mount',
            `type=bind,src=/run/ssh-bastion/sessions/${name},dst=/run/ssh-bastion/session,readonly`,
            '--mount',
            `type=bind,src=/run/ssh-bastion/keys/sessions/${name},dst=/run/ssh-bastion/keys,readonly`,
            '--env',
            `BASTION_SESSION_ID=${name}`,
          ]),
        );
        expect(call.args[call.args.length - 1]).toBe('ssh-bastion-worker:current');
      }

      // The first connection, from another source (127.0.0.2), takes a ready container.
      const firstConnectionAt = Date.now() / 1000;
      let other: Awaited<ReturnType<typeof connect>> | undefined;
      while (!other) {
        other = await connect('127.0.0.2').catch(() => undefined);
        if (Date.now() > deadline) throw failure(`port ${PORT} never opened`);
        if (!other) await sleep(250);
      }
      await within(other.greeted, 60_000, 'the first session never greeted');

      const first = await connect('127.0.0.1');
      const second = await connect('127.0.0.1');
      await within(Promise.all([first.greeted, second.greeted]), 30_000, 'the two sessions from 127.0.0.1 never greeted');
      // a third connection from the same address while two are in a session: front closes it
      const third = await connect('127.0.0.1');
      const refused = await within(third.received, 10_000, 'the third connection from 127.0.0.1 stayed open');
      // while another address still gets its session
      const fourth = await connect('127.0.0.3');
      await within(fourth.greeted, 30_000, 'the connection from 127.0.0.3 never greeted');
      const [one, two] = await Promise.all([first.received, second.received]);

      expect(one.data).toBe(`hello ${first.port} SSH-2.0-units-test-${first.port}\n`);
      expect(two.data).toBe(`hello ${second.port} SSH-2.0-units-test-${second.port}\n`);
      // RuntimeMaxSec ends a session: the connection closes after about the limit
      expect(one.ms).toBeGreaterThanOrEqual(LIMIT_SECONDS * 1000 - 500);
      expect(one.ms).toBeLessThan(LIMIT_SECONDS * 1000 + 10_000);
      // the per-source limit: closed at once, without a word and without a session
      expect(refused.data).toBe('');
      expect(refused.ms).toBeLessThan(2000);
      expect(fs.existsSync(path.join(out, `session-${third.port}`))).toBe(false);

      const instances = new Set<string>();
      const containers = new Set<string>();
      const seenOf = (port: number) => JSON.parse(fs.readFileSync(path.join(out, `session-${port}`), 'utf8'));
      for (const { port } of [first, second, fourth, other]) {
        const seen = seenOf(port);
        // systemd names a unix connection's instance <n>-<peer pid>-<peer uid>: the peer is front
        const instance = /^(\d+)-(\d+)-(\d+)$/.exec(seen.instance);
        expect(instance).not.toBeNull();
        expect(Number(instance![2])).toBe(seen.peer_pid);
        expect(Number(instance![3])).toBe(0);
        expect(seen.peer_command).toEqual(['/usr/bin/python3', '-IS', `${LIBEXEC}/front`]);
        instances.add(seen.instance);
        // stdin and stdout: the unit's connection from front; the client's comes over it
        expect(seen.fd0).toMatch(/^socket:\[\d+\]$/);
        expect(seen.fd1).toBe(seen.fd0);
        const address = port === other.port ? '127.0.0.2' : port === fourth.port ? '127.0.0.3' : '127.0.0.1';
        expect(seen.client).toBe(`${address}:${port}`);
        // (the port listens on IPv6 and IPv4: the kernel names an IPv4 client ::ffff:a.b.c.d)
        expect(seen.connection_peer.slice(0, 2)).toEqual([`::ffff:${address}`, port]);
        expect(seen.connection_local_port).toBe(PORT);
        // the container front started: random name, nothing of the client in it; the second
        // descriptor is its first process's hand-off connection, on that container's socket
        expect(seen.container).toMatch(/^ssh-bastion-[0-9a-f]{24}$/);
        expect(runs().map(nameOf)).toContain(seen.container);
        expect(seen.handoff_peer_command).toEqual([
          'perl',
          '/usr/local/bin/receive-connection',
          `/run/ssh-bastion/sessions/${seen.container}/handoff.sock`,
          'sleep',
          '3600',
        ]);
        // the record session-stop finds the container by
        expect(seen.record).toBe(`${seen.container}\n`);
        containers.add(seen.container);
      }
      expect(instances.size).toBe(4);
      expect(containers.size).toBe(4);
      // the first session got a container started before its client connected: a ready one
      expect(ready.map(nameOf)).toContain(seenOf(other.port).container);
      // and the pool was refilled; nothing of a client is in any container's start
      expect(runs().filter((c) => c.time > firstConnectionAt).length).toBeGreaterThanOrEqual(1);
      for (const call of runs()) expect(JSON.stringify(call.args)).not.toMatch(/127\.0\.0\.|SSH-2\.0|units-test/);

      // ExecStopPost ran with the same instance name, after the limit ended the main process; the
      // real session-stop between the probes removed the container, its directories and the record
      for (const { port } of [first, second]) {
        const { instance, container } = seenOf(port);
        const stopFile = path.join(out, `stop-${instance}`);
        while (!fs.existsSync(`${stopFile}-after`)) {
          if (Date.now() > deadline) throw failure(`ExecStopPost of ${instance} never ran`);
          await sleep(100);
        }
        const left = [
          `/run/ssh-bastion/units/${instance}`,
          `/run/ssh-bastion/sessions/${container}`,
          `/run/ssh-bastion/keys/sessions/${container}`,
        ];
        expect(fs.readFileSync(stopFile, 'utf8')).toBe(
          `instance=${instance} result=timeout code=killed container=${container} left=${left.join(' ')}\n`,
        );
        expect(fs.readFileSync(`${stopFile}-after`, 'utf8')).toBe(
          `instance=${instance} result=timeout code=killed container=${container} left=\n`,
        );
        expect(dockerCalls().map((c) => c.args)).toContainEqual(['rm', '-f', container]);
      }

      // Once those units have stopped, front counts their sessions as over: 127.0.0.1 gets in again.
      let again: Received | undefined;
      while (!again?.data) {
        const attempt = await connect('127.0.0.1');
        again = await within(
          Promise.race([attempt.greeted.then(() => ({ data: 'greeted', ms: 0 })), attempt.received]),
          10_000,
          'no answer from front',
        );
        if (Date.now() > deadline) throw failure('127.0.0.1 never got a session again');
        if (!again.data) await sleep(250);
      }

      // front's summary of its refusals (one line per 10 s) names the reason
      while (!/ssh-bastion: front: refused \d+ connections from 1 sources in 10s: \d+ over the per-source limit/.test(journal())) {
        if (Date.now() > deadline) throw failure('front never summarized the refusal');
        await sleep(250);
      }
      // and front started every container without a failure
      expect(journal()).not.toMatch(/did not start|no container/);
    } finally {
      nspawn.kill('SIGTERM'); // nspawn asks the container's systemd for an orderly power-off
      const timer = setTimeout(() => nspawn.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
