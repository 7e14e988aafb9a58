/**
 * Helpers of test/e2e/load.test.ts: the e2e test host of test/helpers/harness.ts with the fault
 * proxy of test/helpers/fault-proxy.ts between its key lookup service and moto, plus the
 * measurements the load tests need (processes and fds of the host, the daemon's pid and log) and
 * a flood client run on the host's loopback.
 *
 * ```ts
 * const host = new FaultyBastionHost(settings);
 * await host.prepare();          // harness prepare, then the proxy and its relay into the host
 * await host.boot();             // the daemon reads AWS_ENDPOINT_URL_IAM = the proxy
 * host.proxy.inject('throttle', 3, { action: 'ListGroupsForUser' });
 * host.stats();                  // processes and open fds in the host's network namespace
 * ```
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, CommandResult, Settings, waitFor } from '../helpers/harness';
import { FaultProxy } from '../helpers/fault-proxy';
import { sshOptions } from '../helpers/ssh-options';

/** Actions the daemon calls for KEYS (one login); GetGroup/ListUsers are USERS refreshes. */
export const KEYS_ACTIONS = ['ListGroupsForUser', 'ListSSHPublicKeys', 'GetSSHPublicKey'];

/** Processes and open file descriptors of the test host (its network namespace). */
export interface HostStats {
  readonly processes: number;
  readonly fds: number;
  /** process count per command name */
  readonly byName: Record<string, number>;
}

export class FaultyBastionHost extends BastionTestHost {
  /** between the key lookup service and moto; set by prepare() */
  proxy!: FaultProxy;
  private readonly relays: ChildProcess[] = [];

  constructor(settings: Settings) {
    super(settings);
  }

