// systemd-analyze verify on every unit of userdata/host/etc/systemd/system, inside a scratch root
// laid out like a host: userdata/host, this machine's system units, and stand-ins for the
// programs that the host's packages provide. It must print nothing: some bad values only warn.
import * as fs from 'fs';
import * as path from 'path';
import { HOST_DIR, run, temporaryDir, writeFile } from './userdata-tree';

const UNIT_DIR = 'etc/systemd/system';
const UNIT_SUFFIXES = ['.service', '.socket', '.timer', '.path', '.target', '.mount'];
/** An accepted connection's instance name, as systemd makes it: number, local and remote address. */
const CONNECTION_INSTANCE = '1-127.0.0.1:22-127.0.0.1:5000';
/** The same for a unix socket (ListenStream=/path): number, peer's pid and uid. */
const UNIX_CONNECTION_INSTANCE = '1-4242-0';
/** Programs the bastion itself installs: they must come from userdata/host, never be stood in for. */
const MODULE_PREFIXES = ['/usr/local/', '/etc/ssh-bastion/', '/opt/ssh-bastion/'];
/** Installed on hosts by the cloud-config's `packages`, not on this machine. */
const PACKAGE_PROGRAMS = ['/usr/bin/docker'];
const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** One `systemd-analyze verify` call: a socket with its service, or a unit on its own. */
interface VerifyGroup {
  readonly name: string;
  readonly args: readonly string[];
}

function unitNames(root: string): string[] {
  const dir = path.join(root, UNIT_DIR);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && UNIT_SUFFIXES.some((s) => e.name.endsWith(s)))
    .map((e) => e.name)
    .sort();
}

function setting(unitText: string, key: string): string | undefined {
  const match = new RegExp(`^\\s*${key}\\s*=\\s*(.*?)\\s*$`, 'm').exec(unitText);
  return match?.[1];
}

/**
 * Sockets go with the service they start: `X@.service` instantiated under an accepted
 * connection's name when Accept=yes, else `X.service` (or Service=). Templates that no socket
 * starts get a plain instance name.
 */
function verifyGroups(root: string): VerifyGroup[] {
  const names = unitNames(root);
  const file = (name: string) => path.join(root, UNIT_DIR, name);
  const claimed = new Set<string>();
  const groups: VerifyGroup[] = [];
  for (const socket of names.filter((n) => n.endsWith('.socket'))) {
    const text = fs.readFileSync(file(socket), 'utf8');
    const base = socket.slice(0, -'.socket'.length);
    const accept = /^(yes|true|on|1)$/i.test(setting(text, 'Accept') ?? 'no');
    const service = setting(text, 'Service') ?? (accept ? `${base}@.service` : `${base}.service`);
    claimed.add(service);
    const instance = (setting(text, 'ListenStream') ?? '').startsWith('/') ? UNIX_CONNECTION_INSTANCE : CONNECTION_INSTANCE;
    const serviceArg = accept ? `${file(service)}:${base}@${instance}.service` : file(service);
    groups.push({ name: `${socket} with ${service}`, args: [file(socket), serviceArg] });
  }
  for (const unit of names.filter((n) => !n.endsWith('.socket') && !claimed.has(n))) {
    const arg = unit.includes('@.') ? `${file(unit)}:${unit.replace('@.', '@1.')}` : file(unit);
    groups.push({ name: unit, args: [arg] });
  }
  return groups;
}

/** The programs that Exec*= lines of the units (drop-ins included) start. */
function referencedPrograms(root: string): string[] {
  const programs = new Set<string>();
  const unitDir = path.join(root, UNIT_DIR);
  const files = fs.existsSync(unitDir) ? (fs.readdirSync(unitDir, { recursive: true }) as string[]) : [];
  for (const rel of files) {
    const full = path.join(unitDir, rel);
    if (!fs.statSync(full).isFile()) continue;
    for (const match of fs.readFileSync(full, 'utf8').matchAll(/^\s*Exec\w+\s*=\s*[-@:+!]*(\S+)/gm)) {
      programs.add(match[1]);
    }
  }
  return [...programs];
}

/** Where a program is on this machine, or undefined. */
function onThisMachine(program: string): string | undefined {
  const candidates = program.startsWith('/') ? [program] : SEARCH_PATH.map((dir) => path.join(dir, program));
  return candidates.find((candidate) => {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A scratch root: the files of `hostDir`, system units, and stand-ins for packaged programs. */
function layOutRoot(hostDir: string, root: string): void {
  fs.cpSync(hostDir, root, { recursive: true });
  fs.cpSync('/usr/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'), { recursive: true });
  for (const program of referencedPrograms(root)) {
    if (MODULE_PREFIXES.some((prefix) => program.startsWith(prefix))) continue;
    const standIn = PACKAGE_PROGRAMS.includes(program) ? program : onThisMachine(program);
    if (standIn) writeFile(path.join(root, standIn), '#!/bin/sh\n', 0o755);
  }
}

function verify(root: string, args: readonly string[]) {
  return run('systemd-analyze', ['verify', '--man=no', `--root=${root}`, ...args], { cwd: root });
}

describe('systemd units of userdata/host', () => {
  const scratch = temporaryDir('units-root');
  layOutRoot(HOST_DIR, scratch.dir);
  afterAll(() => scratch.remove());
  const groups = verifyGroups(scratch.dir);

  test('include the service port with its front, and the session socket with its per-connection template', () => {
    expect(groups.map((g) => g.name)).toEqual(
      expect.arrayContaining(['ssh-bastion-front.socket with ssh-bastion-front.service', 'ssh-bastion.socket with ssh-bastion@.service']),
    );
  });

  test.each(groups.map((g) => [g.name, g]))('%s: systemd-analyze verify prints nothing', (_, group) => {
    const result = verify(scratch.dir, group.args);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('the unit check itself', () => {
  test('fails when a unit has an unknown key or starts a missing program', () => {
    // GIVEN
    const fixture = temporaryDir('units-broken');
    const host = path.join(fixture.dir, 'host');
    const root = path.join(fixture.dir, 'root');
    try {
      writeFile(path.join(host, UNIT_DIR, 'broken.socket'), '[Socket]\nListenStream=5000\nAccept=yes\nMaxConnection=5\n');
      writeFile(
        path.join(host, UNIT_DIR, 'broken@.service'),
        '[Service]\nExecStart=/usr/local/libexec/ssh-bastion/missing %i\nStandardInput=socket\n',
      );
      layOutRoot(host, root);

      // WHEN
      const [group] = verifyGroups(root);
      const result = verify(root, group.args);

      // THEN
      expect(result.output).toContain("Unknown key 'MaxConnection' in section [Socket]");
      expect(result.output).toContain(
        `broken@${CONNECTION_INSTANCE}.service: Command /usr/local/libexec/ssh-bastion/missing is not executable`,
      );
    } finally {
      fixture.remove();
    }
  });
});
