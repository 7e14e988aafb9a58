/**
 * The service port's units as shipped plus the drop-ins setup-units writes, under a real systemd
 * 252 (the version Amazon Linux 2023 ships), booted with systemd-nspawn in a Debian bookworm root
 * that shares this machine's network: ssh-bastion-front.socket (TCP, Accept=no) starts
 * ssh-bastion-front.service, the real front through the real with-settings with its settings from
 * /etc/ssh-bastion/bastion.env; front hands each connection that sent its SSH identification line
 * to ssh-bastion.socket (unix, Accept=yes), which starts one ssh-bastion@.service per connection.
 * What the e2e suite plays with systemd-socket-activate and a helper is checked here against
 * systemd itself: the instance names (`<n>-<front's pid>-<uid>` for the unix socket), the client
 * connection reaching the per-session unit with its address, the identification line still unread,
 * front's per-source limit (BASTION_MAX_CONNECTIONS_PER_SOURCE) counting a session until its unit
 * has stopped, RuntimeMaxSec (the session limit) and ExecStopPost with the instance name.
 * Only the session unit's ExecStart and ExecStopPost are replaced, by probes: sessions need docker,
 * which does not run inside nspawn here. The session probe runs through the real with-settings and
 * receives the connection with the session program's own code (Session.receive).
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
import { HOST_DIR } from './userdata-tree';

const ROOT = path.join(E2E_CACHE_DIR, 'units-nsroot');
const KEYS_ROOT = path.join(E2E_CACHE_DIR, 'keys-nsroot');
const PORT = 2299;
const LIMIT_SECONDS = 4;
const PER_SOURCE = 2;
const LIBEXEC = '/usr/local/libexec/ssh-bastion';
const UNITS = ['ssh-bastion-front.socket', 'ssh-bastion-front.service', 'ssh-bastion.socket', 'ssh-bastion@.service'];
const enabled = process.env.BASTION_UNITS_SYSTEMD_TEST !== '0' && process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v systemd-nspawn']).status === 0;
if (!enabled) console.warn('\n*** the service port\'s units under a real systemd: SKIPPED (needs root and systemd-nspawn) ***\n');

/** A root with systemd and python3 (front and session are Python programs). */
const isWhole = (root: string): boolean => ['usr/lib/systemd/systemd', 'usr/bin/python3'].every((p) => fs.existsSync(path.join(root, p)));

/** The root: a copy of the key service test's when that one is there, else its own debootstrap. */
function ensureRoot(): void {
  buildOnce(
    ROOT,
    (building) => {
      if (isWhole(KEYS_ROOT)) execFileSync('cp', ['-a', KEYS_ROOT, building], { timeout: 120_000 });
      else debootstrap(building, { suite: 'bookworm', variant: 'minbase', mirror: DEBIAN_MIRROR, include: ['systemd', 'systemd-sysv', 'dbus', 'python3'] }, 280_000);
    },
    isWhole,
  );
}

