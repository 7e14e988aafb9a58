/**
 * A bastion host for the e2e tests, as close to a real one as this machine allows, changing
 * nothing on the machine itself:
 *
 * - two network namespaces the test creates: the host's, and a "VPC" one behind a veth pair that
 *   holds a fake instance metadata service on 169.254.169.254 (serving fake credentials) and a
 *   fake VPC service on 192.0.2.2:8080;
 * - a private mount namespace where /etc, /usr/local and /opt are overlays and /run a tmpfs, so
 *   the files of the user data (userdata/boot/**, bastion.env) are laid out at their real paths
 *   (as cloud-init's write_files would) and the scripts write wherever they would on a host;
 * - the host bundle (the exact bytes the module ships) in a bucket of moto's S3: booting runs the
 *   real bootstrap, which fetches it, checks its sha256, unpacks it and runs the sections;
 * - the fake metadata service also answers as IMDSv2 does for what a test writes with
 *   `setMetadata` (a token from PUT /latest/api/token; 404 under autoscaling/ and spot/ until
 *   written), which is how a test tells the drainer that the instance is leaving;
 * - a private dockerd with iptables in that namespace, moto (IAM, SSM, S3, CloudWatch, Auto
 *   Scaling, with the lifecycle actions moto lacks: moto-lifecycle.py) on 127.0.0.1, the real
 *   key lookup service started from its unit's ExecStart, and the real setup sections run by the
 *   real run-sections;
 * - systemctl is an emulator (systemd is not PID 1 here): starting a socket unit serves it with
 *   `systemd-socket-activate` (with `--accept --inetd` for a per-connection unit) running the unit's
 *   real ExecStart/ExecStopPost
 *   (parsed from the unit file, %i substituted as systemd would by unit-instance.py).
 *
 * `stop()` kills every process in the namespaces, which takes the mounts with them, and deletes
 * the namespaces, also after a failed boot.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { buildHostBundle } from '../../src/bundle';
import { BOOTSTRAP } from '../../src/cloud-config';
import { baseImageTar } from './base-image';
import { Dockerd } from './dockerd';
import { MotoServer } from './moto';
import { CommandResult, runCommand } from './run';
import { sshOptions } from './ssh-options';

const execFileAsync = promisify(execFile);

export const REPO_DIR = path.resolve(__dirname, '..', '..');
const HELPERS_DIR = __dirname;
const NETNS_PREFIX = 'sshb-e2e-';
export const METADATA_ADDRESS = '169.254.169.254';
export const VPC_ADDRESS = '192.0.2.2';
export const HOST_ADDRESS = '192.0.2.1';
export const VPC_SERVICE_PORT = 8080;
export const FAKE_CREDENTIALS = 'FAKE-SECRET-ACCESS-KEY-FROM-METADATA';
export const VPC_SERVICE_TEXT = 'hello from the VPC';
export const BUNDLE_BUCKET = 'ssh-bastion-e2e-bundles';
export const SESSIONS_SLICE = 'ssh_bastion_sessions.slice';
/** The EC2 instance id the test host's audit shipper names its stream and events by. */
export const TEST_INSTANCE_ID = 'i-0e2e0123456789abc';
export const AUDIT_SOCKET = '/run/ssh-bastion/audit.sock';

/** The bastion.env of the test host; keys as in src/host-settings.ts. */
export type Settings = Record<string, string>;

/**
 * The bastion.env most test hosts use, with `overrides` (what a test file is about) on top: the
 * service port 22, one allowed group `bastion-admins`, small containers, and per-source limits for
 * clients that all come from a few loopback addresses.
 */
