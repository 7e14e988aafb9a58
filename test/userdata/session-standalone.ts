/**
 * Runs the host's real `session` program for one TCP connection on loopback, without systemd and
 * without docker:
 * - the real with-settings (its lib.sh path pointed at this tree) gives session its settings and
 *   the fixed names of lib.sh; the directories and sockets among them are then pointed into a
 *   scratch folder (sessions, key lookup sessions, unit records, key lookup socket, host key) and
 *   HOST_KEY_SECONDS may be shortened;
 * - a Python stand-in does the front's part: it makes the container's two directories (its
 *   session directory and its key lookup directory), listens on handoff.sock in the session
 *   directory and starts the "container": the worker's real receive-connection on that socket
 *   path (the path the real docker bind-mounts), with a command in place of the entrypoint and
 *   sshd. Once receive-connection has connected (the container is ready), it hands session, over
 *   a unix socket pair as stdin/stdout, one SCM_RIGHTS message with two descriptors (the client's
 *   TCP connection and the container's hand-off connection) and the JSON about them, as front
 *   does; it keeps no copy of either (front's client connection is non-blocking until then and
 *   blocking when sent, as here). It also answers the key lookup socket (recorded);
 * - `docker` on PATH is a stand-in for what session asks of docker: `docker container inspect`
 *   tells whether the container's process runs, `docker rm -f` kills it.
 * So session's receipt of the hand-on, the record of its container, its hand-off (two descriptors
 * in one SCM_RIGHTS message), host key FIFO, log reading and end line all run for real; the e2e
 * suite runs them with docker and the real front.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { HOST_DIR, writeFile } from './userdata-tree';

export const SESSION = path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion/session');
const LIBEXEC = path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion');
/** A unit instance name as systemd makes it for a unix socket connection: number, peer pid, peer uid. */
export const INSTANCE = '7-4242-0';
export const KEY_TEXT =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key, only its bytes matter here\n-----END OPENSSH PRIVATE KEY-----\n';

/** A container name as front makes it. */
export function containerName(): string {
  return `ssh-bastion-${randomBytes(12).toString('hex')}`;
}

// The front's part, and the key lookup service's main socket. argv: the JSON configuration, then
// session's command line. Prints one JSON report when session has ended.
const FRONT = String.raw`import json, os, signal, socket, subprocess, sys, threading
config = json.loads(sys.argv[1])
keys = socket.socket(socket.AF_UNIX)
keys.bind(config["keys_socket"])
keys.listen(8)
requests = []
def serve_keys():
    while True:
        peer, _ = keys.accept()
        with peer:
            line = b""
            while not line.endswith(b"\n"):
                data = peer.recv(4096)
                if not data:
                    break
                line += data
            requests.append(line.decode().strip())
            peer.sendall(config["keys_answer"].encode())
threading.Thread(target=serve_keys, daemon=True).start()

# A container, as front starts one: its directories, the hand-off socket listening in the one
# mounted at /run/ssh-bastion/session, then its first process, receive-connection.
name = config["container"]
session_dir = os.path.join(config["sessions_dir"], name)
os.makedirs(config["sessions_dir"], mode=0o700, exist_ok=True)
os.makedirs(config["keys_sessions_dir"], mode=0o755, exist_ok=True)
os.mkdir(session_dir, 0o700)
os.mkdir(os.path.join(config["keys_sessions_dir"], name), 0o755)
handoff = os.path.join(session_dir, "handoff.sock")
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(handoff)
listener.listen(1)
with open(os.path.join(config["docker_dir"], name + ".out"), "wb") as out:
    container = subprocess.Popen(config["receiver"] + [handoff] + config["command"], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=out, start_new_session=True,
                                 env=dict(os.environ, FAKE_HANDOFF_DIR=session_dir))
with open(os.path.join(config["docker_dir"], name + ".pid"), "w") as f:
    f.write(str(container.pid))
listener.settimeout(30)
peer, _ = listener.accept()  # the container is ready
listener.close()
os.unlink(handoff)
if config["container_gone"]:  # it went away before it was handed a connection
    os.killpg(container.pid, signal.SIGKILL)
    container.wait()

connection = socket.socket(fileno=0)  # the accepted client connection
front, unit = socket.socketpair()
session = subprocess.Popen(sys.argv[2:], stdin=unit, stdout=unit)
unit.close()
client, local = connection.getpeername(), connection.getsockname()
about = {"client_address": client[0], "client_port": client[1], "local_port": local[1], "container": name}
about.update(config["about"])
for field in config["omit"]:
    del about[field]
socket.send_fds(front, [json.dumps(about).encode()], [connection.fileno(), peer.fileno()])
connection.close()  # as front: no copy of the connection or of the hand-off connection stays here
peer.close()
sent_back = b""
while True:  # front counts the session as over when this connection ends
    data = front.recv(4096)
    if not data:
        break
    sent_back += data
status = session.wait()
try:
    container.wait(timeout=5)
    container_left = False
except subprocess.TimeoutExpired:
    container_left = True
    os.killpg(container.pid, signal.SIGKILL)
    container.wait()
print(json.dumps({"status": status, "sent_back": sent_back.decode(), "keys": requests, "container_left": container_left}))
`;

