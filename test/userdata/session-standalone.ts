/**
 * Runs the host's real `session` program for one TCP connection on loopback, without systemd and
 * without docker:
 * - the real with-settings (its lib.sh path pointed at this tree) gives session its settings and
 *   the fixed names of lib.sh; a few of them are then pointed into a scratch folder (sessions dir,
 *   key lookup socket, host key) or shortened (HANDOFF_SECONDS, HOST_KEY_SECONDS);
 * - a Python stand-in for the front holds the accepted connection and hands it to session over a
 *   unix socket pair as stdin/stdout (SCM_RIGHTS and the JSON address, as front does; front's
 *   connection is non-blocking, this one blocking, which sshd does not mind as it sets its own),
 *   and answers the key lookup socket (OK to every request, recorded);
 * - `docker` on PATH is a stand-in: `docker run` starts the worker's receive-connection (or nothing)
 *   on the session directory that the real docker would bind-mount, with a command in place of the
 *   entrypoint and sshd; `docker container inspect` tells whether that process runs, `docker rm -f`
 *   kills it. So session's own listener, hand-off (two descriptors in one SCM_RIGHTS message),
 *   host key FIFO, log reading and end line all run for real; the e2e suite runs them with docker.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { HOST_DIR, writeFile } from './userdata-tree';

export const SESSION = path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion/session');
const LIBEXEC = path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion');
/** A unit instance name as systemd makes it for a unix socket connection: number, peer pid, peer uid. */
export const INSTANCE = '7-4242-0';
export const KEY_TEXT = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key, only its bytes matter here\n-----END OPENSSH PRIVATE KEY-----\n';

// The front's part, and the key lookup service's main socket. argv: keys socket, session command.
const FRONT = String.raw`import json, os, socket, subprocess, sys, threading
keys = socket.socket(socket.AF_UNIX)
keys.bind(sys.argv[1])
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
            peer.sendall(b"OK\n")
threading.Thread(target=serve_keys, daemon=True).start()
connection = socket.socket(fileno=0)  # the accepted client connection
front, unit = socket.socketpair()
session = subprocess.Popen(sys.argv[2:], stdin=unit, stdout=unit)
unit.close()
client, local = connection.getpeername(), connection.getsockname()
about = {"client_address": client[0], "client_port": client[1], "local_port": local[1]}
socket.send_fds(front, [json.dumps(about).encode()], [connection.fileno()])
connection.close()  # as front: no copy of the connection stays here
sent_back = b""
while True:  # front counts the session as over when this connection ends
    data = front.recv(4096)
    if not data:
        break
    sent_back += data
status = session.wait()
print(json.dumps({"status": status, "sent_back": sent_back.decode(), "keys": requests}))
`;

// docker's stand-in. Its calls go to $FAKE_DOCKER_DIR/calls, one JSON argv a line.
const DOCKER = String.raw`#!/usr/bin/env python3
import json, os, signal, subprocess, sys, time
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
if args[0] == "run":
    name = args[args.index("--name") + 1]
    mounts = {}
    for option, value in zip(args, args[1:]):
        if option == "--mount":
            fields = dict(f.split("=", 1) for f in value.split(",") if "=" in f)
            mounts[fields["dst"]] = fields["src"]
    handoff_dir = mounts[os.environ["CONTAINER_HANDOFF_DIR"]]
    time.sleep(float(os.environ.get("FAKE_DOCKER_RUN_SECONDS") or "0"))
    receiver = json.loads(os.environ.get("FAKE_RECEIVER") or "null")
    if receiver:
        socket_path = os.path.join(handoff_dir, os.environ["HANDOFF_SOCKET_NAME"])
        with open(os.path.join(state, name + ".out"), "wb") as out:
            container = subprocess.Popen(receiver + [socket_path] + json.loads(os.environ["FAKE_COMMAND"]),
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                                         env=dict(os.environ, FAKE_HANDOFF_DIR=handoff_dir))
        with open(os.path.join(state, name + ".pid"), "w") as f:
            f.write(str(container.pid))
    sys.exit(0)
if args[:2] == ["container", "inspect"]:
    sys.exit(0 if running(args[2]) else 1)
if args[:2] == ["rm", "-f"]:
    if running(args[2]):
        with open(os.path.join(state, args[2] + ".pid")) as f:
            os.killpg(int(f.read()), signal.SIGKILL)
    sys.exit(0)
sys.exit(f"docker stand-in: unexpected call {args}")
`;

