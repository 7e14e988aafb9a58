// A whole bastion host booted in a QEMU VM (test/vm/vm.ts): the user data the registry module
// renders for host_os = "debian-12" (real terraform over the module's JSON in its provider-free
// form), on a Debian 12 guest under real systemd, cloud-init and docker; moto plays S3 (the host
// bundle), SSM (the host key) and IAM (users, groups, keys), a fake metadata service the instance
// role. Users connect through the VM's forwarded service port with a real OpenSSH client.
//
// What the test changes against a real deployment, all through the module's own
// extra_cloud_config input (nothing of it is in the guest image):
// - AWS_ENDPOINT_URL points the bootstrap (cloud-final.service) and the host's services
//   (bastion.env) at moto; the credentials still come from the (fake) instance metadata service;
// - the session base image is imported into docker from a second disk when docker starts, and
//   worker_base_image names it (no registry is reachable here);
// - the `debian` admin user gets an SSH key (as key_name would on EC2), used to read the journal
//   through the admin port 2222.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { parse, stringify } from 'yaml';
import { HOST_PACKAGES } from '../../src/cloud-config';
import { baseImageTar } from '../helpers/base-image';
import { freePort, MotoServer } from '../helpers/moto';
import { sshOptions } from '../helpers/ssh-options';
import { appliedResource, appliedState, Json, terraformBinary, userDataOf, varArgument } from '../helpers/terraform';
import { BASE_IMAGE_DISK, BastionVm, FakeMetadata, HOST_FROM_GUEST, httpGet, run, vmImage, waitFor } from './vm';

const MODULE_DIR = path.resolve(__dirname, '..', '..', 'dist', 'terraform-aws-ssh-bastion-service');
const SERVICE_PORT = 22;
const HEALTH_PORT = 2224;
const ADMIN_PORT = 2222;
const REGION = 'eu-west-1';
const BUNDLE_BUCKET = 'ssh-bastion-vm-bundles';
const BASE_IMAGE = 'ssh-bastion-vm-base:local';
const SESSION_MAX_SECONDS = 60;
const MAX_CONNECTIONS_PER_SOURCE = 2;
const VPC_SERVICE_TEXT = 'hello from the VPC';

// Figures measured under TCG on 2 cores (README, "Tests"); timeouts are about 3 times them.
const IMAGE_BUILD_MS = 40 * 60_000;
const BOOT_TO_HEALTHY_MS = 20 * 60_000;
const GUEST_UP_MS = 8 * 60_000;

jest.setTimeout(5 * 60_000 + Number(process.env.VM_HOLD_MS ?? 0));

if (!terraformBinary()) throw new Error('terraform is not on PATH: the VM test renders the user data with it');

let dir: string;
let moto: MotoServer;
let metadata: FakeMetadata;
let vpcService: http.Server;
let vm: BastionVm;
let knownHosts: string;
let hostKeyLine = '';
let renderedPackages: unknown;
let auditLogGroup = '';
const keys: Record<string, string> = {};
let bootStarted = 0;
let healthyAfterMs = 0;
const healthAnswers: { at: number; text: string }[] = [];

function keyPair(name: string): string {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return file;
}

/** The registry module as Terraform reads it: its .tf.json files, merged. */
function moduleJson(): Json {
  const module: Json = {};
  for (const file of fs.readdirSync(MODULE_DIR).filter((f) => f.endsWith('.tf.json'))) {
    Object.assign(module, JSON.parse(fs.readFileSync(path.join(MODULE_DIR, file), 'utf8')));
  }
  return module;
}

