/**
 * npm run demo: a bastion host on this machine, without AWS, to try it as a user would.
 *
 * Boots the host runtime exactly as the end-to-end tests do (test/helpers/harness.ts): network
 * and mount namespaces of its own, a private dockerd, moto playing IAM, SSM and S3, the host
 * bundle fetched and checked by the real bootstrap. Creates the IAM user `demo` in the group
 * `bastion-users` with a fresh key, forwards 127.0.0.1:<port> of this machine to the host's
 * service port, prints the ssh command, and serves until Ctrl-C; then removes everything it made.
 *
 * Needs root and what `bash scripts/setup.sh` installs. Options (environment):
 *   SSHB_DEMO_PORT   port on this machine's loopback (default 2022)
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, Settings, testSettings } from '../test/helpers/harness';

const PORT = Number(process.env.SSHB_DEMO_PORT ?? 2022);
const SERVICE_PORT = 22;
const SETTINGS: Settings = testSettings({
  BASTION_SERVICE_PORT: String(SERVICE_PORT),
  BASTION_SESSION_MAX_SECONDS: '3600',
  BASTION_ALLOWED_IAM_GROUPS: 'bastion-users',
  BASTION_CONTAINER_CPUS: '1',
  // the product's default: the demo shows the bastion as deployed
  BASTION_NEW_CONNECTIONS_PER_MINUTE: '30',
  BASTION_HOSTNAME_PREFIX: 'demo-bastion',
});

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('npm run demo needs root (network and mount namespaces, dockerd)');
  const host = new BastionTestHost({ ...SETTINGS });
  const relays: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping: removing the sessions, dockerd, moto and the namespaces ...');
    for (const relay of relays) relay.kill('SIGTERM');
    await host.stop();
    say('done: nothing is left behind');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    say('preparing: namespaces, dockerd, moto (IAM, SSM, S3), the host bundle ... (about a minute)');
    await host.prepare();
    const key = path.join(host.dir, 'demo_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'demo', '-f', key]);
    const knownHosts = path.join(host.dir, 'known_hosts');
    await host.moto!.seedUsers([{ name: 'demo', groups: ['bastion-users'], keys: [fs.readFileSync(`${key}.pub`, 'utf8').trim()] }]);

    say('booting: the bootstrap fetches the bundle, then the sections run (the worker image build takes a while) ...');
    const boot = await host.boot();
    if (boot.status !== 0) throw new Error(`the host did not boot:\n${boot.stderr}`);
    const hostKey = host.readFile('/etc/ssh-bastion/host-keys/ssh_host_ed25519_key.pub').trim().split(' ').slice(0, 2).join(' ');
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${PORT} ${hostKey}\n`);

    // This machine's 127.0.0.1:PORT → a unix socket → the host's 127.0.0.1:SERVICE_PORT.
    const socket = path.join(host.dir, 'demo.sock');
    const inside = spawn(host.enter[0], [...host.enter.slice(1), 'socat', `UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${SERVICE_PORT}`], {
      stdio: 'ignore',
    });
    const outside = spawn('socat', [`TCP-LISTEN:${PORT},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socket}`], { stdio: 'ignore' });
    relays.push(inside, outside);

    say('');
    say(`ready. Log in as the IAM user "demo" (its key is ${key}):`);
    say('');
    say(`  ssh -i ${key} -o UserKnownHostsFile=${knownHosts} -p ${PORT} demo@127.0.0.1`);
    say('');
    say('Every connection gets its own container; try two at once, or a tunnel with -L.');
    say(`The host's session log: tail -f ${path.join(host.dir, 'journal.log')}`);
    say('Ctrl-C stops the demo and removes everything it made.');
    await new Promise(() => undefined);
  } catch (error) {
    process.stderr.write(`demo failed: ${(error as Error).message}\n`);
    await stop(1);
  }
}

void main();
