/**
 * Runs the host-side key lookup daemon (userdata/host/usr/local/libexec/ssh-bastion/keys-service)
 * unprivileged for tests and talks its socket protocol.
 *
 * ```ts
 * const daemon = await KeysDaemon.start({ env: moto.awsEnv(undefined, proxy.endpoint) });
 * await daemon.users();                       // USERS -> string[]
 * await daemon.keys('alice', 'session-1');    // KEYS  -> authorized_keys lines
 * await daemon.request('garbage\n');          // raw request -> raw answer
 * daemon.logLines(/keys user=alice/);         // stderr lines (tag 'ssh-bastion-keys:')
 * const sock = await daemon.openSession('c-1'); // OPEN: that session's own socket
 * await daemon.keys('alice', '', { socketPath: sock }); // KEYS on it (the session is the socket)
 * daemon.refusals('session-lookups');         // refusals of that reason in the summary lines
 * await daemon.stop();                        // SIGTERM; rejects if it does not exit
 * ```
 *
 * The socket lives in a fresh temp dir (BASTION_KEYS_SOCKET). The interpreter is
 * `options.python`, else $BASTION_KEYS_PYTHON, else `python3` on PATH.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** Daemons still running: killed when this (jest worker) process exits, so none is orphaned. */
const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((p) => p.kill('SIGKILL')));

export const KEYS_SERVICE_PATH = path.resolve(__dirname, '../../userdata/host/usr/local/libexec/ssh-bastion/keys-service');

export interface KeysDaemonOptions {
  /** extra environment (AWS_* from MotoServer.awsEnv, BASTION_* settings) */
  readonly env?: Record<string, string | undefined>;
  /** python interpreter */
  readonly python?: string;
  /** extra arguments (e.g. ['--env-file', path]) */
  readonly args?: readonly string[];
  /** how long to wait for the socket (default 60 s: Python + boto3 start-up on a saturated machine) */
  readonly readyTimeoutMs?: number;
}

export class KeysDaemon {
  private stderr = '';

  private constructor(
    readonly socketPath: string,
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {
    proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    proc.stdout?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Starts the daemon and waits until its socket accepts connections. */
  static async start(options: KeysDaemonOptions = {}): Promise<KeysDaemon> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keysd-'));
    const socketPath = path.join(dir, 'keys', 'keys.sock');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, ...options.env })) {
      if (v !== undefined) env[k] = v;
    }
    env.BASTION_KEYS_SOCKET = socketPath;
    const python = options.python ?? process.env.BASTION_KEYS_PYTHON ?? 'python3';
    const proc = spawn(python, [KEYS_SERVICE_PATH, ...(options.args ?? [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const daemon = new KeysDaemon(socketPath, proc, dir);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60000);
    while (!/ssh-bastion-keys: started /.test(daemon.stderr)) {
      if (proc.exitCode !== null) throw new Error(`keys-service exited with ${proc.exitCode}: ${daemon.stderr}`);
      if (Date.now() > deadline) {
        await daemon.stop().catch(() => undefined);
        throw new Error(`keys-service not ready: ${daemon.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return daemon;
  }

  /** True while the process runs. */
  alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Everything the daemon wrote to stderr so far. */
  logs(): string {
    return this.stderr;
  }

  /** Log lines matching `re`. */
  logLines(re: RegExp): string[] {
    return this.stderr.split('\n').filter((l) => re.test(l));
  }

  /** Waits until a log line matches `re` (default 10 s); returns it. */
  async waitForLog(re: RegExp, timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logLines(re)[0];
      if (line !== undefined) return line;
      if (Date.now() > deadline) throw new Error(`no log line ${re} in:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Sends raw bytes, half-closes only if `end` (default false: like a client waiting for the
   * answer) and returns everything the daemon answers until it closes.
   */
  request(raw: string | Buffer, options: { end?: boolean; timeoutMs?: number; socketPath?: string } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const sock = net.createConnection(options.socketPath ?? this.socketPath);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`no answer within ${options.timeoutMs ?? 20000} ms to ${JSON.stringify(String(raw).slice(0, 60))}`));
      }, options.timeoutMs ?? 20000);
      sock.on('connect', () => {
        if (raw.length > 0) sock.write(raw);
        if (options.end) sock.end();
      });
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.on('error', (e: NodeJS.ErrnoException) => {
        // the daemon closes on a rejected request while we may still be writing: that is an
        // answer (empty), not a client error
        if (e.code === 'EPIPE' || e.code === 'ECONNRESET') return;
        clearTimeout(timer);
        reject(e);
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString());
      });
    });
  }

  /** USERS: the allowed Linux user names (on the main socket, or on a session's). */
  async users(options: { timeoutMs?: number; socketPath?: string } = {}): Promise<string[]> {
    return lines(await this.request('USERS\n', options));
  }

  /**
   * KEYS: the answer's authorized_keys lines (empty = no access). On a session's socket
   * (`socketPath`) an empty `session` sends `KEYS <user>` alone.
   */
  async keys(linuxName: string, session: string, options: { timeoutMs?: number; socketPath?: string } = {}): Promise<string[]> {
    return lines(await this.request(session === '' ? `KEYS ${linuxName}\n` : `KEYS ${linuxName} ${session}\n`, options));
  }

  /** OPEN on the main socket: the path of the session's own socket; throws if not opened. */
  async openSession(session: string): Promise<string> {
    const answer = await this.request(`OPEN ${session}\n`);
    const match = /^OK (\S+)\n$/.exec(answer);
    if (!match) throw new Error(`OPEN ${session} answered ${JSON.stringify(answer)}`);
    return match[1];
  }

  /** CLOSE on the main socket. */
  async closeSession(session: string): Promise<string> {
    return this.request(`CLOSE ${session}\n`);
  }

  /** The refusal summary lines so far. */
  refusalLines(): string[] {
    return this.logLines(/^ssh-bastion-keys: refused /);
  }

  /** Refusals of `reason` counted in the summary lines so far. */
  refusals(reason: string): number {
    const re = new RegExp(` ${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}=(\\d+)`);
    return this.refusalLines().reduce((sum, line) => sum + Number(re.exec(line)?.[1] ?? 0), 0);
  }

  /** Waits until the summary lines count at least `count` refusals of `reason` (default 10 s). */
  async waitForRefusals(reason: string, count: number, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.refusals(reason) < count) {
      if (Date.now() > deadline) throw new Error(`fewer than ${count} refusals ${reason} (${this.refusals(reason)}) in:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGTERM and wait (5 s) for the exit; removes the temp dir. */
  async stop(): Promise<void> {
    if (this.alive()) {
      const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function lines(answer: string): string[] {
  return answer.split('\n').filter((l) => l !== '');
}
