/**
 * A whole bastion host in a QEMU virtual machine: a Debian 12 guest (test/vm/build-image.sh, built
 * once and cached under .e2e/vm/ keyed by that script, so by its package list) booted with the
 * user data on a NoCloud seed disk, under real systemd, cloud-init and docker. The AWS side is on
 * this machine: moto (S3, SSM, IAM) and a fake instance metadata service (IMDSv2), both reached
 * from the guest through QEMU's user network, where 169.254.2.2 is this machine's loopback and
 * 169.254.169.254:80 is forwarded to the fake metadata service. The guest's service, health and
 * admin ports are forwarded to ports on 127.0.0.1.
 *
 * No KVM here: QEMU emulates the CPU (TCG), so a boot takes minutes; see README ("Tests").
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { buildOnce, DEBIAN_MIRROR, E2E_CACHE_DIR } from '../helpers/debootstrap';
import { freePort } from '../helpers/moto';
import { CommandResult, runCommand } from '../helpers/run';

export const VM_CACHE_DIR = path.join(E2E_CACHE_DIR, 'vm');
const BUILD_SCRIPT = path.join(__dirname, 'build-image.sh');
/** This machine's loopback, as the guest sees it (QEMU user network 169.254.0.0/16). */
export const HOST_FROM_GUEST = '169.254.2.2';
export const METADATA_ADDRESS = '169.254.169.254';
/**
 * The guest's memory. Not 2 GiB (t4g.small, the default instance type): Debian's initramfs mounts
 * /run at 10 % of the memory, 197 MiB there, below the 256 MiB free the health check asks of /run,
 * so a 2 GiB Debian host answers 503 (disk-space:/run) for ever.
 */
export const MEMORY_MB = 3072;
/** The serial id of the disk that holds the session base image (a docker import tar). */
export const BASE_IMAGE_DISK = '/dev/disk/by-id/virtio-sshb-base';

/** The guest's kernel, initrd and root file system image, built first when not cached. */
export function vmImage(): string {
  const key = createHash('sha256').update(fs.readFileSync(BUILD_SCRIPT)).digest('hex').slice(0, 16);
  return buildOnce(path.join(VM_CACHE_DIR, `image-${key}`), (building) => {
    execFileSync('bash', [BUILD_SCRIPT, building, path.join(VM_CACHE_DIR, 'debs'), DEBIAN_MIRROR], {
      stdio: 'inherit',
      timeout: 40 * 60_000,
    });
  });
}

/**
 * A fake instance metadata service with IMDSv2 tokens: a GET without a token from PUT
 * /latest/api/token is refused with 401, as on an instance that requires IMDSv2. Serves the
 * instance role's credentials and the region.
 */
