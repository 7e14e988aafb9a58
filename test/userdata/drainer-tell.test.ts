// The drainer's line on the terminals of a leaving host's sessions (userdata/host/.../drainer,
// tell()), driven directly with the system Python in a mount namespace of its own with a fresh
// devpts instance, so that the only terminal in sight is the test's. docker is asked for the
// container's pid and the terminals are opened under /proc/<pid>/root; a container that ends in
// between frees its pid, and a host process may take it: the line must then go nowhere, not to
// the host's terminals. The test stands in docker's answers (the two moments of that race cannot
// be timed with a real container) and uses its own pid as the host process that took the pid.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { loadHostProgram } from '../helpers/host-program';

const DRAINER = path.resolve(__dirname, '../../userdata/host/usr/local/libexec/ssh-bastion/drainer');
const SCRIPT = String.raw`import json, os, select, subprocess, sys
${loadHostProgram('drainer', 'm')}
master, slave = os.openpty()

def docker_says(*pids):
    answers = list(pids)
    def run(args, **kwargs):
        assert args[:2] == ["docker", "inspect"], args
        return subprocess.CompletedProcess(args, 0, stdout=f"{answers.pop(0) if answers else 0}\n", stderr="")
    return run

def terminal_output():
    text = b""
    while select.select([master], [], [], 0.2)[0]:
        text += os.read(master, 4096)
    return text.decode()

out = {"terminals": sorted(os.listdir("/dev/pts"))}
subprocess.run = docker_says(os.getpid(), os.getpid())
out["running"] = [m.tell("ssh-bastion-x", "the host is leaving"), terminal_output()]
subprocess.run = docker_says(os.getpid(), 0)
out["reused"] = [m.tell("ssh-bastion-x", "the host is leaving"), terminal_output()]
print(json.dumps(out))
`;

function inOwnTerminals(): { terminals: string[]; running: [number, string]; reused: [number, string] } {
  const command =
    'mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts && mount --bind /dev/pts/ptmx /dev/ptmx && ' +
    'exec /usr/bin/python3 -I -B -c "$0" "$1"';
  return JSON.parse(
    execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', command, SCRIPT, DRAINER], { encoding: 'utf8' }),
  );
}

describe("drainer: the drain line on sessions' terminals", () => {
  const out = inOwnTerminals();

  test('the namespace shows the test its own terminal only', () => {
    expect(out.terminals).toEqual(['0', 'ptmx']);
  });

  test('a container that still runs with the pid docker gave: its terminal gets the line', () => {
    expect(out.running[0]).toBe(1);
    expect(out.running[1]).toContain('*** the host is leaving ***');
  });

  test('a container that ended after docker gave its pid, taken by a host process since: no terminal gets the line', () => {
    expect(out.reused).toEqual([0, '']);
  });
});
