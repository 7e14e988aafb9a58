// Key lookup isolation, end to end: one test host (test/helpers/harness.ts) booted by the real
// run-sections, with the fault proxy (test/helpers/fault-proxy.ts) between the real key lookup
// service and moto's IAM, so every IAM call is seen with the user it names.
//
// A plain user (no sudo) logged in to one session attacks the key lookup service from inside it,
// as far as it can reach: it opens and holds as many connections as it can, and sends KEYS
// requests for other allowed users with a fresh session id each, without pause. Meanwhile another
// user logs in 10 times, one after the other. All 10 logins must succeed, and the IAM calls and
// the service's log lines the attacker causes must stay under fixed bounds, whatever the speed of
// the machine: the bounds are counts, not rates.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Settings, testSettings, waitFor } from '../helpers/harness';
import { FaultyBastionHost } from './load-helpers';
import { log, logEachTest } from './log';

jest.setTimeout(120_000);
logEachTest();

const SERVICE_PORT = 22;
const GROUP = 'bastion-users';
const VICTIM = 'victim';
const ATTACKER = 'mallet';
// Allowed users with a key each: a live lookup for any of them costs 3 IAM calls.
const TARGETS = Array.from({ length: 5 }, (_, i) => `target${i}`);
const LOGINS = 10;
// What the attacker may cause at most, whatever it sends and for however long: the IAM calls of a
// session's own lookup budget (BASTION_KEYS_SESSION_LOOKUPS, 3 live lookups of 3 calls each)
// and a few summary lines of the service's journal.
const ATTACKER_IAM_CALLS_BOUND = 9;
const ATTACKER_LOG_LINES_BOUND = 20;
const STOP_FILE = '/tmp/stop-attack';
const RUNNING_FILE = '/tmp/attack-running';

const SETTINGS: Settings = testSettings({
  BASTION_SERVICE_PORT: String(SERVICE_PORT),
  BASTION_SESSION_MAX_SECONDS: '900',
  BASTION_ALLOWED_IAM_GROUPS: GROUP,
  BASTION_HOSTNAME_PREFIX: 'isolation-bastion',
});

/**
 * The attack, run by the attacker as itself (no sudo) inside its session. One process holds up to
 * 300 connections to the key socket its container sees, replacing those the service closes; the
 * other sends `KEYS <target> <fresh id>` in a loop. Both stop once STOP_FILE exists and print what
 * they did. RUNNING_FILE appears once both have made their first attempts.
 */
const ATTACK = String.raw`
use strict; use warnings; use IO::Socket::UNIX; use IO::Select;
$SIG{PIPE} = 'IGNORE';
my ($stop, $running, @targets) = @ARGV;
my $path = '/run/ssh-bastion/keys/keys.sock';
sub pause { select(undef, undef, undef, $_[0]) }
sub connect_socket { IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) }
sub mark { my $file; open($file, '>', $_[0]) and close($file) }
my $holder = fork // die "fork: $!";
if ($holder == 0) {
  my ($opened, $failed, $most, @held) = (0, 0, 0);
  until (-e $stop) {
    # a held connection that reads as ready has been closed by the service
    @held = grep { !IO::Select->new($_)->can_read(0) } @held;
    while (@held < 300) {
      my $socket = connect_socket() or do { $failed++; last };
      push @held, $socket;
      $opened++;
    }
    $most = @held if @held > $most;
    mark("$running.holder");
    pause(0.05);
  }
  print "holder opened=$opened failed=$failed most_held=$most\n";
  exit 0;
}
my ($sent, $answered, $failed, $i) = (0, 0, 0, 0);
until (-e $stop) {
  mark("$running.sender") if $i++ == 20;
  my $socket = connect_socket();
  unless ($socket) { $failed++; pause(0.05); next }
  print {$socket} "KEYS $targets[$i % @targets] fresh-$$-$i\n";
  $sent++;
  my $answer = do { local $/; <$socket> };
  $answered++ if defined $answer && $answer ne '';
  close $socket;
}
waitpid $holder, 0;
print "sender sent=$sent answered=$answered failed=$failed\n";
`;

let host: FaultyBastionHost;
const keys: Record<string, string> = {};

function keyPair(dir: string, name: string): { file: string; publicKey: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { file, publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim() };
}

beforeAll(async () => {
  host = new FaultyBastionHost({ ...SETTINGS });
  await host.prepare();
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  for (const name of [VICTIM, ATTACKER, ...TARGETS]) {
    const pair = keyPair(keyDir, name);
    keys[name] = pair.file;
    keys[`${name}.pub`] = pair.publicKey;
  }
  await host.moto!.seedUsers([VICTIM, ATTACKER, ...TARGETS].map((name) => ({ name, groups: [GROUP], keys: [keys[`${name}.pub`]] })));
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
  log(`boot (run-sections, image build included): ${boot.ms} ms`);
}, 300_000);

