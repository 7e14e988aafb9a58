// End to end: what root in one session (passwordless sudo) can do to other sessions, the host and
// the kernel, and what the session sshd offers a client. One test host as in session.test.ts;
// every test here is an attack or a guard that the control does not break what users need.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, Settings, testSettings, VPC_ADDRESS, VPC_SERVICE_PORT, VPC_SERVICE_TEXT, waitFor } from '../helpers/harness';
import { log, logEachTest } from './log';

jest.setTimeout(120_000);
logEachTest();

const SERVICE_PORT = 22;
const AGENT_PORT = 2240;
// IPv6 of the test host and its "VPC": the host forwards IPv6 (as a dual-stack host would) and
// the VPC side answers on the instance metadata's IPv6 address.
const HOST_V6 = 'fd00:5::1';
const VPC_V6 = 'fd00:5::2';
const METADATA_V6 = 'fd00:ec2::254';
const JUMP_TARGET_PORT = 2022;

const SETTINGS: Settings = testSettings({
  BASTION_SERVICE_PORT: String(SERVICE_PORT),
});

let host: BastionTestHost;
const keys: Record<string, string> = {};
const background: ChildProcess[] = [];

function keyPair(dir: string, name: string): { file: string; publicKey: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { file, publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim() };
}

/** Runs a command in one of the test's network namespaces, in the background, until the end. */
function backgroundIn(netns: string, args: string[], logName: string): void {
  const fd = fs.openSync(path.join(host.dir, logName), 'a');
  background.push(spawn('nsenter', [`--net=/run/netns/${netns}`, ...args], { stdio: ['ignore', fd, fd] }));
  fs.closeSync(fd);
}

/** The containers of sessions now open. */
async function sessionContainers(): Promise<string[]> {
  return host.sessionContainers();
}

/** The address of a container on the session network. */
async function containerAddress(name: string): Promise<string> {
  return (await host.docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name)).trim();
}

/**
 * Opens a session of bob that keeps a TCP service listening on port 8000 (it prints a secret to
 * whoever connects) until the test lets it end; returns its container and how to end it.
 */