export interface SessionOptions {
  /** receive-connection's command line, without its socket and command; none: no container connects */
  receiver?: string[];
  /** what receive-connection execs in place of the entrypoint and sshd (FAKE_HANDOFF_DIR in its environment) */
  command?: string[];
  /** the host key's bytes; KEY_TEXT when not given */
  hostKey?: string;
  dockerRunSeconds?: number;
  handoffSeconds?: number;
  hostKeySeconds?: number;
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
  /** session's directory for this session (gone once it ended), from its start line */
  sessionDir: string;
  container: string;
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
 * Accepts one TCP connection on loopback and runs session with it (this process keeps no copy);
 * returns the client's end and the session's end.
 */
export async function runSession(dir: string, options: SessionOptions): Promise<{ client: net.Socket; clientPort: number; ended: Promise<SessionEnd> }> {
  const { withSettings, bin, envFile, hostKey } = prepare(dir, options.hostKey ?? KEY_TEXT);
  const dockerDir = path.join(dir, 'docker');
  fs.mkdirSync(dockerDir);
  const sessionsDir = path.join(dir, 'sessions');
  const keysSocket = path.join(dir, 'keys.sock');
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const connection = await accepted;
  const clientPort = connection.remotePort!;
  server.close();
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    BASTION_ENV_FILE: envFile,
    FAKE_DOCKER_DIR: dockerDir,
    FAKE_DOCKER_RUN_SECONDS: String(options.dockerRunSeconds ?? 0),
    FAKE_RECEIVER: options.receiver ? JSON.stringify(options.receiver) : '',
    FAKE_COMMAND: JSON.stringify(options.command ?? ['true']),
  };
  // lib.sh sets the fixed names: the ones pointed elsewhere are set after it, as env arguments.
  const sessionCommand = [
    withSettings, 'env',
    `SESSIONS_DIR=${sessionsDir}`, `KEYS_SOCKET=${keysSocket}`, `HOST_KEY=${hostKey}`,
    ...(options.handoffSeconds ? [`HANDOFF_SECONDS=${options.handoffSeconds}`] : []),
    ...(options.hostKeySeconds ? [`HOST_KEY_SECONDS=${options.hostKeySeconds}`] : []),
    'python3', SESSION, INSTANCE,
  ];
  const front = spawn('python3', ['-c', FRONT, keysSocket, ...sessionCommand], { stdio: [connection, 'pipe', 'pipe'], env });
  connection.destroy();
  const ended = collect(front).then(({ stdout, stderr }) => {
    let report: { status: number | null; sent_back: string; keys: string[] };
    try {
      report = JSON.parse(stdout);
    } catch {
      throw new Error(`the front stand-in failed:\n${stdout}\n${stderr}`);
    }
    const start = /session start client=\S+ container=(ssh-bastion-[0-9a-f]+)\n/.exec(stderr);
    const container = start?.[1] ?? '';
    const calls = path.join(dockerDir, 'calls');
    const output = path.join(dockerDir, `${container}.out`);
    return {
      status: report.status,
      sentBack: report.sent_back,
      keys: report.keys,
      log: stderr,
      dockerCalls: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]) : [],
      containerOutput: container && fs.existsSync(output) ? fs.readFileSync(output, 'utf8') : '',
      sessionDir: path.join(sessionsDir, container),
      container,
    };
  });
  return { client, clientPort, ended };
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