afterAll(async () => {
  await host?.stop();
});

test(`a plain user attacking the key lookup from its session: another user logs in ${LOGINS} of ${LOGINS} times, the attacker's IAM calls and log lines stay bounded`, async () => {
  const script = Buffer.from(ATTACK).toString('base64');
  const attack = host.sshWithin({
    user: ATTACKER,
    key: keys[ATTACKER],
    command: `echo ${script} | base64 -d >/tmp/attack.pl && exec perl /tmp/attack.pl ${STOP_FILE} ${RUNNING_FILE} ${TARGETS.join(' ')}`,
    timeoutMs: 900_000,
  });
  const accepted = new RegExp(`: (ssh-bastion-\\S+): Accepted publickey for ${ATTACKER} from`);
  await waitFor(() => accepted.test(host.journal()), 60_000, "the attacker's login");
  const container = accepted.exec(host.journal())![1];
  // Both halves of the attack have made their first attempts: the victim's logins start under attack.
  await waitFor(
    async () =>
      (await host.run(['docker', 'exec', container, 'test', '-e', `${RUNNING_FILE}.holder`, '-a', '-e', `${RUNNING_FILE}.sender`]))
        .status === 0,
    60_000,
    'the attack running',
  );
  host.proxy.clear();
  const logBefore = host.daemonLog().length;

  const results = [];
  for (let i = 0; i < LOGINS; i++) {
    const login = await host.sshWithin({ user: VICTIM, key: keys[VICTIM], command: 'id -un', timeoutMs: 120_000 });
    log(`victim login ${i + 1}: status ${login.status} in ${login.ms} ms ${login.stderr.trim()}`);
    results.push(login);
  }
  // The attack ran during every login: it is still running now.
  expect((await host.run(['docker', 'exec', container, 'test', '-e', `${RUNNING_FILE}.sender`])).status).toBe(0);
  const attackerCalls = host.proxy.requests.filter((r) => {
    const user = r.params.get('UserName');
    return user !== null && user !== VICTIM;
  });
  const attackerLines = host
    .daemonLog()
    .slice(logBefore)
    .split('\n')
    .filter((l) => l !== '' && !/ user=victim /.test(l) && !/ users refreshed /.test(l));
  await host.run(['docker', 'exec', container, 'touch', STOP_FILE]);
  const attackResult = await attack;
  const succeeded = results.filter((r) => r.status === 0 && r.stdout === `${VICTIM}\n`).length;
  log(
    `victim logins succeeded: ${succeeded} of ${LOGINS}; IAM calls caused by the attacker: ${attackerCalls.length}; ` +
      `service log lines caused by the attacker: ${attackerLines.length}; attacker: ${attackResult.stdout.trim().replace(/\n/g, '; ')}`,
  );
  log(`first attacker lines of the service's log:\n${attackerLines.slice(0, 10).join('\n')}`);

  expect(succeeded).toBe(LOGINS);
  expect(attackerCalls.length).toBeLessThanOrEqual(ATTACKER_IAM_CALLS_BOUND);
  expect(attackerLines.length).toBeLessThanOrEqual(ATTACKER_LOG_LINES_BOUND);
  // The attack did run: its sender tried (connected or not) many times.
  expect(attackResult.stdout).toMatch(/^sender sent=\d+ answered=\d+ failed=\d+$/m);
  const [, sent, , failed] = /sender sent=(\d+) answered=(\d+) failed=(\d+)/.exec(attackResult.stdout)!;
  expect(Number(sent) + Number(failed)).toBeGreaterThan(20);
  // Every session's socket is gone with its session: no socket is left, and the only directories
  // left are the (empty) ones of the containers kept ready.
  await host.waitForNoContainers(60_000);
  const sockets = async (): Promise<string> =>
    (await host.must(['bash', '-c', 'find /run/ssh-bastion/keys/sessions -mindepth 1 ! -type d 2>/dev/null || true'])).trim();
  await waitFor(async () => (await sockets()) === '', 30_000, 'no session socket left');
  const dirs = (await host.must(['bash', '-c', 'ls -A /run/ssh-bastion/keys/sessions 2>/dev/null || true'])).split(/\s+/).filter(Boolean);
  const ready = await host.readyContainers();
  expect(dirs.filter((d) => !ready.includes(d))).toEqual([]);
}, 1_200_000);
