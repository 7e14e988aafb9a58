/**
 * A private Docker engine for the e2e tests, run inside the test host's network and mount
 * namespaces with iptables enabled, so the firewall rules the host scripts add are real rules in
 * a network namespace the test owns. Nothing outside that namespace is touched.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface DockerdOptions {
  /** argv prefix that enters the test host's namespaces (e.g. nsenter -t PID -n -m --) */
  readonly enter: readonly string[];
  /** folder for data-root, exec-root, pidfile, socket and log */
  readonly dir: string;
  /** DNS server handed to containers */
  readonly dns: string;
}

export class Dockerd {
  readonly socket: string;
  readonly host: string;

  private constructor(
    private readonly proc: ChildProcess,
    readonly dir: string,
  ) {
    this.socket = path.join(dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
  }

  static async start(options: DockerdOptions): Promise<Dockerd> {
    const dir = options.dir;
    fs.mkdirSync(dir, { recursive: true });
    const log = fs.openSync(path.join(dir, 'dockerd.log'), 'a');
    const args = [
      ...options.enter,
      'dockerd',
      '--storage-driver=overlay2',
      '--bridge=none',
      `--dns=${options.dns}`,
      `--data-root=${path.join(dir, 'data')}`,
      `--exec-root=${path.join(dir, 'exec')}`,
      `--pidfile=${path.join(dir, 'dockerd.pid')}`,
      '-H',
      `unix://${path.join(dir, 'docker.sock')}`,
    ];
    const proc = spawn(args[0], args.slice(1), { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const dockerd = new Dockerd(proc, dir);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`dockerd exited: ${dockerd.log().slice(-2000)}`);
      try {
        execFileSync('docker', ['version'], { env: { ...process.env, DOCKER_HOST: dockerd.host }, stdio: 'ignore', timeout: 5000 });
        return dockerd;
      } catch {
        if (Date.now() > deadline) throw new Error(`dockerd not ready: ${dockerd.log().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  log(): string {
    return fs.readFileSync(path.join(this.dir, 'dockerd.log'), 'utf8');
  }

  /** Stops dockerd (SIGTERM, SIGKILL after 10 s); containers go with it. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