// docker's stand-in for what session asks of it. Its calls go to $FAKE_DOCKER_DIR/calls, one JSON
// argv a line; <name>.pid there is the container's first process (its process group).
const DOCKER = String.raw`#!/usr/bin/env python3
import json, os, signal, sys
state = os.environ["FAKE_DOCKER_DIR"]
args = sys.argv[1:]
with open(os.path.join(state, "calls"), "a") as f:
    f.write(json.dumps(args) + "\n")
def running(name):
    try:
        with open(os.path.join(state, name + ".pid")) as f:
            pid = f.read().strip()
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
if args[:2] == ["container", "inspect"] and len(args) == 3:
    sys.exit(0 if running(args[2]) else 1)
if args[:2] == ["rm", "-f"] and len(args) == 3:
    if running(args[2]):
        with open(os.path.join(state, args[2] + ".pid")) as f:
            os.killpg(int(f.read()), signal.SIGKILL)
    sys.exit(0)
sys.exit(f"docker stand-in: unexpected call {args}")
`;

export interface SessionOptions {
  /** receive-connection's command line, without its socket and command */
  receiver: string[];
  /** what receive-connection execs in place of the entrypoint and sshd (FAKE_HANDOFF_DIR in its environment) */
  command?: string[];
  /** the host key's bytes; KEY_TEXT when not given */
  hostKey?: string;
  hostKeySeconds?: number;
  /** the key lookup service's answer to every request; "OK\n" when not given */
  keysAnswer?: string;
  /** the container's first process is killed after it connected, before the hand-on to session */
  containerGone?: boolean;
  /** fields of the JSON message that replace front's (a hostile or broken front); undefined: left out */
  about?: Record<string, unknown>;
}

export interface SessionEnd {
  /** session's exit status, as the front stand-in saw it */
  status: number | null;
  /** what session wrote on its stdin/stdout connection to the front (nothing is expected) */
  sentBack: string;
  /** requests on the key lookup socket */
  keys: string[];
  /** session's stderr (the journal on a host) */
  log: string;
  /** `docker` calls, one argv each */
  dockerCalls: string[][];
  /** what the "container" (receive-connection and its command) wrote to stdout/stderr of its own */
  containerOutput: string;
  /** whether the container's process still ran 5 s after session had ended (then killed) */
  containerLeft: boolean;
  /** the audit events session sent to the audit shipper's socket (a stand-in that keeps them), in order */
  audit: { [field: string]: unknown }[];
}

/** The audit shipper's datagram socket, as a stand-in that appends every event to a file. */
const AUDIT_COLLECTOR = String.raw`
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "ab", 0)
print("ready", flush=True)
while True:
    out.write(s.recv(65536) + b"\n")
`;

export interface RunningSession {
  client: net.Socket;
  clientPort: number;
  /** the container's name, as the front stand-in started it */
  container: string;
  /** the container's session directory (hand-off socket, host key FIFO), made by the front stand-in */
  sessionDir: string;
  /** the container's key lookup directory, made by the front stand-in */
  keysSessionDir: string;
  /** where session records its container for session-stop: SESSION_UNITS_DIR/<instance> */
  record: string;
  ended: Promise<SessionEnd>;
}

/** The scratch layout: with-settings pointed at this tree's lib.sh, docker's stand-in, a host key. */
function prepare(dir: string, key: string): { withSettings: string; bin: string; envFile: string; hostKey: string } {
  const original = fs.readFileSync(path.join(LIBEXEC, 'with-settings'), 'utf8');
  const source = '. /usr/local/libexec/ssh-bastion/lib.sh';
  if (!original.includes(source)) throw new Error(`with-settings no longer has the line ${source}`);
  const withSettings = path.join(dir, 'with-settings');
  writeFile(withSettings, original.replace(source, `. ${path.join(LIBEXEC, 'lib.sh')}`), 0o755);
  const bin = path.join(dir, 'bin');
  writeFile(path.join(bin, 'docker'), DOCKER, 0o755);
  const envFile = path.join(dir, 'bastion.env');
  writeFile(envFile, 'BASTION_SESSION_MAX_SECONDS=120\n', 0o600);
  const hostKey = path.join(dir, 'host_key');
  writeFile(hostKey, key, 0o600);
  return { withSettings, bin, envFile, hostKey };
}