export function testSettings(overrides: Settings = {}): Settings {
  return {
    BASTION_SERVICE_PORT: '22',
    BASTION_ADMIN_PORT: '2222',
    BASTION_HEALTH_PORT: '2224',
    BASTION_SESSION_MAX_SECONDS: '43200',
    BASTION_ALLOWED_IAM_GROUPS: 'bastion-admins',
    BASTION_ASSUME_ROLE_ARN: '',
    BASTION_HOST_KEY_PARAMETER: '',
    BASTION_WORKER_BASE_IMAGE: '',
    BASTION_WORKER_IMAGE: '',
    BASTION_CONTAINER_MEMORY_MB: '256',
    BASTION_CONTAINER_PIDS: '128',
    BASTION_CONTAINER_CPUS: '0.5',
    BASTION_MAX_CONNECTIONS_PER_SOURCE: '10',
    BASTION_NEW_CONNECTIONS_PER_MINUTE: '100000',
    BASTION_TUNNEL_ONLY: 'false',
    BASTION_HOSTNAME_PREFIX: 'e2e-bastion',
    BASTION_AUDIT_LOG_GROUP: '/e2e/bastion-service/audit',
    ...overrides,
  };
}

export type { CommandResult };

/** Values of `key=` in a unit file (all of them, in order), continuation lines not supported. */
export function unitSettings(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^\\s*${key}\\s*=\\s*(.*?)\\s*$`, 'gm'))].map((m) => m[1]);
}

/** ExecStart-style command line split into argv (no quoting in our units; '-' prefix dropped). */
export function commandLine(value: string): string[] {
  return value.replace(/^[-@:+!]+/, '').split(/\s+/);
}

function sh(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', env: options.env ?? process.env, input: options.input, timeout: 120_000 });
}

/** Deletes namespaces (killing their processes) and folders left by earlier runs whose process died. */
export function removeStaleNamespaces(): void {
  const ownerGone = (name: string) => {
    const owner = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    return owner !== null && !fs.existsSync(`/proc/${owner[1]}`);
  };
  const list = sh('ip', ['netns', 'list']);
  for (const name of list.split('\n').map((l) => l.split(' ')[0])) {
    if (ownerGone(name)) removeNamespace(name);
  }
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (ownerGone(name)) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

function removeNamespace(name: string): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = sh('ip', ['netns', 'pids', name]).split('\n').filter(Boolean);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(Number(pid), attempt < 10 ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // already gone
      }
    }
    execFileSync('sleep', ['0.2']);
  }
  execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
}

export class BastionTestHost {
  readonly hostNetns: string;
  readonly vpcNetns: string;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  moto?: MotoServer;
  dockerd?: Dockerd;
  private holder?: ChildProcess;
  private readonly background: ChildProcess[] = [];
  baseImage = '';
  bundleKey = '';
  /** CloudWatch Logs endpoint of the audit shipper (reachable in the host's namespace); moto's by default. */
  auditEndpoint?: string;

  constructor(readonly settings: Settings) {
    // The owner's pid in the name: a namespace is stale only once that process is gone.
    const id = `${process.pid}-${Math.floor(Math.random() * 1296).toString(36)}`;
    this.hostNetns = `${NETNS_PREFIX}${id}-h`;
    this.vpcNetns = `${NETNS_PREFIX}${id}-v`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${NETNS_PREFIX}${process.pid}-`));
    this.env = {
      PATH: `/usr/local/sbin:/usr/local/bin:${process.env.PATH}`,
      HOME: '/root',
      LANG: 'C.UTF-8',
      DOCKER_HOST: `unix://${path.join(this.dir, 'docker', 'docker.sock')}`,
      SYSTEMCTL_EMULATOR_DIR: path.join(this.dir, 'systemctl'),
    };
  }

  /**
   * What the fake instance metadata service answers as IMDSv2 does (fake-network.py `files=`):
   * a test writes e.g. latest/meta-data/autoscaling/target-lifecycle-state in here.
   */
  get metadataDir(): string {
    return path.join(this.dir, 'imds');
  }

  /** Makes the fake instance metadata service answer `text` at latest/meta-data/<item>. */
  setMetadata(item: string, text: string): void {
    const file = path.join(this.metadataDir, 'latest', 'meta-data', item);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.new`, text);
    fs.renameSync(`${file}.new`, file);
  }

  /** argv prefix that runs a command in the host's network and mount namespaces. */
  get enter(): string[] {
    return ['nsenter', '-t', String(this.holder!.pid), '--net', '--mount', '--'];
  }

  /** Runs a command on the test host (its namespaces); never throws, returns the status. */
  run(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
    return runCommand([...this.enter, ...args], { env: { ...this.env, ...options.env }, timeoutMs: options.timeoutMs });
  }

  /** Like run, but throws with the output when the command fails. */
  async must(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.status !== 0) throw new Error(`${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  docker(...args: string[]): Promise<string> {
    return this.must(['docker', ...args]);
  }

  /** Creates the namespaces, the fake VPC, moto, dockerd, and lays out the host's files. */
  async prepare(): Promise<void> {
    removeStaleNamespaces();
    const { tar, key } = baseImageTar();
    this.baseImage = `ssh-bastion-e2e-base:${key}`;
    this.settings.BASTION_WORKER_BASE_IMAGE = this.baseImage;
    for (const ns of [this.hostNetns, this.vpcNetns]) {
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['link', 'add', 'sshb-h', 'netns', this.hostNetns, 'type', 'veth', 'peer', 'name', 'sshb-v', 'netns', this.vpcNetns]);
    sh('ip', ['-n', this.hostNetns, 'addr', 'add', `${HOST_ADDRESS}/24`, 'dev', 'sshb-h']);
    sh('ip', ['-n', this.vpcNetns, 'addr', 'add', `${VPC_ADDRESS}/24`, 'dev', 'sshb-v']);
    sh('ip', ['-n', this.vpcNetns, 'addr', 'add', `${METADATA_ADDRESS}/32`, 'dev', 'lo']);
    sh('ip', ['-n', this.hostNetns, 'link', 'set', 'sshb-h', 'up']);
    sh('ip', ['-n', this.vpcNetns, 'link', 'set', 'sshb-v', 'up']);
    sh('ip', ['-n', this.hostNetns, 'route', 'add', `${METADATA_ADDRESS}/32`, 'via', VPC_ADDRESS]);
    sh('ip', ['-n', this.vpcNetns, 'route', 'add', 'default', 'via', HOST_ADDRESS]);
    await this.startBackground(
      [
        'nsenter',
        `--net=/run/netns/${this.vpcNetns}`,
        'python3',
        path.join(HELPERS_DIR, 'fake-network.py'),
        `${METADATA_ADDRESS}:80={"AccessKeyId":"FAKEKEYID","SecretAccessKey":"${FAKE_CREDENTIALS}"}`,
        `${VPC_ADDRESS}:${VPC_SERVICE_PORT}=${VPC_SERVICE_TEXT}`,
        `dns=${VPC_ADDRESS}`,
        `files=${this.metadataDir}`,
      ],
      'fake-network.log',
      /ready/,
    );

    // The mount namespace lives as long as this process (killed in stop()).
    this.holder = spawn(
      'nsenter',
      [`--net=/run/netns/${this.hostNetns}`, 'unshare', '--mount', '--propagation', 'private', 'sleep', 'infinity'],
      { stdio: 'ignore' },
    );
    await waitFor(
      () => fs.readlinkSync(`/proc/${this.holder!.pid}/ns/mnt`) !== fs.readlinkSync('/proc/self/ns/mnt'),
      5000,
      'mount namespace',
    );
    await this.must(['bash', '-euc', LAYOUT_SCRIPT, 'layout', this.dir, REPO_DIR, HELPERS_DIR]);

    // moto listens on the machine's loopback; socat carries it into the host's namespace on the
    // same port (over a unix socket, which does not belong to any network namespace).
    // moto with the Auto Scaling lifecycle actions it lacks (see moto-lifecycle.py).
    this.moto = await MotoServer.start({ command: path.join(HELPERS_DIR, 'moto-lifecycle.py') });
    const bundle = buildHostBundle();
    this.bundleKey = `e2e/ssh-bastion-host-${bundle.sha256}.tar.gz`;
    await this.putBundle(bundle.bytes);
    Object.assign(this.settings, {
      BASTION_REGION: 'us-east-1',
      BASTION_BUNDLE_BUCKET: BUNDLE_BUCKET,
      BASTION_BUNDLE_KEY: this.bundleKey,
      BASTION_BUNDLE_SHA256: bundle.sha256,
      ...this.settings,
    });
    this.writeSettings('/etc/ssh-bastion/bastion.env', this.settings);
    const relay = path.join(this.dir, 'moto.sock');
    await this.startBackground(['socat', `UNIX-LISTEN:${relay},fork`, `TCP:127.0.0.1:${this.moto.port}`], 'relay-out.log');
    await this.startBackground(
      [...this.enter, 'socat', `TCP-LISTEN:${this.moto.port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${relay}`],
      'relay-in.log',
    );
    Object.assign(this.env, this.moto.awsEnv());

    this.dockerd = await Dockerd.start({ enter: this.enter, dir: path.join(this.dir, 'docker'), dns: VPC_ADDRESS });
    await this.docker('import', tar, this.baseImage);
  }

  /** Puts `bytes` in moto's S3 where bastion.env says the bundle is (the bucket made if need be), signed as the AWS CLI signs. */
  async putBundle(bytes: Buffer): Promise<void> {
    const env = { ...process.env, ...this.moto!.awsEnv() };
    const file = path.join(this.dir, 'bundle-upload.tar.gz');
    fs.writeFileSync(file, bytes);
    if (
      (await execFileAsync('aws', ['s3api', 'list-buckets', '--query', 'Buckets[].Name', '--output', 'text'], { env })).stdout
        .split(/\s+/)
        .indexOf(BUNDLE_BUCKET) < 0
    ) {
      await execFileAsync('aws', ['s3api', 'create-bucket', '--bucket', BUNDLE_BUCKET], { env });
    }
    await execFileAsync('aws', ['s3api', 'put-object', '--bucket', BUNDLE_BUCKET, '--key', this.bundleKey, '--body', file], { env });
  }

  /** Writes a bastion.env inside the host's mount namespace. */
  writeSettings(file: string, settings: Settings): void {
    this.writeFile(
      file,
      Object.entries(settings)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
  }

  /** Writes a file inside the host's mount namespace, its directory made if need be. */
  writeFile(file: string, text: string): void {
    execFileSync(this.enter[0], [...this.enter.slice(1), 'bash', '-c', 'mkdir -p "$(dirname "$1")" && cat >"$1"', 'write', file], {
      input: text,
    });
  }

  /** Reads a file inside the host's mount namespace. */
  readFile(file: string): string {
    return execFileSync(this.enter[0], [...this.enter.slice(1), 'cat', file], { encoding: 'utf8' });
  }

  /** Writes the systemctl hooks: what starting each unit does on this test host. */
  writeHooks(): void {
    const hooks = path.join(this.dir, 'systemctl', 'hooks');
    fs.mkdirSync(hooks, { recursive: true });
    const unit = (name: string) => fs.readFileSync(path.join(REPO_DIR, 'userdata/host/etc/systemd/system', name), 'utf8');

    const keysUnit = unit('ssh-bastion-keys.service');
    const keysEnv = unitSettings(keysUnit, 'Environment')
      .map((e) => `export ${e}`)
      .join('\n');
    const runtimeDir = unitSettings(keysUnit, 'RuntimeDirectory')[0];
    fs.writeFileSync(
      path.join(hooks, 'ssh-bastion-keys.service'),
      `#!/bin/bash\nset -euo pipefail\nset -a\n. ${unitSettings(keysUnit, 'EnvironmentFile')[0]}\nset +a\n${keysEnv}\n` +
        `install -d -m 0755 /run/${runtimeDir}\n` +
        `setsid ${commandLine(unitSettings(keysUnit, 'ExecStart')[0]).join(' ')} >>${this.dir}/keys-service.log 2>&1 </dev/null &\n`,
      { mode: 0o755 },
    );
    // systemd applies the slice's MemoryMax; here dockerd's cgroupfs driver (cgroup v1 on this
    // machine) puts --cgroup-parent below its own cgroup, so that is where the ceiling is written.
    fs.writeFileSync(
      path.join(hooks, SESSIONS_SLICE),
      `#!/bin/bash\nset -euo pipefail\n` +
        `mb="$(sed -n 's/^MemoryMax=\\([0-9]\\+\\)M$/\\1/p' /etc/systemd/system/${SESSIONS_SLICE}.d/*.conf | tail -n 1)"\n` +
        `cg="$(awk -F: '$2 == "memory" { print $3 }' /proc/"$(cat ${this.dir}/docker/dockerd.pid)"/cgroup)"\n` +
        `mkdir -p "/sys/fs/cgroup/memory$cg/${SESSIONS_SLICE}"\n` +
        `echo "$((mb * 1048576))" >"/sys/fs/cgroup/memory$cg/${SESSIONS_SLICE}/memory.limit_in_bytes"\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(hooks, 'ssh-bastion-audit.socket'), this.auditSocketHook(), { mode: 0o755 });
    fs.writeFileSync(path.join(hooks, 'ssh-bastion.socket'), this.socketHook('ssh-bastion.socket', 'ssh-bastion@.service', 'journal.log'), {
      mode: 0o755,
    });
    fs.writeFileSync(
      path.join(hooks, 'ssh-bastion-front.socket'),
      this.socketHook('ssh-bastion-front.socket', 'ssh-bastion-front.service', 'journal.log'),
      { mode: 0o755 },
    );
    // systemd-socket-activate starts the front at the first connection: starting the service is
    // one connection that the front closes at once (not an SSH client).
    fs.writeFileSync(
      path.join(hooks, 'ssh-bastion-front.service'),
      `#!/bin/bash\nset -euo pipefail\n` +
        `port="$(cat /etc/systemd/system/ssh-bastion-front.socket.d/*.conf | sed -n 's/^ListenStream=\\([0-9]\\+\\)$/\\1/p' | tail -n 1)"\n` +
        `for _ in {1..50}; do (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'start\\n' >&3) 2>/dev/null && exit 0; sleep 0.1; done\nexit 1\n`,
      { mode: 0o755 },
    );
    // The drainer as its unit runs it, with the test's environment (moto's endpoint and dummy keys).
    const drainerUnit = unit('ssh-bastion-drainer.service');
    fs.writeFileSync(
      path.join(hooks, 'ssh-bastion-drainer.service'),
      `#!/bin/bash\nset -euo pipefail\nsetsid ${commandLine(unitSettings(drainerUnit, 'ExecStart')[0]).join(' ')} >>${this.dir}/drainer.log 2>&1 </dev/null &\n` +
        `echo "$!" >"$SYSTEMCTL_EMULATOR_DIR/pid-ssh-bastion-drainer.service"\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(hooks, 'ssh-bastion-health.socket'),
      this.socketHook('ssh-bastion-health.socket', 'ssh-bastion-health@.service', 'health.log'),
      { mode: 0o755 },
    );
  }

  /**
   * ssh-bastion-audit.socket and its service: the datagram socket held by systemd-socket-activate,
   * which runs the service's real ExecStart in a loop (Restart=always: a shipper killed by a test
   * is started again on the same socket), started at once by one empty datagram. Its state
   * directory (systemd's StateDirectory=) is audit-state in the test's folder; its log audit.log.
   */
  private auditSocketHook(): string {
    const unit = fs.readFileSync(path.join(REPO_DIR, 'userdata/host/etc/systemd/system/ssh-bastion-audit.service'), 'utf8');
    const start = commandLine(unitSettings(unit, 'ExecStart')[0]).map(shellQuote).join(' ');
    const env: Record<string, string> = {
      STATE_DIRECTORY: path.join(this.dir, 'audit-state'),
      BASTION_INSTANCE_ID_FILE: path.join(this.dir, 'instance-id'),
      ...(this.auditEndpoint ? { AWS_ENDPOINT_URL_LOGS: this.auditEndpoint } : {}),
    };
    fs.writeFileSync(env.BASTION_INSTANCE_ID_FILE, `${TEST_INSTANCE_ID}\n`);
    const passed = ['PATH', 'HOME', ...Object.keys(this.moto?.awsEnv() ?? {}), ...Object.keys(env)];
    // LISTEN_PID is the pid of the process that gets the socket, as systemd sets it: a subshell's own
    // pid, kept by exec (with-settings, then python).
    const loop = `while :; do (LISTEN_PID=$BASHPID exec ${start}); echo "ssh-bastion-audit: exited with status $?" >&2; sleep 1; done`;
    return `#!/bin/bash
set -euo pipefail
mkdir -p /run/ssh-bastion
${Object.entries(env)
  .map(([k, v]) => `${k}=${shellQuote(v)}`)
  .join(' ')} setsid systemd-socket-activate --datagram -l ${AUDIT_SOCKET} ${passed.map((k) => `-E ${k}`).join(' ')} \\
  bash -c ${shellQuote(loop)} >>${this.dir}/audit.log 2>&1 </dev/null &
echo "$!" >"$SYSTEMCTL_EMULATOR_DIR/pid-ssh-bastion-audit.socket"
for _ in {1..50}; do [[ -S ${AUDIT_SOCKET} ]] && break; sleep 0.1; done
chmod 0666 ${AUDIT_SOCKET}
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"", sys.argv[1])' ${AUDIT_SOCKET}
`;
  }

  /**
   * Makes 127.0.0.1:port of this machine (a fault proxy, a second moto) reachable on the same
   * port in the host's namespace, as moto's port is.
   */
  async relayPort(port: number): Promise<void> {
    const relay = path.join(this.dir, `relay-${port}.sock`);
    await this.startBackground(['socat', `UNIX-LISTEN:${relay},fork`, `TCP:127.0.0.1:${port}`], `relay-out-${port}.log`);
    await this.startBackground(
      [...this.enter, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${relay}`],
      `relay-in-${port}.log`,
    );
  }

  /** The audit shipper's log (its stderr: the journal of ssh-bastion-audit.service on a host). */
  auditLog(): string {
    const file = path.join(this.dir, 'audit.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  /**
   * A hook serving a socket unit: its address from the last ListenStream= of the unit and drop-ins
   * (a port on 127.0.0.1, or a path), per connection (Accept=yes) or by one service (Accept=no).
   */
  private socketHook(socketUnit: string, serviceUnit: string, log: string): string {
    const accept = serviceUnit.endsWith('@.service');
    return `#!/bin/bash
set -euo pipefail
listen="$(cat /etc/systemd/system/${socketUnit} /etc/systemd/system/${socketUnit}.d/*.conf 2>/dev/null | sed -n 's/^ListenStream=\\(.\\+\\)$/\\1/p' | tail -n 1)"
[[ "$listen" == /* ]] || listen="127.0.0.1:$listen"
${accept ? this.serveCommand(serviceUnit, '"$listen"', log, {}) : this.serveOneCommand(serviceUnit, '"$listen"', log, {})} &
echo "$!" >"$SYSTEMCTL_EMULATOR_DIR/pid-${socketUnit}"
`;
  }

  /**
   * Shell command serving the per-connection template `serviceUnit` on `listen` (host:port or a
   * path) with systemd-socket-activate, its ExecStart/ExecStopPost from the unit file.
   */
  serveCommand(serviceUnit: string, listen: string, log: string, env: Record<string, string>, execStart?: string[]): string {
    const text = fs.readFileSync(path.join(REPO_DIR, 'userdata/host/etc/systemd/system', serviceUnit), 'utf8');
    const start = JSON.stringify(execStart ?? commandLine(unitSettings(text, 'ExecStart')[0]));
    const stopPost = unitSettings(text, 'ExecStopPost').map((c) => JSON.stringify(commandLine(c)));
    const passed = ['PATH', 'HOME', 'DOCKER_HOST', ...Object.keys(this.moto?.awsEnv() ?? {}), ...Object.keys(env)];
    const envPrefix = Object.entries(env)
      .map(([k, v]) => `${k}=${shellQuote(v)}`)
      .join(' ');
    return (
      `${envPrefix} setsid systemd-socket-activate --accept --inetd -l ${listen} ${passed.map((k) => `-E ${k}`).join(' ')} ` +
      `/usr/bin/python3 -S ${HELPERS_DIR}/unit-instance.py ${this.dir}/${serviceUnit}.counter ${shellQuote(start)} ${stopPost.map(shellQuote).join(' ')} ` +
      `>>${this.dir}/${log} 2>&1 </dev/null`
    );
  }

  /** Shell command serving `serviceUnit` (Accept=no) with the socket on `listen` as its fd 3 (LISTEN_FDS). */
  serveOneCommand(serviceUnit: string, listen: string, log: string, env: Record<string, string>, execStart?: string[]): string {
    const text = fs.readFileSync(path.join(REPO_DIR, 'userdata/host/etc/systemd/system', serviceUnit), 'utf8');
    const start = execStart ?? commandLine(unitSettings(text, 'ExecStart')[0]);
    const passed = ['PATH', 'HOME', 'DOCKER_HOST', ...Object.keys(env)];
    const envPrefix = Object.entries(env)
      .map(([k, v]) => `${k}=${shellQuote(v)}`)
      .join(' ');
    return (
      `${envPrefix} setsid systemd-socket-activate -l ${listen} ${passed.map((k) => `-E ${k}`).join(' ')} ` +
      `${start.map(shellQuote).join(' ')} >>${this.dir}/${log} 2>&1 </dev/null`
    );
  }

  /**
   * Serves another front and ssh-bastion@.service on another port with another bastion.env
   * (BASTION_ENV_FILE), optionally with another command for the session unit (`execStart`) or the
   * front (`frontExecStart`) and other environment variables for their processes.
   */
  async serveSessions(
    port: number,
    settings: Settings,
    name: string,
    execStart?: string[],
    env: Record<string, string> = {},
    frontExecStart?: string[],
  ): Promise<void> {
    const file = `/etc/ssh-bastion/${name}.env`;
    const sessionSocket = `/run/ssh-bastion/session-${name}.sock`;
    this.writeSettings(file, { ...settings, BASTION_SESSION_SOCKET: sessionSocket });
    const withFile = { ...env, BASTION_ENV_FILE: file };
    await this.must(['bash', '-c', `${this.serveCommand('ssh-bastion@.service', sessionSocket, 'journal.log', withFile, execStart)} &`]);
    await this.must([
      'bash',
      '-c',
      `${this.serveOneCommand('ssh-bastion-front.service', `127.0.0.1:${port}`, 'journal.log', withFile, frontExecStart)} &`,
    ]);
    await this.waitForPort(port);
  }

  /** A Docker registry (Debian's docker-registry) on 127.0.0.1:port of the host, storage in the test dir. */
  async startRegistry(port: number): Promise<void> {
    const config = path.join(this.dir, 'registry.yml');
    fs.writeFileSync(
      config,
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${this.dir}/registry\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    await this.startBackground([...this.enter, 'docker-registry', 'serve', config], 'registry.log');
    await this.waitForPort(port);
  }

  /**
   * Stops a session as systemd stops a unit (SIGTERM to every process of its control group): the
   * unit's main process, whose pid unit-instance.py wrote, and all its descendants.
   */
  async stopUnitInstance(number: string): Promise<void> {
    const main = fs.readFileSync(path.join(this.dir, `ssh-bastion@.service.counter-${number}.pgid`), 'utf8').trim();
    const table = (await this.must(['ps', '-e', '-o', 'pid=,ppid=']))
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    const unit = new Set([main]);
    for (let grown = true; grown;) {
      grown = false;
      for (const [pid, ppid] of table) {
        if (unit.has(ppid) && !unit.has(pid)) {
          unit.add(pid);
          grown = true;
        }
      }
    }
    await this.run(['kill', '-s', 'TERM', ...unit]);
  }

  /**
   * Boots the host as the user data's runcmd does: the bootstrap fetches the bundle from moto's
   * S3, checks and unpacks it, then run-sections runs every section and the readiness check.
   */
  async boot(env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
    this.writeHooks();
    const result = await this.run([BOOTSTRAP], { timeoutMs: 300_000, env });
    fs.writeFileSync(path.join(this.dir, 'boot.log'), `${result.stdout}${result.stderr}`);
    return result;
  }

  async waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
    // Listening, checked without connecting: a connection would start a session.
    await waitFor(async () => (await this.must(['ss', '-Hltn', `sport = :${port}`])).trim() !== '', timeoutMs, `port ${port}`);
  }

  /** True when something accepts TCP on 127.0.0.1:port of the host. */
  async portOpen(port: number): Promise<boolean> {
    return (await this.run(['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`])).status === 0;
  }

  /** The host's journal as far as the bastion's units write it (session wrapper stderr). */
  journal(): string {
    const file = path.join(this.dir, 'journal.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  /** A real OpenSSH client on the host's loopback. */
  ssh(options: {
    user: string;
    key: string;
    port?: number;
    knownHosts?: string;
    command?: string;
    extra?: string[];
    timeoutMs?: number;
  }): Promise<CommandResult> {
    const args = [
      'ssh',
      ...sshOptions({ key: options.key, port: options.port ?? this.settings.BASTION_SERVICE_PORT, knownHosts: options.knownHosts }),
      ...(options.extra ?? []),
      `${options.user}@127.0.0.1`,
      ...(options.command !== undefined ? [options.command] : []),
    ];
    return this.run(args, { timeoutMs: options.timeoutMs ?? 60_000 });
  }

  /** Session containers that exist right now (running or not): those a session has taken. */
  async sessionContainers(): Promise<string[]> {
    const taken = new Set(
      (await this.must(['bash', '-c', 'cat /run/ssh-bastion/units/* 2>/dev/null || true'])).split('\n').filter(Boolean),
    );
    return (await this.allSessionContainers()).filter((name) => taken.has(name));
  }

  /**
   * Containers kept ready by a front (by default the host's own; serveSessions(..., name) serves
   * one whose session socket is /run/ssh-bastion/session-<name>.sock), not taken by a session yet.
   */
  async readyContainers(sessionSocket = '/run/ssh-bastion/session.sock'): Promise<string[]> {
    const taken = new Set(await this.sessionContainers());
    const ofFront = (
      await this.docker('ps', '-a', '--filter', `label=ssh-bastion.session=${sessionSocket}`, '--format', '{{.Names}}')
    ).split('\n');
    return ofFront.filter((name) => name !== '' && !taken.has(name));
  }

  /** Every container of the bastion: ready or in a session. */
  async allSessionContainers(): Promise<string[]> {
    return (await this.docker('ps', '-a', '--filter', 'name=ssh-bastion-', '--format', '{{.Names}}')).split('\n').filter(Boolean);
  }

  private async startBackground(args: string[], log: string, ready?: RegExp): Promise<void> {
    const file = path.join(this.dir, log);
    const fd = fs.openSync(file, 'a');
    const proc = spawn(args[0], args.slice(1), { stdio: ['ignore', fd, fd], env: process.env });
    fs.closeSync(fd);
    this.background.push(proc);
    if (ready) await waitFor(() => ready.test(fs.readFileSync(file, 'utf8')), 10_000, log);
    else await new Promise((r) => setTimeout(r, 200));
  }

  /** Kills everything the host started, unmounts (by ending the mount namespace), deletes netns. */
  async stop(): Promise<void> {
    await this.dockerd?.stop().catch(() => undefined);
    for (const ns of [this.hostNetns, this.vpcNetns]) {
      if (sh('ip', ['netns', 'list']).includes(ns)) removeNamespace(ns);
    }
    this.holder?.kill('SIGKILL');
    for (const proc of this.background) proc.kill('SIGKILL');
    await this.moto?.stop().catch(() => undefined);
    if (!process.env.SSHB_E2E_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Lays out the host inside the mount namespace: overlays, tmpfs /run, the module's files. */
const LAYOUT_SCRIPT = `
dir="$1" repo="$2" helpers="$3"
for target in /etc /usr/local /opt; do
  mkdir -p "$dir/overlay$target/upper" "$dir/overlay$target/work"
  mount -t overlay overlay -o "lowerdir=$target,upperdir=$dir/overlay$target/upper,workdir=$dir/overlay$target/work" "$target"
done
mount -t tmpfs -o mode=0755 tmpfs /run
cp -r "$repo/userdata/boot/." /
chmod 0755 /usr/local/libexec/ssh-bastion/bootstrap
mkdir -p /etc/ssh-bastion /run/sshd
install -m 0755 "$helpers/systemctl-emulator" /usr/local/sbin/systemctl
mkdir -p "$dir/systemctl"
`;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
