/**
 * ssh-bastion.socket and ssh-bastion@.service, as shipped plus the drop-ins setup-units writes,
 * under a real systemd 252 (the version Amazon Linux 2023 ships), booted with systemd-nspawn in a
 * Debian bookworm root that shares this machine's network. What the e2e suite plays with
 * systemd-socket-activate and a helper is checked here against systemd itself: the instance name
 * the session wrapper parses (`<n>-<local>:<port>-<client>:<port>`), REMOTE_ADDR/REMOTE_PORT, the
 * connection as stdin and stdout, MaxConnectionsPerSource, RuntimeMaxSec (the session limit) and
 * ExecStopPost with the instance name. Only ExecStart and ExecStopPost are replaced (by probes
 * that use the real lib.sh): sessions need docker, which does not run inside nspawn here.
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
const enabled = process.env.BASTION_UNITS_SYSTEMD_TEST !== '0' && process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v systemd-nspawn']).status === 0;
if (!enabled) console.warn('\n*** ssh-bastion.socket under a real systemd: SKIPPED (needs root and systemd-nspawn) ***\n');

/** The root: a copy of the key service test's when that one is there, else its own debootstrap. */
function ensureRoot(): void {
  buildOnce(
    ROOT,
    (building) => {
      if (fs.existsSync(path.join(KEYS_ROOT, 'usr/lib/systemd/systemd'))) execFileSync('cp', ['-a', KEYS_ROOT, building], { timeout: 120_000 });
      else debootstrap(building, { suite: 'bookworm', variant: 'minbase', mirror: DEBIAN_MIRROR, include: ['systemd', 'systemd-sysv', 'dbus'] }, 280_000);
    },
    (root) => fs.existsSync(path.join(root, 'usr/lib/systemd/systemd')),
  );
}

// ExecStart stand-in: what the session wrapper would see, then a greeting on the connection.
const SESSION_PROBE = `#!/bin/bash
. /usr/local/libexec/ssh-bastion/lib.sh
fds="fd0=$(readlink /proc/$$/fd/0) fd1=$(readlink /proc/$$/fd/1)"
{
  echo "instance=$1"
  echo "remote=$REMOTE_ADDR:$REMOTE_PORT"
  echo "container=$(new_container_name)"
  echo "$fds"
} > "/out/session-$REMOTE_PORT"
echo "hello $REMOTE_PORT"
exec sleep 60
`;

// ExecStopPost stand-in: the instance name and how systemd says the main process ended.
const STOP_PROBE = `#!/bin/bash
echo "instance=$1 result=$SERVICE_RESULT code=$EXIT_CODE" > "/out/stop-\${1##*:}"
`;

/** Connects from 127.0.0.1 and collects what arrives until the connection closes. */
function connect(): Promise<{ port: number; received: Promise<{ data: string; ms: number }> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(PORT, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d));
    const received = new Promise<{ data: string; ms: number }>((done) => socket.on('close', () => done({ data, ms: Date.now() - started })));
    socket.once('connect', () => resolve({ port: socket.localPort!, received }));
    socket.once('error', reject);
  });
}