function collect(child: ChildProcess): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', () => resolve({ stdout, stderr })));
}

/**
 * Accepts one TCP connection on loopback and runs session with it and a ready container (this
 * process keeps no copy of the connection); returns the client's end and the session's end.
 */
export async function runSession(dir: string, options: SessionOptions): Promise<RunningSession> {
  const { withSettings, bin, envFile, hostKey } = prepare(dir, options.hostKey ?? KEY_TEXT);
  const dockerDir = path.join(dir, 'docker');
  fs.mkdirSync(dockerDir);
  const sessionsDir = path.join(dir, 'sessions');
  const keysSessionsDir = path.join(dir, 'keys-sessions');
  const unitsDir = path.join(dir, 'units');
  const keysSocket = path.join(dir, 'keys.sock');
  const auditSocket = path.join(dir, 'audit.sock');
  const auditFile = path.join(dir, 'audit.jsonl');
  const collector = spawn('python3', ['-c', AUDIT_COLLECTOR, auditSocket, auditFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    collector.stdout!.once('data', () => resolve());
    collector.once('exit', (code) => reject(new Error(`the audit socket stand-in exited with ${code}`)));
  });
  const container = containerName();
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const connection = await accepted;
  const clientPort = connection.remotePort!;
  server.close();
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, BASTION_ENV_FILE: envFile, FAKE_DOCKER_DIR: dockerDir };
  const config = {
    keys_socket: keysSocket,
    keys_answer: options.keysAnswer ?? 'OK\n',
    container,
    sessions_dir: sessionsDir,
    keys_sessions_dir: keysSessionsDir,
    docker_dir: dockerDir,
    receiver: options.receiver,
    command: options.command ?? ['true'],
    container_gone: options.containerGone ?? false,
    about: options.about ?? {},
    omit: Object.entries(options.about ?? {})
      .filter(([, value]) => value === undefined)
      .map(([field]) => field),
  };
  // lib.sh sets the fixed names: the ones pointed elsewhere are set after it, as env arguments.
  const sessionCommand = [
    withSettings,
    'env',
    `SESSIONS_DIR=${sessionsDir}`,
    `KEYS_SESSIONS_DIR=${keysSessionsDir}`,
    `SESSION_UNITS_DIR=${unitsDir}`,
    `KEYS_SOCKET=${keysSocket}`,
    `HOST_KEY=${hostKey}`,
    `AUDIT_SOCKET=${auditSocket}`,
    ...(options.hostKeySeconds ? [`HOST_KEY_SECONDS=${options.hostKeySeconds}`] : []),
    'python3',
    SESSION,
    INSTANCE,
  ];
  const front = spawn('python3', ['-c', FRONT, JSON.stringify(config), ...sessionCommand], { stdio: [connection, 'pipe', 'pipe'], env });
  connection.destroy();
  const ended = collect(front).then(async ({ stdout, stderr }) => {
    collector.kill();
    await new Promise((resolve) => (collector.exitCode === null ? collector.once('exit', resolve) : resolve(null)));
    let report: { status: number | null; sent_back: string; keys: string[]; container_left: boolean };
    try {
      report = JSON.parse(stdout);
    } catch {
      throw new Error(`the front stand-in failed:\n${stdout}\n${stderr}`);
    }
    const calls = path.join(dockerDir, 'calls');
    const output = path.join(dockerDir, `${container}.out`);
    return {
      status: report.status,
      sentBack: report.sent_back,
      keys: report.keys,
      log: stderr,
      dockerCalls: fs.existsSync(calls)
        ? fs
            .readFileSync(calls, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as string[])
        : [],
      containerOutput: fs.existsSync(output) ? fs.readFileSync(output, 'utf8') : '',
      containerLeft: report.container_left,
      audit: fs.existsSync(auditFile)
        ? fs
            .readFileSync(auditFile, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [],
    };
  });
  return {
    client,
    clientPort,
    container,
    sessionDir: path.join(sessionsDir, container),
    keysSessionDir: path.join(keysSessionsDir, container),
    record: path.join(unitsDir, INSTANCE),
    ended,
  };
}

/** Everything the client reads until the connection closes, and whether it closed in time. */
export function readAll(client: net.Socket, timeoutMs: number): Promise<{ data: string; closed: boolean; ms: number }> {
  const started = Date.now();
  let data = '';
  client.on('data', (d) => (data += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ data, closed: false, ms: Date.now() - started }), timeoutMs);
    client.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closed: true, ms: Date.now() - started });
    });
  });
}