/** Everything the test changes against a real deployment (see the top of this file). */
function testCloudConfig(motoPort: number, adminKey: string): string {
  const endpoint = `AWS_ENDPOINT_URL=http://${HOST_FROM_GUEST}:${motoPort}`;
  // bootcmd runs in cloud-init.service, before network-online.target: before docker and cloud-final start.
  const dropIns = [
    'set -e',
    'mkdir -p /etc/systemd/system/cloud-final.service.d /etc/systemd/system/docker.service.d',
    "cat >/etc/systemd/system/cloud-final.service.d/50-vm-test.conf <<'EOF'",
    '[Service]',
    `Environment=${endpoint}`,
    'EOF',
    "cat >/etc/systemd/system/docker.service.d/50-vm-test.conf <<'EOF'",
    '[Service]',
    `ExecStartPost=/bin/sh -c 'docker image inspect ${BASE_IMAGE} >/dev/null 2>&1 || docker import - ${BASE_IMAGE} <${BASE_IMAGE_DISK}'`,
    'EOF',
    'systemctl daemon-reload',
    '',
  ].join('\n');
  return `#cloud-config\n${stringify({
    ssh_authorized_keys: [fs.readFileSync(`${adminKey}.pub`, 'utf8').trim()],
    bootcmd: [['sh', '-c', dropIns]],
    write_files: [{ path: '/etc/ssh-bastion/bastion.env', append: true, content: `${endpoint}\n` }],
  })}`;
}

/** The cloud-config documents of a user data (one, or the parts of a MIME multipart). */
function cloudConfigs(userData: string): Json[] {
  const bodies = userData.startsWith('#cloud-config')
    ? [userData]
    : userData.split(/^--\S+$/m).map((part) => part.slice(part.indexOf('\n\n') + 2));
  return bodies.filter((body) => body.startsWith('#cloud-config')).map((body) => parse(body) as Json);
}

/** `command` over ssh through the forwarded service port, as a user would. */
function ssh(user: string, key: string, command: string, timeoutMs = 120_000) {
  return run(
    'ssh',
    [...sshOptions({ key, port: vm.ports[SERVICE_PORT], knownHosts, connectTimeoutS: 60 }), `${user}@127.0.0.1`, command],
    timeoutMs,
  );
}

/** `command` on the guest over the admin sshd, as its admin user; never throws. */
function adminSsh(command: string, timeoutMs: number) {
  return run(
    'ssh',
    [...sshOptions({ key: keys.admin, port: vm.ports[ADMIN_PORT], connectTimeoutS: 30 }), 'debian@127.0.0.1', command],
    timeoutMs,
  );
}

