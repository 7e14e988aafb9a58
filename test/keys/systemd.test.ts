/**
 * The unit under a real systemd 252 (the version Amazon Linux 2023 ships): a Debian bookworm
 * root with systemd and python3-boto3 (1.26) is booted with systemd-nspawn, the unit runs with
 * all its hardening (DynamicUser, SystemCallFilter, MemoryDenyWriteExecute, ...), and a probe
 * unit inside checks, as `nobody` through a bind mount (as the session containers do):
 * USERS/KEYS answers, a restart and a SIGKILL (Restart=always) with the old bind mount still
 * working (RuntimeDirectoryPreserve=restart). IAM is moto behind the fault proxy on 127.0.0.1
 * (the container shares the host network).
 *
 * Needs root, systemd-nspawn (Debian package systemd-container) and a debootstrap root (about
 * 1 min to build once, from Debian's archive); skipped, with a warning, where those are missing
 * or with BASTION_KEYS_SYSTEMD_TEST=0.
 * The root is kept in .e2e/keys-nsroot (git-ignored); BASTION_KEYS_NSPAWN_ROOT overrides it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildOnce, debootstrap, DEBIAN_MIRROR } from '../helpers/debootstrap';
import { runCollecting as run } from '../helpers/run';
import { FaultProxy } from '../helpers/fault-proxy';
import { fakeSshPublicKey, MotoServer } from '../helpers/moto';
import { KEYS_SERVICE_PATH } from './daemon';

const UNIT = path.resolve(__dirname, '../../userdata/host/etc/systemd/system/ssh-bastion-keys.service');
const AUDIT_SOCKET_UNIT = path.resolve(__dirname, '../../userdata/host/etc/systemd/system/ssh-bastion-audit.socket');
// Stands in for the audit shipper behind the real ssh-bastion-audit.socket: writes each datagram to /out.
const AUDIT_RECEIVER = `#!/usr/bin/python3
import socket
s = socket.socket(fileno=3)
with open("/out/audit.txt", "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\\n")
`;
const ROOT = process.env.BASTION_KEYS_NSPAWN_ROOT ?? path.resolve(__dirname, '../../.e2e/keys-nsroot');
const enabled =
  process.env.BASTION_KEYS_SYSTEMD_TEST !== '0' &&
  process.getuid?.() === 0 &&
  spawnSync('sh', ['-c', 'command -v systemd-nspawn']).status === 0;
if (!enabled) console.warn('\n*** ssh-bastion-keys.service under a real systemd: SKIPPED (needs root and systemd-nspawn) ***\n');

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

const QUERY = `#!/usr/bin/python3
import socket, sys
for q in (b"USERS\\n", b"KEYS aliceatexample.com " + sys.argv[2].encode() + b"\\n"):
    try:
        c = socket.socket(socket.AF_UNIX)
        c.connect(sys.argv[1])
        c.sendall(q)
        print(repr(c.recv(9999)))
    except OSError as e:
        print("error", e.errno)
`;

// Runs inside the booted container after the key service; writes its findings to /out.
const PROBE = `#!/bin/sh
q() { su nobody -s /bin/sh -c "keys-query /mnt/keys/keys.sock $1"; }
for i in $(seq 50); do [ -S /run/ssh-bastion/keys/keys.sock ] && break; sleep 0.2; done
sleep 1
stat -c '%n %a %F' /run/ssh-bastion/keys/. /run/ssh-bastion/keys/keys.sock > /out/stat.txt
mkdir -p /mnt/keys && mount --bind /run/ssh-bastion/keys /mnt/keys
{
  echo "nobody:"; q s1
  systemctl --no-block restart ssh-bastion-keys.service; sleep 4
  echo "after-restart:"; q s2
  systemctl --no-block kill -s KILL ssh-bastion-keys.service; sleep 5
  echo "after-kill:"; q s3
} > /out/answers.txt 2>&1
systemctl show ssh-bastion-keys.service -p User -p ActiveState -p NRestarts > /out/show.txt
journalctl -b -u ssh-bastion-keys.service --no-pager -o cat > /out/journal.txt
systemctl poweroff
`;

(enabled ? describe : describe.skip)('ssh-bastion-keys.service under a real systemd', () => {
  jest.setTimeout(300000);
  let moto: MotoServer;
  let proxy: FaultProxy;
  const aliceKey = fakeSshPublicKey('alice');

  beforeAll(async () => {
    expect(has('systemd-nspawn')).toBe(true);
    const include = ['systemd', 'systemd-sysv', 'dbus', 'python3', 'python3-boto3'];
    buildOnce(
      ROOT,
      (building) => debootstrap(building, { suite: 'bookworm', variant: 'minbase', mirror: DEBIAN_MIRROR, include }, 280_000),
      (root) => fs.existsSync(path.join(root, 'usr/bin/python3')),
    );
    moto = await MotoServer.start();
    await moto.seedUsers([
      { name: 'alice@example.com', groups: ['ops'], keys: [aliceKey] },
      { name: 'bob', groups: ['other'] },
    ]);
    proxy = await FaultProxy.start(moto.endpoint);
  });

  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });

  test('boots, answers through a bind mount as nobody, survives restart and SIGKILL', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-nspawn-out-'));
    const put = (p: string, content: string, mode: number): void => {
      fs.mkdirSync(path.dirname(path.join(ROOT, p)), { recursive: true });
      fs.writeFileSync(path.join(ROOT, p), content, { mode });
      fs.chmodSync(path.join(ROOT, p), mode);
    };
    put('usr/local/libexec/ssh-bastion/keys-service', fs.readFileSync(KEYS_SERVICE_PATH, 'utf8'), 0o755);
    put('etc/systemd/system/ssh-bastion-keys.service', fs.readFileSync(UNIT, 'utf8'), 0o644);
    put('etc/ssh-bastion/bastion.env', 'BASTION_SERVICE_PORT=22\nBASTION_ALLOWED_IAM_GROUPS=ops\nBASTION_ASSUME_ROLE_ARN=\n', 0o644);
    const aws = moto.awsEnv(undefined, proxy.endpoint);
    put(
      'etc/systemd/system/ssh-bastion-keys.service.d/test.conf',
      `[Service]\nEnvironment=${['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_EC2_METADATA_DISABLED'].map((k) => `${k}=${aws[k]}`).join(' ')}\n`,
      0o644,
    );
    // the audit socket as on a host (root's, 0666), the shipper replaced by a receiver
    put('etc/systemd/system/ssh-bastion-audit.socket', fs.readFileSync(AUDIT_SOCKET_UNIT, 'utf8'), 0o644);
    put('usr/local/bin/audit-receiver', AUDIT_RECEIVER, 0o755);
    put('etc/systemd/system/ssh-bastion-audit.service', '[Service]\nExecStart=/usr/local/bin/audit-receiver\n', 0o644);
    const socketsWants = path.join(ROOT, 'etc/systemd/system/sockets.target.wants');
    fs.mkdirSync(socketsWants, { recursive: true });
    fs.rmSync(path.join(socketsWants, 'ssh-bastion-audit.socket'), { force: true });
    fs.symlinkSync('/etc/systemd/system/ssh-bastion-audit.socket', path.join(socketsWants, 'ssh-bastion-audit.socket'));
    put('usr/local/bin/keys-query', QUERY, 0o755);
    put('usr/local/bin/keys-probe', PROBE, 0o755);
    put(
      'etc/systemd/system/keys-probe.service',
      '[Unit]\nAfter=ssh-bastion-keys.service\nWants=ssh-bastion-keys.service\n[Service]\nType=oneshot\nExecStart=/usr/local/bin/keys-probe\n[Install]\nWantedBy=multi-user.target\n',
      0o644,
    );
    const wants = path.join(ROOT, 'etc/systemd/system/multi-user.target.wants');
    fs.mkdirSync(wants, { recursive: true });
    for (const unit of ['ssh-bastion-keys.service', 'keys-probe.service']) {
      fs.rmSync(path.join(wants, unit), { force: true });
      fs.symlinkSync(`/etc/systemd/system/${unit}`, path.join(wants, unit));
    }

    proxy.clear();
    const booted = await run(
      'systemd-nspawn',
      ['-D', ROOT, '--boot', '--register=no', '--keep-unit', `--bind=${out}:/out`, '--console=pipe'],
      120000,
    );
    const read = (f: string): string =>
      fs.existsSync(path.join(out, f))
        ? fs.readFileSync(path.join(out, f), 'utf8')
        : `(no ${f}; nspawn said: ${booted.output.slice(-2000)})`;
    const answers = read('answers.txt');
    const journal = read('journal.txt');
    const stat = read('stat.txt');
    const show = read('show.txt');
    const audit = read('audit.txt');
    // the root is a cache shared with other checkouts: leave it as the other units found it
    for (const file of [
      'etc/systemd/system/sockets.target.wants/ssh-bastion-audit.socket',
      'etc/systemd/system/ssh-bastion-audit.socket',
      'etc/systemd/system/ssh-bastion-audit.service',
      'usr/local/bin/audit-receiver',
    ]) {
      fs.rmSync(path.join(ROOT, file), { force: true });
    }
    fs.rmSync(out, { recursive: true, force: true });

    const ok = `b'aliceatexample.com\\n'\nb'${aliceKey}\\n'`;
    expect(answers).toBe(`nobody:\n${ok}\nafter-restart:\n${ok}\nafter-kill:\n${ok}\n`);
    expect(stat).toBe('/run/ssh-bastion/keys/. 755 directory\n/run/ssh-bastion/keys/keys.sock 666 socket\n');
    expect(show).toContain('User=ssh-bastion-keys');
    expect(show).toContain('ActiveState=active');
    expect(show).toContain('NRestarts=1');
    expect(journal).toMatch(
      /ssh-bastion-keys: started socket=\/run\/ssh-bastion\/keys\/keys.sock region=us-east-1 region_source=env groups=ops .* boto3=1\.26\./,
    );
    expect(journal.match(/ssh-bastion-keys: keys user=aliceatexample.com iam_user=alice@example.com keys=1 calls=3 /g)).toHaveLength(3);
    expect(journal).not.toMatch(/Traceback|SIGSYS|Bad system call|audit event not delivered/);
    // the dynamic user, sandboxed (ProtectSystem=strict, its syscall filter), sent each decision to
    // the audit socket as a keys.lookup event
    const events = audit
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(
      events.filter(
        (e) =>
          e.event === 'keys.lookup' &&
          e.decision === 'answered' &&
          e.user === 'aliceatexample.com' &&
          e.iam_user === 'alice@example.com' &&
          e.keys === 1,
      ),
    ).toHaveLength(3);
    expect(booted.status).toBe(0);
    // each of the three daemon lives: 1 GetGroup, then 3 calls for the login
    expect(proxy.countActions()).toEqual({ GetGroup: 3, ListGroupsForUser: 3, ListSSHPublicKeys: 3, GetSSHPublicKey: 3 });
  });
});