  /**
   * The harness's prepare, then the proxy on the machine's loopback in front of moto, carried
   * into the host's namespace on the same port (as the harness carries moto), and
   * AWS_ENDPOINT_URL_IAM in bastion.env pointing the daemon at it. SSM (host key) still goes to
   * moto directly through AWS_ENDPOINT_URL.
   */
  override async prepare(): Promise<void> {
    await super.prepare();
    this.proxy = await FaultProxy.start(this.moto!.endpoint);
    const port = new URL(this.proxy.endpoint).port;
    const relay = path.join(this.dir, 'proxy.sock');
    this.relays.push(this.spawnRelay(['socat', `UNIX-LISTEN:${relay},fork`, `TCP:127.0.0.1:${port}`], 'proxy-relay-out.log'));
    await waitFor(() => fs.existsSync(relay), 5000, 'proxy relay socket');
    this.relays.push(
      this.spawnRelay(
        [...this.enter, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${relay}`],
        'proxy-relay-in.log',
      ),
    );
    await this.waitForPort(Number(port));
    this.settings.AWS_ENDPOINT_URL_IAM = this.proxy.endpoint;
    this.writeSettings('/etc/ssh-bastion/bastion.env', this.settings);
  }

  override async stop(): Promise<void> {
    for (const relay of this.relays) relay.kill('SIGKILL');
    await this.proxy?.stop().catch(() => undefined);
    await super.stop();
  }

  private spawnRelay(args: string[], log: string): ChildProcess {
    const fd = fs.openSync(path.join(this.dir, log), 'a');
    const proc = spawn(args[0], args.slice(1), { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    return proc;
  }

  /** Pids of every process in the host's network namespace. */
  pids(): number[] {
    return execFileSync('ip', ['netns', 'pids', this.hostNetns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  }

  /** Processes and their open fds in the host's network namespace (dockerd, the daemon, sessions ...). */
  stats(): HostStats {
    let processes = 0;
    let fds = 0;
    const byName: Record<string, number> = {};
    for (const pid of this.pids()) {
      try {
        const name = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        const open = fs.readdirSync(`/proc/${pid}/fd`).length;
        processes++;
        fds += open;
        byName[name] = (byName[name] ?? 0) + 1;
      } catch {
        // exited meanwhile
      }
    }
    return { processes, fds, byName };
  }

  /** Pid of the key lookup service (the harness starts it from its unit's ExecStart). */
  daemonPid(): number | undefined {
    for (const pid of this.pids()) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/usr/local/libexec/ssh-bastion/keys-service')) return pid;
      } catch {
        // exited meanwhile
      }
    }
    return undefined;
  }

  /** The key lookup service's log (its stderr). */
  daemonLog(): string {
    const file = path.join(this.dir, 'keys-service.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  /** USERS asked on the service's socket, as setup-key-lookup asks it; undefined if unanswered. */
  async usersOnSocket(): Promise<string[] | undefined> {
    const result = await this.run(['bash', '-c', '. /usr/local/libexec/ssh-bastion/lib.sh; keys_request USERS'], { timeoutMs: 15_000 });
    return result.status === 0 ? result.stdout.split('\n').filter(Boolean) : undefined;
  }

  /** True when dockerd answers `docker ps` within 10 s. */
  async dockerAnswers(): Promise<boolean> {
    return (await this.run(['docker', 'ps', '-q'], { timeoutMs: 10_000 })).status === 0;
  }

  /**
   * A real OpenSSH client with a chosen overall bound. (The harness's ssh() fixes
   * ConnectTimeout=20, which OpenSSH also applies to the banner exchange; under load a container
   * may take longer to start, so this one sets its own.)
   */
  sshWithin(options: { user: string; key: string; command: string; timeoutMs: number; connectTimeoutS?: number }): Promise<CommandResult> {
    return this.run(
      [
        'ssh',
        ...sshOptions({ key: options.key, port: this.settings.BASTION_SERVICE_PORT, connectTimeoutS: options.connectTimeoutS ?? 60 }),
        `${options.user}@127.0.0.1`,
        options.command,
      ],
      { timeoutMs: options.timeoutMs },
    );
  }

  /** Waits until no session container exists; fails naming those left. */
  async waitForNoContainers(timeoutMs: number): Promise<void> {
    try {
      await waitFor(async () => (await this.sessionContainers()).length === 0, timeoutMs, 'no session container');
    } catch {
      throw new Error(`session containers still there after ${timeoutMs} ms: ${(await this.sessionContainers()).join(' ')}`);
    }
  }
}

/** One kind of flood connection; see FLOOD_SCRIPT. */
export type FloodKind = 'close' | 'garbage' | 'wait-banner' | 'client-banner';

export interface FloodKindResult {
  /** connections made */
  n: number;
  /** connections refused or reset before anything was exchanged */
  connect_errors: number;
  /** the server's SSH banner arrived */
  server_banner: number;
  /** the server closed the connection (EOF or reset) after the exchange */
  server_closed: number;
  /** the client gave up waiting (per-connection bound) */
  timed_out: number;
}

export interface FloodResult {
  readonly total: number;
  readonly ms: number;
  readonly maxOpen: number;
  /** connections not finished when the whole run's bound (totalS) was reached */
  readonly unfinished: number;
  readonly kinds: Record<FloodKind, FloodKindResult>;
}

/**
 * The flood client: `total` TCP connections to 127.0.0.1:port, at most `concurrency` open at a
 * time, kinds in turn (i % 4):
 * - close: connect and close at once, nothing sent;
 * - garbage: send 64 random bytes and a line end, wait until the server closes;
 * - wait-banner: wait for the server's SSH banner, then close;
 * - client-banner: send an SSH client banner, wait for the server's, send a garbage packet and
 *   wait until the server closes.
 * Every connection is bounded by `perConnS` seconds, the whole run by `totalS` (then the rest is
 * cancelled and counted as `unfinished`). Prints JSON.
 */
const FLOOD_SCRIPT = String.raw`
import asyncio, json, os, sys, time
port, total, concurrency, per_conn, total_s = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
KINDS = ["close", "garbage", "wait-banner", "client-banner"]
stats = {k: dict(n=0, connect_errors=0, server_banner=0, server_closed=0, timed_out=0) for k in KINDS}
open_now = 0
max_open = 0

async def until_closed(reader):
    while await reader.read(4096):
        pass

async def one(i, sem):
    global open_now, max_open
    kind = KINDS[i % 4]
    s = stats[kind]
    async with sem:
        s["n"] += 1
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), per_conn)
        except Exception:
            s["connect_errors"] += 1
            return
        open_now += 1
        max_open = max(max_open, open_now)
        try:
            async def talk():
                if kind == "close":
                    return
                if kind == "garbage":
                    writer.write(os.urandom(64) + b"\r\n")
                    await writer.drain()
                    await until_closed(reader)
                    s["server_closed"] += 1
                    return
                if kind == "client-banner":
                    writer.write(b"SSH-2.0-flood_%d\r\n" % i)
                    await writer.drain()
                line = await reader.readline()
                if line.startswith(b"SSH-2.0-"):
                    s["server_banner"] += 1
                if kind == "client-banner":
                    writer.write(b"\x00\x00\x00\x0c\x0a\x14" + os.urandom(10))
                    await writer.drain()
                    await until_closed(reader)
                    s["server_closed"] += 1
            await asyncio.wait_for(talk(), per_conn)
        except asyncio.TimeoutError:
            s["timed_out"] += 1
        except (ConnectionError, OSError):
            s["server_closed"] += 1
        finally:
            open_now -= 1
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass

async def main():
    sem = asyncio.Semaphore(concurrency)
    started = time.monotonic()
    tasks = [asyncio.ensure_future(one(i, sem)) for i in range(total)]
    done, pending = await asyncio.wait(tasks, timeout=total_s)
    for t in pending:
        t.cancel()
    print(json.dumps(dict(total=total, ms=int((time.monotonic() - started) * 1000), maxOpen=max_open,
                          unfinished=len(pending), kinds=stats)))

asyncio.run(main())
`;

/** Runs the flood client on the host's loopback; rejects with its output if it fails or overruns. */
export async function flood(
  host: BastionTestHost,
  options: { port: number; total: number; concurrency: number; perConnS: number; totalS: number },
): Promise<FloodResult> {
  const script = path.join(host.dir, 'flood.py');
  fs.writeFileSync(script, FLOOD_SCRIPT);
  const result = await host.run(
    [
      'python3',
      script,
      String(options.port),
      String(options.total),
      String(options.concurrency),
      String(options.perConnS),
      String(options.totalS),
    ],
    { timeoutMs: (options.totalS + 15) * 1000 },
  );
  if (result.status !== 0)
    throw new Error(`flood client failed (${result.status}) after ${result.ms} ms:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout) as FloodResult;
}

/** Counts of the proxy's requests for the given actions only. */
export function countOf(counts: Record<string, number>, actions: readonly string[]): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([action]) => actions.includes(action)));
}