/** A command on the guest as its admin user, through the admin sshd. */
async function admin(command: string, timeoutMs = 120_000): Promise<string> {
  const result = await adminSsh(command, timeoutMs);
  if (result.status !== 0) throw new Error(`admin ${command}: status ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function journal(args = ''): Promise<string> {
  return admin(`sudo journalctl -b --no-pager -o short-iso-precise ${args}`);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sshb-vm-'));
  const image = vmImage();
  const { tar } = baseImageTar();

  moto = await MotoServer.start();
  metadata = await FakeMetadata.start('ssh-bastion-vm-host', REGION);
  const vpcPort = await freePort();
  vpcService = http.createServer((_req, res) => res.end(VPC_SERVICE_TEXT));
  await new Promise<void>((resolve) => vpcService.listen(vpcPort, '127.0.0.1', resolve));
  keys.vpcPort = String(vpcPort);

  for (const name of ['alice', 'admin', 'host']) keys[name] = keyPair(name);
  await moto.seedUsers([{ name: 'alice', groups: ['ssh-users'], keys: [fs.readFileSync(`${keys.alice}.pub`, 'utf8').trim()] }]);

  // The module, applied in its provider-free form; the host key is the test's own, where
  // tls_private_key would make one.
  const state = appliedState(
    moduleJson(),
    [
      varArgument('vpc_id', 'vpc-0123456789abcdef0'),
      varArgument('subnet_ids', ['subnet-0123456789abcdef0']),
      varArgument('allowed_iam_groups', ['ssh-users']),
      varArgument('host_os', 'debian-12'),
      varArgument('bundle_bucket_name', BUNDLE_BUCKET),
      varArgument('worker_base_image', BASE_IMAGE),
      varArgument('session_max_seconds', SESSION_MAX_SECONDS),
      varArgument('max_connections_per_source', MAX_CONNECTIONS_PER_SOURCE),
      varArgument('new_connections_per_minute', 1000),
      varArgument('ready_sessions', 1),
      varArgument('extra_cloud_config', testCloudConfig(moto.port, keys.admin)),
    ],
    (config) => {
      const resources = config.resource.terraform_data;
      Object.assign(resources.tls_private_key__host_key.input, {
        public_key_openssh: `${fs.readFileSync(`${keys.host}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
        private_key_openssh: fs.readFileSync(keys.host, 'utf8'),
      });
      resources.data__aws_region__region.input.region = REGION;
    },
  );
  const userData = userDataOf(state);
  renderedPackages = cloudConfigs(userData).find((c) => c.packages)?.packages;

  // What terraform apply would put in AWS: the bundle object and the host key parameter.
  const env = { ...process.env, ...moto.awsEnv() };
  const environment = cloudConfigs(userData)
    .flatMap((c) => c.write_files ?? [])
    .find((f: Json) => f.path === '/etc/ssh-bastion/bastion.env' && !f.append).content as string;
  const settings = Object.fromEntries(
    environment
      .trim()
      .split('\n')
      .map((l) => l.split(/=(.*)/s).slice(0, 2)),
  );
  execFileSync(
    'aws',
    ['s3api', 'create-bucket', '--bucket', settings.BASTION_BUNDLE_BUCKET, '--create-bucket-configuration', `LocationConstraint=${REGION}`],
    { env },
  );
  execFileSync(
    'aws',
    [
      's3api',
      'put-object',
      '--bucket',
      settings.BASTION_BUNDLE_BUCKET,
      '--key',
      settings.BASTION_BUNDLE_KEY,
      '--body',
      path.join(MODULE_DIR, 'ssh-bastion-host.tar.gz'),
    ],
    { env },
  );
  const parameter = appliedResource(state, 'aws_ssm_parameter', 'host_key_parameter');
  expect(parameter.name).toBe(settings.BASTION_HOST_KEY_PARAMETER);
  execFileSync(
    'aws',
    ['ssm', 'put-parameter', '--region', REGION, '--name', parameter.name, '--type', 'SecureString', '--value', parameter.value],
    { env },
  );
  // the audit log group, and the parameter naming the Auto Scaling group (the drainer reads it)
  auditLogGroup = String(appliedResource(state, 'aws_cloudwatch_log_group', 'audit_log_group').name);
  expect(auditLogGroup).toBe(settings.BASTION_AUDIT_LOG_GROUP);
  execFileSync('aws', ['logs', 'create-log-group', '--region', REGION, '--log-group-name', auditLogGroup], { env });
  const groupName = appliedResource(state, 'aws_ssm_parameter', 'group_name_parameter');
  execFileSync(
    'aws',
    ['ssm', 'put-parameter', '--region', REGION, '--name', groupName.name, '--type', 'String', '--value', 'ssh-bastion-vm-group'],
    { env },
  );

  // known_hosts from the module's output, for the forwarded port instead of the load balancer's name.
  hostKeyLine = String(state.outputs.known_hosts.value);
  knownHosts = path.join(dir, 'known_hosts');
  vm = new BastionVm({
    image,
    userData,
    metadataPort: metadata.port,
    baseImageTar: tar,
    forward: [SERVICE_PORT, HEALTH_PORT, ADMIN_PORT],
    dir,
  });
  await vm.prepare();
  fs.writeFileSync(knownHosts, `${hostKeyLine.replace(/^\S+/, `[127.0.0.1]:${vm.ports[SERVICE_PORT]}`)}\n`);

  bootStarted = Date.now();
  vm.start();
  await waitFor(
    async () => {
      if (!vm.running) throw new Error('qemu exited during the boot');
      const failed = /ssh-bastion: (boot stopped|section \S+: FAILED).*/.exec(vm.consoleText());
      if (failed) throw new Error(`the host's set-up failed: ${failed[0]}`);
      const text = await httpGet(vm.ports[HEALTH_PORT]);
      healthAnswers.push({ at: Date.now() - bootStarted, text });
      return /^HTTP\/1\.[01] 200/.test(text);
    },
    BOOT_TO_HEALTHY_MS,
    'the health-check port to answer 200',
    5000,
  ).catch((e) => {
    const last = healthAnswers[healthAnswers.length - 1]?.text ?? '';
    throw new Error(`${(e as Error).message}\nlast health answer: ${JSON.stringify(last)}\nconsole:\n${vm.consoleText().slice(-8000)}`);
  });
  healthyAfterMs = Date.now() - bootStarted;
  console.log(`VM: qemu start to healthy in ${Math.round(healthyAfterMs / 1000)} s`);
}, IMAGE_BUILD_MS + BOOT_TO_HEALTHY_MS);