(enabled ? describe : describe.skip)('ssh-bastion.socket and ssh-bastion@.service under a real systemd', () => {
  jest.setTimeout(300_000);

  beforeAll(async () => {
    ensureRoot();
  }, 300_000);

  test('instance names, client address, the connection as stdio, the per-source limit, the session limit and ExecStopPost', async () => {
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
    for (const unit of ['ssh-bastion.socket', 'ssh-bastion@.service']) {
      put(`etc/systemd/system/${unit}`, fs.readFileSync(path.join(HOST_DIR, 'etc/systemd/system', unit), 'utf8'));
    }
    put('usr/local/libexec/ssh-bastion/lib.sh', fs.readFileSync(path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion/lib.sh'), 'utf8'));
    // The drop-ins exactly as setup-units writes them, with this test's values.
    put('etc/systemd/system/ssh-bastion.socket.d/50-settings.conf', `[Socket]\nListenStream=\nListenStream=${PORT}\nMaxConnectionsPerSource=2\n`);
    put('etc/systemd/system/ssh-bastion@.service.d/50-settings.conf', `[Service]\nRuntimeMaxSec=${LIMIT_SECONDS}\n`);
    put('etc/systemd/system/ssh-bastion@.service.d/90-probes.conf', '[Service]\nExecStart=\nExecStart=/usr/local/bin/session-probe %i\nExecStopPost=\nExecStopPost=/usr/local/bin/stop-probe %i\n');
    put('usr/local/bin/session-probe', SESSION_PROBE, 0o755);
    put('usr/local/bin/stop-probe', STOP_PROBE, 0o755);

    // The boot: only the socket unit is wanted (systemd.wants= on PID 1's command line).
    const nspawn = spawn('systemd-nspawn', ['-D', ROOT, '--boot', '--register=no', '--keep-unit', `--bind=${out}:/out`, '--console=pipe', 'systemd.wants=ssh-bastion.socket'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let console_ = '';
    nspawn.stdout!.on('data', (d: Buffer) => (console_ += d.toString()));
    nspawn.stderr!.on('data', (d: Buffer) => (console_ += d.toString()));
    const exited = new Promise<number | null>((resolve) => nspawn.on('close', resolve));
    try {
      // the port opens once systemd has started the socket unit
      const deadline = Date.now() + 90_000;
      let probePort = 0;
      while (!probePort) {
        probePort = await new Promise<number>((resolve) => {
          const probe = net.connect(PORT, '127.0.0.1');
          probe.once('connect', () => {
            resolve(probe.localPort!);
            probe.destroy();
          });
          probe.once('error', () => resolve(0));
        });
        if (Date.now() > deadline) throw new Error(`port ${PORT} never opened:\n${console_.slice(-3000)}`);
        if (!probePort) await new Promise((r) => setTimeout(r, 250));
      }
      // that was a connection too, counted per source until its instance ends (at the limit)
      while (!fs.existsSync(path.join(out, `stop-${probePort}`))) {
        if (Date.now() > deadline) throw new Error(`the first instance never ended:\n${console_.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }

      const first = await connect();
      const second = await connect();
      await new Promise((r) => setTimeout(r, 500));
      const third = await connect(); // a third connection from the same address while two are open
      const [one, two, three] = await Promise.all([first.received, second.received, third.received]);

      expect(one.data).toBe(`hello ${first.port}\n`);
      expect(two.data).toBe(`hello ${second.port}\n`);
      // RuntimeMaxSec ends a session: the connection closes after about the limit, not the probe's 60 s
      expect(one.ms).toBeGreaterThanOrEqual(LIMIT_SECONDS * 1000 - 500);
      expect(one.ms).toBeLessThan(LIMIT_SECONDS * 1000 + 10_000);
      // MaxConnectionsPerSource=2: systemd closes the third at once, without starting a session
      expect(three.data).toBe('');
      expect(three.ms).toBeLessThan(2000);
      expect(fs.existsSync(path.join(out, `session-${third.port}`))).toBe(false);

      for (const { port } of [first, second]) {
        const seen = fs.readFileSync(path.join(out, `session-${port}`), 'utf8');
        const instance = new RegExp(`^instance=(\\d+)-127\\.0\\.0\\.1:${PORT}-127\\.0\\.0\\.1:${port}$`, 'm').exec(seen);
        expect(instance).not.toBeNull();
        expect(seen).toContain(`remote=127.0.0.1:${port}\n`);
        // the name the session wrapper gives the container: random, nothing of the client in it
        expect(seen).toMatch(/^container=ssh-bastion-[0-9a-f]{24}$/m);
        const fds = /^fd0=(socket:\[\d+\]) fd1=(socket:\[\d+\])$/m.exec(seen);
        expect(fds).not.toBeNull();
        expect(fds![1]).toBe(fds![2]);
        // ExecStopPost ran with the same instance name, after the limit ended the main process
        const stop = fs.readFileSync(path.join(out, `stop-${port}`), 'utf8');
        expect(stop).toBe(`instance=${instance![0].slice('instance='.length)} result=timeout code=killed\n`);
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