// ExecStart stand-in, started as the real one is (with-settings ... %i): who is at the other end
// of stdin (front), then the client connection as session receives it, then a greeting on it.
const SESSION_PROBE = String.raw`#!/usr/bin/python3
import importlib.machinery, importlib.util, json, os, socket, struct, sys
loader = importlib.machinery.SourceFileLoader("session", "${LIBEXEC}/session")
session_module = importlib.util.module_from_spec(importlib.util.spec_from_loader("session", loader))
loader.exec_module(session_module)
unit = socket.socket(fileno=os.dup(0))
pid, uid, _ = struct.unpack("3i", unit.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
unit.close()
with open(f"/proc/{pid}/cmdline", "rb") as f:
    peer_command = [a.decode() for a in f.read().split(b"\0") if a]
report = {"instance": sys.argv[1], "peer_pid": pid, "peer_uid": uid, "peer_command": peer_command,
          "fd0": os.readlink("/proc/self/fd/0"), "fd1": os.readlink("/proc/self/fd/1")}
session = session_module.Session(sys.argv[1])
connection = socket.socket(fileno=session.receive())
report.update(client=session.client, container=session.container, connection_peer=list(connection.getpeername()),
              connection_local_port=connection.getsockname()[1])
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

// ExecStopPost stand-in: the instance name and how systemd says the main process ended.
const STOP_PROBE = `#!/bin/bash
echo "instance=$1 result=$SERVICE_RESULT code=$EXIT_CODE" > "/out/stop-$1"
`;

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

(enabled ? describe : describe.skip)('the service port\'s units under a real systemd', () => {
  jest.setTimeout(300_000);

  beforeAll(async () => {
    ensureRoot();
  }, 300_000);

  test('front hands each connection to its own ssh-bastion@.service: instance names, client address, the per-source limit, the session limit and ExecStopPost', async () => {
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
    for (const program of ['lib.sh', 'with-settings', 'front', 'session']) {
      put(`${LIBEXEC.slice(1)}/${program}`, fs.readFileSync(path.join(HOST_DIR, LIBEXEC, program), 'utf8'), 0o755);
    }
    // The settings front reads through with-settings (the rest are load_settings' defaults).
    put('etc/ssh-bastion/bastion.env', [
      `BASTION_SERVICE_PORT=${PORT}`,
      `BASTION_SESSION_MAX_SECONDS=${LIMIT_SECONDS}`,
      `BASTION_MAX_CONNECTIONS_PER_SOURCE=${PER_SOURCE}`,
      'BASTION_NEW_CONNECTIONS_PER_MINUTE=30',
      'BASTION_LOGIN_GRACE_SECONDS=20',
      '',
    ].join('\n'));
    // The drop-ins as setup-units writes them, with this test's values.
    put('etc/systemd/system/ssh-bastion-front.socket.d/50-settings.conf', `[Socket]\nListenStream=\nListenStream=${PORT}\n`);
    put('etc/systemd/system/ssh-bastion.socket.d/50-settings.conf', '[Socket]\nMaxConnections=64\n');
    put('etc/systemd/system/ssh-bastion@.service.d/50-settings.conf', `[Service]\nRuntimeMaxSec=${LIMIT_SECONDS}\n`);
    // The probes in place of session and session-stop; the probe is started as session is.
    const sessionUnit = fs.readFileSync(path.join(HOST_DIR, 'etc/systemd/system/ssh-bastion@.service'), 'utf8');
    const execStart = /^ExecStart=(.*)$/m.exec(sessionUnit)![1];
    expect(execStart).toBe(`${LIBEXEC}/with-settings ${LIBEXEC}/session %i`);
    const probeStart = execStart.replace(`${LIBEXEC}/session `, '/usr/local/bin/session-probe ');
    put('etc/systemd/system/ssh-bastion@.service.d/90-probes.conf', `[Service]\nExecStart=\nExecStart=${probeStart}\nExecStopPost=\nExecStopPost=/usr/local/bin/stop-probe %i\n`);
    put('usr/local/bin/session-probe', SESSION_PROBE, 0o755);
    put('usr/local/bin/stop-probe', STOP_PROBE, 0o755);

    // A journal on disk, read from here: front's lines, and what failed.
    const journalDir = path.join(ROOT, 'var/log/journal');
    fs.rmSync(journalDir, { recursive: true, force: true });
    fs.mkdirSync(journalDir);
    const journal = (): string =>
      spawnSync('journalctl', ['-D', journalDir, '--no-pager', '-o', 'short-monotonic'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout ?? '';

    // The boot: the two sockets are wanted, as setup-units starts them (systemd.wants= on PID 1's
    // command line).
    const nspawn = spawn('systemd-nspawn', [
      '-D', ROOT, '--boot', '--register=no', '--keep-unit', `--bind=${out}:/out`, '--console=pipe',
      'systemd.wants=ssh-bastion-front.socket', 'systemd.wants=ssh-bastion.socket',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let console_ = '';
    nspawn.stdout!.on('data', (d: Buffer) => (console_ += d.toString()));
    nspawn.stderr!.on('data', (d: Buffer) => (console_ += d.toString()));
    const exited = new Promise<number | null>((resolve) => nspawn.on('close', resolve));
    const failure = (what: string) => new Error(`${what}:\n${console_.slice(-2000)}\n${journal().split('\n').slice(-60).join('\n')}`);
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
      // The port opens once systemd has started the socket unit; the first connection that gets
      // in, from another source (127.0.0.2), starts front and becomes a session of its own.
      const deadline = Date.now() + 90_000;
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
      for (const { port } of [first, second, fourth, other]) {
        const seen = JSON.parse(fs.readFileSync(path.join(out, `session-${port}`), 'utf8'));
        // systemd names a unix connection's instance <n>-<peer pid>-<peer uid>: the peer is front
        const instance = /^(\d+)-(\d+)-(\d+)$/.exec(seen.instance);
        expect(instance).not.toBeNull();
        expect(Number(instance![2])).toBe(seen.peer_pid);
        expect(Number(instance![3])).toBe(0);
        expect(seen.peer_command).toEqual(['/usr/bin/python3', `${LIBEXEC}/front`]);
        instances.add(seen.instance);
        // stdin and stdout: the unit's connection from front; the client's comes over it
        expect(seen.fd0).toMatch(/^socket:\[\d+\]$/);
        expect(seen.fd1).toBe(seen.fd0);
        const address = port === other.port ? '127.0.0.2' : port === fourth.port ? '127.0.0.3' : '127.0.0.1';
        expect(seen.client).toBe(`${address}:${port}`);
        // (the port listens on IPv6 and IPv4: the kernel names an IPv4 client ::ffff:a.b.c.d)
        expect(seen.connection_peer.slice(0, 2)).toEqual([`::ffff:${address}`, port]);
        expect(seen.connection_local_port).toBe(PORT);
        // the name session gives the container: random, nothing of the client in it
        expect(seen.container).toMatch(/^ssh-bastion-[0-9a-f]{24}$/);
      }
      expect(instances.size).toBe(4);

      // ExecStopPost ran with the same instance name, after the limit ended the main process
      for (const { port } of [first, second]) {
        const { instance } = JSON.parse(fs.readFileSync(path.join(out, `session-${port}`), 'utf8'));
        const stopFile = path.join(out, `stop-${instance}`);
        while (!fs.existsSync(stopFile)) {
          if (Date.now() > deadline) throw failure(`ExecStopPost of ${instance} never ran`);
          await sleep(100);
        }
        expect(fs.readFileSync(stopFile, 'utf8')).toBe(`instance=${instance} result=timeout code=killed\n`);
      }

      // Once those units have stopped, front counts their sessions as over: 127.0.0.1 gets in again.
      let again: Received | undefined;
      while (!again?.data) {
        const attempt = await connect('127.0.0.1');
        again = await within(Promise.race([attempt.greeted.then(() => ({ data: 'greeted', ms: 0 })), attempt.received]), 10_000, 'no answer from front');
        if (Date.now() > deadline) throw failure('127.0.0.1 never got a session again');
        if (!again.data) await sleep(250);
      }

      // front's summary of its refusals (one line per 10 s) names the reason
      while (!/ssh-bastion: front: refused \d+ connections from 1 sources in 10s: \d+ over the per-source limit/.test(journal())) {
        if (Date.now() > deadline) throw failure('front never summarized the refusal');
        await sleep(250);
      }
    } finally {
      nspawn.kill('SIGTERM'); // nspawn asks the container's systemd for an orderly power-off
      const timer = setTimeout(() => nspawn.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