export class FakeMetadata {
  readonly requests: string[] = [];
  private readonly tokens = new Set<string>();
  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(role: string, region: string): Promise<FakeMetadata> {
    const port = await freePort();
    let self: FakeMetadata | undefined;
    const server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      self!.requests.push(`${req.method} ${url}`);
      const answer = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (req.method === 'PUT' && url === '/latest/api/token') {
        const token = createHash('sha256').update(`${Date.now()}-${Math.random()}`).digest('hex');
        self!.tokens.add(token);
        return answer(200, token);
      }
      if (!self!.tokens.has(String(req.headers['x-aws-ec2-metadata-token'] ?? ''))) return answer(401, 'Unauthorized');
      const credentials = JSON.stringify({
        Code: 'Success',
        Type: 'AWS-HMAC',
        AccessKeyId: 'ASIAVMTESTINSTANCE',
        SecretAccessKey: 'vm-test-instance-role-secret',
        Token: 'vm-test-instance-role-token',
        LastUpdated: new Date().toISOString(),
        Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
      });
      const paths: Record<string, string> = {
        '/latest/meta-data/iam/security-credentials/': role,
        [`/latest/meta-data/iam/security-credentials/${role}`]: credentials,
        '/latest/meta-data/placement/region': region,
        '/latest/meta-data/instance-id': 'i-0123456789abcdef0',
        '/latest/dynamic/instance-identity/document': JSON.stringify({ region, instanceId: 'i-0123456789abcdef0' }),
      };
      return url in paths ? answer(200, paths[url]) : answer(404, 'Not Found');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    self = new FakeMetadata(server, port);
    return self;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface VmOptions {
  readonly image: string;
  /** the instance's user data (cloud-config or MIME multipart) */
  readonly userData: string;
  readonly metadataPort: number;
  /** a tar of a root file system, attached as a disk with serial `sshb-base` */
  readonly baseImageTar: string;
  /** guest TCP ports to forward to free ports on 127.0.0.1 */
  readonly forward: readonly number[];
  readonly dir: string;
}

/** One QEMU guest; `start()` again after the guest stopped boots the same disk (a reboot). */
export class BastionVm {
  /** guest port -> port on 127.0.0.1 */
  readonly ports: Record<number, number> = {};
  private qemu?: ChildProcess;
  private exited?: Promise<void>;
  readonly console: string;
  private readonly disk: string;

  constructor(private readonly options: VmOptions) {
    this.console = path.join(options.dir, 'console.log');
    this.disk = path.join(options.dir, 'disk.qcow2');
  }

  /** Makes the copy-on-write disk on the cached image and the NoCloud seed disk. */
  async prepare(): Promise<void> {
    const { dir, image, userData } = this.options;
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', path.join(image, 'root.img'), this.disk]);
    const seed = path.join(dir, 'seed');
    fs.mkdirSync(seed, { recursive: true });
    fs.writeFileSync(path.join(seed, 'user-data'), userData);
    fs.writeFileSync(path.join(seed, 'meta-data'), 'instance-id: i-0123456789abcdef0\nlocal-hostname: ip-10-0-1-23\n');
    execFileSync('mkfs.vfat', ['-C', '-n', 'CIDATA', path.join(dir, 'seed.img'), '2048'], { stdio: 'ignore' });
    execFileSync('mcopy', ['-i', path.join(dir, 'seed.img'), path.join(seed, 'user-data'), path.join(seed, 'meta-data'), '::']);
    for (const port of this.options.forward) this.ports[port] = await freePort();
  }

  /** Starts QEMU; resolves once the process runs (the guest boots for minutes after). */
  start(): void {
    const { dir, image, metadataPort, baseImageTar } = this.options;
    const forwards = Object.entries(this.ports).map(([guest, local]) => `hostfwd=tcp:127.0.0.1:${local}-:${guest}`);
    const netdev = [
      'user,id=n0,net=169.254.0.0/16',
      ...forwards,
      `guestfwd=tcp:${METADATA_ADDRESS}:80-cmd:socat - TCP:127.0.0.1:${metadataPort}`,
    ].join(',');
    const args = [
      '-machine',
      'q35',
      '-accel',
      'tcg,thread=multi',
      '-cpu',
      'max',
      '-smp',
      '2',
      '-m',
      String(MEMORY_MB),
      '-nographic',
      '-no-reboot',
      '-serial',
      `file:${this.console}`,
      '-monitor',
      'none',
      '-kernel',
      path.join(image, 'vmlinuz'),
      '-initrd',
      path.join(image, 'initrd.img'),
      '-append',
      'console=ttyS0 root=/dev/vda rw net.ifnames=0',
      // PCI addresses in this order make the disks vda (root), vdb (seed), vdc (base image).
      '-drive',
      `file=${this.disk},if=none,id=root,format=qcow2,cache=unsafe`,
      '-device',
      'virtio-blk-pci,drive=root,addr=0x10',
      '-drive',
      `file=${path.join(dir, 'seed.img')},if=none,id=seed,format=raw,readonly=on`,
      '-device',
      'virtio-blk-pci,drive=seed,addr=0x11',
      '-drive',
      `file=${baseImageTar},if=none,id=base,format=raw,readonly=on`,
      '-device',
      'virtio-blk-pci,drive=base,serial=sshb-base,addr=0x12',
      '-netdev',
      netdev,
      '-device',
      'virtio-net-pci,netdev=n0',
      '-object',
      'rng-random,filename=/dev/urandom,id=rng0',
      '-device',
      'virtio-rng-pci,rng=rng0',
    ];
    fs.appendFileSync(this.console, `\n=== qemu start ${new Date().toISOString()} ===\n`);
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'qemu.log'), 'a')] });
    this.qemu = qemu;
    this.exited = new Promise((resolve) => qemu.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.qemu !== undefined && this.qemu.exitCode === null && this.qemu.signalCode === null;
  }

  /** Waits until QEMU exits (the guest powered off or rebooted: -no-reboot). */
  async waitExit(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exited,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`qemu still running after ${timeoutMs} ms`)), timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    if (this.running) {
      this.qemu!.kill('SIGTERM');
      await this.waitExit(10_000).catch(() => this.qemu!.kill('SIGKILL'));
    }
  }

  consoleText(): string {
    return fs.existsSync(this.console) ? fs.readFileSync(this.console, 'utf8') : '';
  }
}

/**
 * One HTTP GET to 127.0.0.1:port; the answer's text, or '' when the connection closed without one
 * (QEMU accepts every forwarded connection and closes it when the guest refuses it).
 */
export function httpGet(port: number, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.0\r\n\r\n'));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

export type { CommandResult };

/** Runs a command on this machine; never throws. */
export function run(command: string, args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  return runCommand([command, ...args], { timeoutMs });
}

/** Polls `check` every `everyMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