async function listeningSession(): Promise<{ name: string; address: string; clientPort: string; end: () => Promise<void> }> {
  await waitFor(async () => (await sessionContainers()).length === 0, 20_000, 'no session container');
  const listener =
    `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 8000, Listen => 5, ReuseAddr => 1) or die "listen: $!"; ` +
    `alarm 90; while ($c = $s->accept) { print $c "secret-of-bob\\n"; close $c }' </dev/null >/dev/null 2>&1 & ` +
    'for _ in $(seq 900); do [ -e /tmp/done ] && break; sleep 0.1; done; kill $!; echo "$SSH_CLIENT"';
  const session = host.ssh({ user: 'bob', key: keys.bob, command: listener, timeoutMs: 110_000 });
  await waitFor(async () => (await sessionContainers()).length === 1, 30_000, 'the listening session');
  const [name] = await sessionContainers();
  await waitFor(
    async () => (await host.run(['docker', 'exec', name, 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/8000'])).status === 0,
    30_000,
    "the listener in bob's session",
  );
  const address = await containerAddress(name);
  const start = new RegExp(`session start client=127\\.0\\.0\\.1:(\\d+) container=${name.replace(/\./g, '\\.')}\\b`).exec(host.journal());
  return {
    name,
    address,
    clientPort: start ? start[1] : '',
    end: async () => {
      await host.run(['docker', 'exec', name, 'touch', '/tmp/done']);
      const result = await session;
      expect(result.status).toBe(0);
    },
  };
}

beforeAll(async () => {
  host = new BastionTestHost({ ...SETTINGS });
  await host.prepare();
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  for (const name of ['alice', 'bob', 'jump-target']) {
    const pair = keyPair(keyDir, name);
    keys[name] = pair.file;
    keys[`${name}.pub`] = pair.publicKey;
  }
  await host.moto!.seedUsers([
    { name: 'alice', groups: ['bastion-admins'], keys: [keys['alice.pub']] },
    { name: 'bob', groups: ['bastion-admins'], keys: [keys['bob.pub']] },
  ]);

  // IPv6 beside the IPv4 of the harness: the host has an address, forwards, and routes the
  // metadata's IPv6 address to the VPC side, where something answers on it.
  const ip = (netns: string, ...args: string[]) => execFileSync('ip', ['-n', netns, ...args]);
  ip(host.hostNetns, '-6', 'addr', 'add', `${HOST_V6}/64`, 'dev', 'sshb-h', 'nodad');
  ip(host.vpcNetns, '-6', 'addr', 'add', `${VPC_V6}/64`, 'dev', 'sshb-v', 'nodad');
  ip(host.vpcNetns, '-6', 'addr', 'add', `${METADATA_V6}/128`, 'dev', 'lo');
  ip(host.hostNetns, '-6', 'route', 'add', `${METADATA_V6}/128`, 'via', VPC_V6);
  ip(host.vpcNetns, '-6', 'route', 'add', 'default', 'via', HOST_V6);
  execFileSync('ip', ['netns', 'exec', host.hostNetns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  backgroundIn(
    host.vpcNetns,
    ['socat', `TCP6-LISTEN:80,bind=[${METADATA_V6}],fork,reuseaddr`, 'SYSTEM:echo metadata-v6-answered'],
    'metadata-v6.log',
  );
  backgroundIn(host.hostNetns, ['socat', 'TCP6-LISTEN:2223,ipv6only=1,fork,reuseaddr', 'SYSTEM:echo host-v6-answered'], 'host-v6.log');

  // A plain sshd in the VPC for ProxyJump, accepting alice's key for root.
  const target = path.join(host.dir, 'jump-target');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'authorized_keys'), `${keys['alice.pub']}\n`);
  fs.mkdirSync('/run/sshd', { recursive: true });
  backgroundIn(
    host.vpcNetns,
    [
      '/usr/sbin/sshd',
      '-D',
      '-e',
      '-f',
      '/dev/null',
      '-o',
      `ListenAddress=${VPC_ADDRESS}:${JUMP_TARGET_PORT}`,
      '-o',
      `HostKey=${keys['jump-target']}`,
      '-o',
      `AuthorizedKeysFile=${target}/authorized_keys`,
      '-o',
      'StrictModes=no',
      '-o',
      'PidFile=none',
      '-o',
      'UsePAM=no',
      '-o',
      'PermitRootLogin=prohibit-password',
    ],
    'jump-target.log',
  );

  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
  await host.serveSessions(
    AGENT_PORT,
    { ...SETTINGS, BASTION_WORKER_BASE_IMAGE: host.baseImage, BASTION_ALLOW_AGENT_FORWARDING: 'true' },
    'agent-forwarding',
  );
}, 300_000);

afterAll(async () => {
  for (const proc of background) proc.kill('SIGKILL');
  await host?.stop();
});

describe('network between sessions', () => {
  test("a session cannot reach a service listening in another session's container, but reaches the VPC", async () => {
    const bob = await listeningSession();
    try {
      const probe =
        `timeout 5 bash -c 'cat </dev/tcp/${bob.address}/8000' || echo peer-unreachable; ` +
        `timeout 5 bash -c 'exec 3<>/dev/tcp/${VPC_ADDRESS}/${VPC_SERVICE_PORT} && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3' || echo vpc-unreachable`;
      const result = await host.ssh({ user: 'alice', key: keys.alice, command: `sudo -n bash -c ${JSON.stringify(probe)}` });
      log(`alice's session to bob's listener at ${bob.address}:8000: ${JSON.stringify(result.stdout.split('\n')[0])}`);
      expect(result.stdout).not.toContain('secret-of-bob');
      expect(result.stdout).toContain('peer-unreachable');
      expect(result.stdout).toContain(VPC_SERVICE_TEXT);
    } finally {
      await bob.end();
    }
  });

  test("docker's DNS reveals nothing about another session: its name holds no client address; the journal maps it", async () => {
    const bob = await listeningSession();
    try {
      expect(bob.clientPort).toMatch(/^\d+$/);
      const result = await host.ssh({ user: 'alice', key: keys.alice, command: `getent hosts ${bob.address} || echo no-name` });
      log(`reverse lookup of bob's container from alice's session: ${JSON.stringify(result.stdout.trim())}`);
      expect(result.status).toBe(0);
      expect(result.stdout).not.toContain('127.0.0.1');
      expect(result.stdout).not.toContain('127_0_0_1');
      expect(result.stdout).not.toContain(bob.clientPort);
      // the container's name is opaque; the journal's start line says whose it is
      expect(bob.name).toMatch(/^ssh-bastion-[0-9a-f]{24}$/);
      expect(host.journal()).toContain(`session start client=127.0.0.1:${bob.clientPort} container=${bob.name}`);
    } finally {
      await bob.end();
    }
  });

  test('no IPv6 path from a session to the host or to the instance metadata', async () => {
    // the host's own link-local address on the session bridge, or the one it would have
    const bridge = await host.must(['ip', '-6', '-o', 'addr', 'show', 'dev', 'ssh-bastion0', 'scope', 'link']);
    const linkLocal = /inet6 (fe80::[0-9a-f:]+)\//.exec(bridge)?.[1] ?? 'fe80::1';
    // the IPv6 answers exist: from the host itself both are reachable
    const fromHost = await host.run(['bash', '-c', `timeout 5 cat </dev/tcp/${METADATA_V6}/80; timeout 5 cat </dev/tcp/${HOST_V6}/2223`]);
    expect(fromHost.stdout).toBe('metadata-v6-answered\nhost-v6-answered\n');

    const attempt = (address: string, port: number, what: string) =>
      `timeout 5 bash -c 'cat </dev/tcp/${address}/${port}' 2>/dev/null || echo ${what}-unreachable`;
    const probe = [
      'echo "v6-addresses=$(grep -vcw lo /proc/net/if_inet6 2>/dev/null)"',
      attempt(`${linkLocal}%eth0`, 2223, 'host-link-local'),
      attempt(HOST_V6, 2223, 'host'),
      attempt(METADATA_V6, 80, 'metadata'),
    ].join('; ');
    const result = await host.ssh({ user: 'alice', key: keys.alice, command: `sudo -n bash -c ${JSON.stringify(probe)}` });
    log(`IPv6 from a session (bridge ${linkLocal}): ${JSON.stringify(result.stdout)}`);
    expect(result.stdout).toMatch(/^v6-addresses=0?$/m);
    expect(result.stdout).not.toContain('answered');
    expect(result.stdout).toContain('host-link-local-unreachable');
    expect(result.stdout).toContain('host-unreachable');
    expect(result.stdout).toContain('metadata-unreachable');
  });
});

describe('kernel audit', () => {
  test('root in a session cannot send a login record to the kernel audit log, and users still log in', async () => {
    // AUDIT_USER_LOGIN (1112) over NETLINK_AUDIT, with an acknowledgement: 0 is accepted.
    const perl =
      'socket(my $s, 16, 3, 9) or do { print "refused socket: $!\\n"; exit }; ' +
      'my $p = "op=login acct=\\"root\\" exe=\\"/usr/sbin/sshd\\" res=success\\0"; ' +
      'send($s, pack("LSSLL", 16 + length($p), 1112, 5, 1, 0) . $p, 0, pack("SSLL", 16, 0, 0, 0)) or do { print "refused send: $!\\n"; exit }; ' +
      'defined(recv($s, my $ack, 8192, 0)) or do { print "refused recv: $!\\n"; exit }; ' +
      'my (undef, $type, undef, undef, undef, $err) = unpack("LSSLLl", $ack); ' +
      'print $err == 0 ? "accepted\\n" : "refused errno=" . -$err . "\\n";';
    // on a terminal, where sshd itself writes a login record, and without one
    for (const extra of [['-tt'], []]) {
      const result = await host.ssh({
        user: 'alice',
        key: keys.alice,
        extra,
        command: `id -un; tty >/dev/null && echo on-a-tty; sudo -n perl -e '${perl}'`,
      });
      log(`audit record from root in a session (${extra.join(' ') || 'no tty'}): ${JSON.stringify(result.stdout)}`);
      const lines = result.stdout.split(/\r?\n/);
      expect(lines[0]).toBe('alice');
      expect(lines.includes('on-a-tty')).toBe(extra.length > 0);
      expect(result.stdout).toMatch(/^refused /m);
      expect(result.stdout).not.toContain('accepted');
      // sudo says it could not write its own record, and runs the command
      expect(`${result.stdout}${result.stderr}`).toContain('sudo: unable to send audit message: Operation not permitted');
    }
  });
});

describe('what users run goes through session-command', () => {
  test('a command, a login shell on a terminal (with the MOTD) and sftp work, none with AUDIT_WRITE inheritable', async () => {
    const inheritable = 'grep ^CapInh: /proc/self/status';
    const command = await host.ssh({ user: 'alice', key: keys.alice, command: inheritable });
    expect(command.stdout).toMatch(/CapInh:\s+0000000000000000\n$/);
    const shell = await host.run([
      'bash',
      '-c',
      `echo '${inheritable}; exit' | ssh -tt -i ${keys.alice} -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR alice@127.0.0.1`,
    ]);
    expect(shell.stdout).toMatch(/one-time container/);
    expect(shell.stdout).toMatch(/CapInh:\s+0000000000000000/);
    const sftp = await host.run([
      'bash',
      '-c',
      `printf 'put /etc/hostname copied\nls -l copied\n' | sftp -b - -i ${keys.alice} -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR alice@127.0.0.1`,
    ]);
    expect(sftp.status).toBe(0);
    expect(sftp.stdout).toMatch(/alice .* copied/);
  });
});

describe('session sshd algorithms', () => {
  test('ssh-audit finds no failure', async () => {
    const result = await host.run(['ssh-audit', '--no-colors', '-p', String(SERVICE_PORT), '127.0.0.1'], { timeoutMs: 90_000 });
    log(`ssh-audit exit status ${result.status}:\n${result.stdout}`);
    const offered = (kind: string) => [...result.stdout.matchAll(new RegExp(`^\\(${kind}\\) (\\S+)`, 'gm'))].map((m) => m[1]);
    // it did audit this server's algorithms
    expect(offered('kex')).toContain('curve25519-sha256');
    expect(offered('key')).toEqual(['ssh-ed25519']);
    expect(result.stdout.split('\n').filter((l) => l.includes('[fail]'))).toEqual([]);
    // ssh-audit 2.5.0 (Debian 12) exits 3 when it found a failure, 2 for warnings only
    expect([0, 2]).toContain(result.status);
    // encrypt-then-MAC only (the ciphers are AEAD, which use no MAC at all)
    expect(offered('mac').filter((mac) => !mac.endsWith('-etm@openssh.com'))).toEqual([]);
    expect(offered('enc').sort()).toEqual(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com']);
  });

  test.each([
    ['KexAlgorithms', 'ecdh-sha2-nistp256', 'key exchange method'],
    ['KexAlgorithms', 'diffie-hellman-group14-sha256', 'key exchange method'],
    ['Ciphers', 'aes128-ctr', 'cipher'],
  ])('a client offering only %s %s is refused', async (option, algorithm, what) => {
    const result = await host.ssh({ user: 'alice', key: keys.alice, command: 'true', extra: ['-o', `${option}=${algorithm}`] });
    expect(result.status).toBe(255);
    // the session's sshd says why, in the journal
    const refusal = `no matching ${what} found. Their offer: ${algorithm}`;
    await waitFor(() => host.journal().includes(refusal), 15_000, `"${refusal}" in the journal`);
  });

  test('an OpenSSH client with its defaults logs in', async () => {
    const result = await host.ssh({ user: 'alice', key: keys.alice, command: 'echo ok' });
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 0, stdout: 'ok\n' });
  });
});

describe('agent forwarding', () => {
  const withAgent = (port: number) =>
    host.run([
      'bash',
      '-c',
      `eval "$(ssh-agent -s)" >/dev/null; ssh-add -q ${keys.alice}; ` +
        `ssh -A -p ${port} -i ${keys.alice} -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR ` +
        `alice@127.0.0.1 'echo "agent=\${SSH_AUTH_SOCK:-none}"'; status=$?; ssh-agent -k >/dev/null; exit $status`,
    ]);

  test('is off by default: ssh -A gets no agent in the session', async () => {
    const result = await withAgent(SERVICE_PORT);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('agent=none\n');
  });

  test('BASTION_ALLOW_AGENT_FORWARDING=true turns it on', async () => {
    const result = await withAgent(AGENT_PORT);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^agent=\/tmp\/ssh-\S+\n$/);
  });

  test('ProxyJump through the bastion works without agent forwarding', async () => {
    const config = path.join(host.dir, 'jump_config');
    fs.writeFileSync(
      config,
      `Host *\n  IdentityFile ${keys.alice}\n  IdentitiesOnly yes\n  BatchMode yes\n  ForwardAgent no\n` +
        '  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n  ConnectTimeout 30\n',
    );
    const result = await host.run(
      [
        'ssh',
        '-F',
        config,
        '-J',
        `alice@127.0.0.1:${SERVICE_PORT}`,
        '-p',
        String(JUMP_TARGET_PORT),
        `root@${VPC_ADDRESS}`,
        'echo "jumped to $(hostname -I 2>/dev/null || echo target)"',
      ],
      { timeoutMs: 90_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^jumped to /);
  });
});