afterAll(async () => {
  // VM_HOLD_MS: keeps the VM running that long after the tests, to look at it (ports in the log).
  if (process.env.VM_HOLD_MS && vm) {
    console.log(`VM held: ports ${JSON.stringify(vm.ports)}, admin key ${keys.admin}`);
    await new Promise((r) => setTimeout(r, Number(process.env.VM_HOLD_MS)));
  }
  await vm?.stop();
  await moto?.stop();
  await metadata?.stop();
  vpcService?.close();
  if (dir && !process.env.KEEP_VM_DIR) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a bastion host booted from the module user data (debian-12)', () => {
  test('the health-check port opens only after every ready check passed', async () => {
    expect(healthAnswers.some((a) => a.text === '')).toBe(true);
    // The set-up's lines reach the journal through cloud-final's output; systemd logs the socket's start.
    const lines = (await journal('-u cloud-final.service -u ssh-bastion-health.socket')).split('\n');
    const listening = lines.findIndex((l) => /systemd\[1\]: Listening on ssh-bastion-health\.socket/.test(l));
    const checks = lines.flatMap((l, i) => (/ssh-bastion: setup-ready: (ok|FAILED): /.test(l) ? [{ l, i }] : []));
    expect(listening).toBeGreaterThan(0);
    expect(checks.length).toBeGreaterThanOrEqual(10);
    expect(checks.filter((c) => !c.l.includes(': ok: '))).toEqual([]);
    expect(checks.filter((c) => c.i > listening)).toEqual([]);
    expect(lines.slice(listening).join('\n')).toContain('setup-ready: host ready: health-check port 2224 open');
    // the bundle came from S3 with the instance role's credentials (IMDSv2)
    expect(lines.join('\n')).toMatch(/host bundle s3:\/\/ssh-bastion-vm-bundles\/\S+ \(sha256 [0-9a-f]{64}, \d+ files\) unpacked/);
    expect(metadata.requests).toContain('PUT /latest/api/token');
    expect(metadata.requests).toContain('GET /latest/meta-data/iam/security-credentials/ssh-bastion-vm-host');
  });

  test("cloud-init installed the host OS's packages from the module's table and finished without an error", async () => {
    // HOST_PACKAGES (src/cloud-config.ts) is the one place where the host OSes differ in what they
    // install; cloud-init's package module maps the list onto apt here and dnf on Amazon Linux.
    expect(renderedPackages).toEqual([...HOST_PACKAGES['debian-12']]);
    const installed = await admin(`dpkg-query -W -f '\${Package} \${Status}\\n' ${HOST_PACKAGES['debian-12'].join(' ')}`);
    for (const name of HOST_PACKAGES['debian-12']) expect(installed).toContain(`${name} install ok installed`);
    const status = JSON.parse(await admin('sudo cloud-init status --format json || true'));
    expect(status.errors ?? []).toEqual([]);
    expect(status.status).toBe('done');
    expect(
      await admin(
        'sudo grep -c "Failed to install packages\\|Running module package-update-upgrade-install .* failed" /var/log/cloud-init.log || true',
      ),
    ).toBe('0\n');
  });

  test("the host's connection tracking holds every session at its bounds (512 TCP and 512 other flows each) and 65,536 more", async () => {
    const status = JSON.parse(await admin('sudo cat /run/ssh-bastion/front-status.json'));
    const max = Number((await admin('cat /proc/sys/net/netfilter/nf_conntrack_max')).trim());
    console.log(`VM: nf_conntrack_max ${max} for ${status.max_sessions} sessions at most`);
    expect(status.max_sessions).toBeGreaterThan(0);
    expect(max).toBeGreaterThanOrEqual(status.max_sessions * 2 * 512 + 65536);
  });

  test('a user logs in with her IAM key, checked against the module known_hosts output, and sees the MOTD', async () => {
    const result = await run('bash', [
      '-c',
      `echo exit | ssh -tt ${sshOptions({ key: keys.alice, port: vm.ports[SERVICE_PORT], knownHosts }).join(' ')} alice@127.0.0.1`,
    ]);
    expect(`${result.stdout}${result.stderr}`).toMatch(/This is a one-time container/);
    expect(result.stdout).toMatch(/passwordless sudo/);
    expect(result.status).toBe(0);
  });

  test('the journal logs the session start and end with the client address and the user, and the container is gone', async () => {
    let lines: string[] = [];
    await waitFor(
      async () => (lines = (await journal('-t ssh-bastion')).split('\n')).some((l) => / session end client=.* user=alice /.test(l)),
      60_000,
      'the session end line',
    );
    const end = lines.find((l) => / session end client=.* user=alice /.test(l))!;
    const [, client, container] = /session end client=(169\.254\.2\.2:\d+) user=alice container=(\S+) duration=\d+s/.exec(end) ?? [];
    expect(container).toBeDefined();
    expect(lines.some((l) => l.includes(`session start client=${client} container=${container}`))).toBe(true);
    await waitFor(
      async () => !(await admin("sudo docker ps -a --format '{{.Names}}'")).split('\n').includes(container),
      30_000,
      `container ${container} removed`,
    );
  });

  test('a second connection at the same time gets a different container', async () => {
    const session = () => ssh('alice', keys.alice, 'cat /etc/hostname; sleep 8');
    const [a, b] = await Promise.all([session(), session()]);
    expect([a.status, b.status]).toEqual([0, 0]);
    expect(a.stdout.trim()).not.toBe('');
    expect(b.stdout.trim()).not.toBe('');
    expect(a.stdout.trim()).not.toBe(b.stdout.trim());
  });

  test('a tunnel reaches a service beside the host', async () => {
    const localPort = await freePort();
    const result = await run('bash', [
      '-c',
      `ssh ${sshOptions({ key: keys.alice, port: vm.ports[SERVICE_PORT], knownHosts }).join(' ')} ` +
        `-o ExitOnForwardFailure=yes -N -L 127.0.0.1:${localPort}:${HOST_FROM_GUEST}:${keys.vpcPort} alice@127.0.0.1 & tunnel=$!; ` +
        `for _ in $(seq 1800); do (exec 3<>/dev/tcp/127.0.0.1/${localPort}) 2>/dev/null && break; sleep 0.1; done; ` +
        `exec 3<>/dev/tcp/127.0.0.1/${localPort} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3; kill "$tunnel"`,
    ]);
    expect(result.stdout).toContain(VPC_SERVICE_TEXT);
  });

  test('the audit shipper, under real systemd, delivered the logins and the tunnel connection to the audit log group', async () => {
    const env = { ...process.env, ...moto.awsEnv() };
    const events = () => {
      const out = execFileSync('aws', ['logs', 'filter-log-events', '--region', REGION, '--log-group-name', auditLogGroup], {
        env,
        encoding: 'utf8',
      });
      return (JSON.parse(out).events as { message: string }[]).map((e) => JSON.parse(e.message) as Json);
    };
    let seen: Json[] = [];
    const tunnelled = (e: Json) => e.event === 'tcp.connect' && e.destination_port === Number(keys.vpcPort) && e.user === 'alice';
    await waitFor(async () => (seen = events()).some(tunnelled), 120_000, 'the tunnel connection in the audit log group');
    expect(seen.filter((e) => e.event === 'session.end' && e.user === 'alice').length).toBeGreaterThanOrEqual(3);
    expect(seen.find(tunnelled)).toMatchObject({ destination_address: HOST_FROM_GUEST, protocol: 'tcp', iam_user: 'alice' });
    expect(seen.filter((e) => e.event === 'auth' && e.result === 'accepted' && e.user === 'alice').length).toBeGreaterThanOrEqual(3);
  });

  test('session_max_seconds ends a session through systemd RuntimeMaxSec, and the container is removed', async () => {
    const result = await ssh('alice', keys.alice, 'sleep 600; echo survived', 5 * 60_000);
    expect(result.stdout).not.toContain('survived');
    expect(result.ms).toBeGreaterThan((SESSION_MAX_SECONDS - 5) * 1000);
    expect(result.ms).toBeLessThan((SESSION_MAX_SECONDS + 90) * 1000);
    let text = '';
    await waitFor(
      async () => / session end .* user=alice .*\(stopped\)/.test((text = await journal("-u 'ssh-bastion@*'"))),
      60_000,
      'the session end line',
    );
    const [, unit] = /(ssh-bastion@\S+\.service): Service reached runtime time limit\. Stopping\./.exec(text) ?? [];
    expect(unit).toBeDefined();
    // the session program's clock starts after systemd's, by its start-up time, and ends once the
    // container is removed (seconds each under TCG: 61 s measured)
    const [, container, duration] =
      /session end client=169\.254\.2\.2:\d+ user=alice container=(\S+) duration=(\d+)s status=\d+ \(stopped\)/.exec(text) ?? [];
    expect(container).toBeDefined();
    expect(Number(duration)).toBeGreaterThanOrEqual(SESSION_MAX_SECONDS - 15);
    expect(Number(duration)).toBeLessThanOrEqual(SESSION_MAX_SECONDS + 15);
    await waitFor(
      async () => !(await admin("sudo docker ps -a --format '{{.Names}}'")).split('\n').includes(container),
      30_000,
      `container ${container} removed`,
    );
  });

  test('the per-source connection limit closes the extra connection from one address at once', async () => {
    // The front counts a connection until its session is over: start with none.
    await waitFor(
      async () => {
        const text = await journal('-t ssh-bastion');
        return (text.match(/ session start /g) ?? []).length === (text.match(/ session end /g) ?? []).length;
      },
      60_000,
      'every session to end',
    );
    // Silent connections: the front holds them (no container) until they speak or the login grace ends.
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS_PER_SOURCE }, () => connection(vm.ports[SERVICE_PORT])));
    await new Promise((r) => setTimeout(r, 3000));
    const extra = await connection(vm.ports[SERVICE_PORT]);
    const closedAfter = await extra.closed;
    expect(closedAfter.bytes).toBe(0);
    expect(closedAfter.ms).toBeLessThan(5000);
    expect(held.map((h) => h.isClosed())).toEqual(held.map(() => false));
    held.forEach((h) => h.socket.destroy());
    await waitFor(
      async () => /refused \d+ connections from 1 sources .*over the per-source limit/.test(await journal('-t ssh-bastion')),
      60_000,
      'the refusal summary',
    );
  });

  test(
    'after a reboot the health-check port stays closed',
    async () => {
      await adminSsh('sudo systemctl reboot', 60_000);
      await vm.waitExit(3 * 60_000);
      vm.start();
      await waitFor(
        async () => {
          if (!vm.running) throw new Error('qemu exited after the reboot');
          return /^(running|degraded)$/m.test((await adminSsh('systemctl is-system-running --wait', 5 * 60_000)).stdout);
        },
        GUEST_UP_MS,
        'the rebooted guest to finish its boot',
        5000,
      );
      expect((await admin('systemctl is-active ssh-bastion-health.socket || true')).trim()).toBe('inactive');
      for (let probe = 0; probe < 3; probe++) {
        expect(await httpGet(vm.ports[HEALTH_PORT])).toBe('');
        await new Promise((r) => setTimeout(r, 5000));
      }
    },
    15 * 60_000,
  );
});

/** A TCP connection to 127.0.0.1:port that sends nothing; `closed` tells when the far end closed it and what it sent. */
async function connection(
  port: number,
): Promise<{ socket: net.Socket; isClosed: () => boolean; closed: Promise<{ ms: number; bytes: number }> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const opened = Date.now();
  let bytes = 0;
  let isClosed = false;
  socket.on('data', (d) => (bytes += d.length));
  socket.on('error', () => undefined);
  const closed = new Promise<{ ms: number; bytes: number }>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve({ ms: Date.now() - opened, bytes });
    }),
  );
  return { socket, isClosed: () => isClosed, closed };
}
