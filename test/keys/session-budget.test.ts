/**
 * Per-session channels and budgets of the key lookup service, against a real moto behind the
 * fault proxy (which sees every IAM call): the host opens a socket per session; a session is the
 * socket a request arrives on, whatever the request says; each session has its own small budget of
 * connections, requests and live lookups, one live lookup at a time; after its first non-empty
 * answer only that answer is served, a few times; its socket is gone once the host closes it; and
 * refusals reach the log as summary lines, not one line each.
 *
 * No assertion depends on timing: every bound is a count, and held connections are held by an IAM
 * call the proxy keeps hanging, not by a race.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { FaultProxy } from '../helpers/fault-proxy';
import { fakeSshPublicKey, MotoServer } from '../helpers/moto';
import { KeysDaemon } from './daemon';

jest.setTimeout(60000);

const GROUP = 'ops';
const WITH_KEY = ['alice', 'bob', 'carol'];
// Allowed users without keys: a live lookup for one costs 2 IAM calls and answers empty.
const NO_KEY = Array.from({ length: 6 }, (_, i) => `nokey${i}`);
const SESSION_LOOKUPS = 3; // the default of BASTION_KEYS_SESSION_LOOKUPS
const SESSION_CONNECTIONS = 4; // the default of BASTION_KEYS_SESSION_CONNECTIONS
const SESSION_REQUESTS = 32; // the default of BASTION_KEYS_SESSION_REQUESTS

let moto: MotoServer;
let proxy: FaultProxy;
let daemon: KeysDaemon;
const keys: Record<string, string> = {};

beforeAll(async () => {
  moto = await MotoServer.start();
  for (const name of WITH_KEY) keys[name] = fakeSshPublicKey(name);
  await moto.seedUsers([
    ...WITH_KEY.map((name) => ({ name, groups: [GROUP], keys: [keys[name]] })),
    ...NO_KEY.map((name) => ({ name, groups: [GROUP] })),
  ]);
  proxy = await FaultProxy.start(moto.endpoint);
  daemon = await KeysDaemon.start({
    env: {
      ...moto.awsEnv(undefined, proxy.endpoint),
      BASTION_ALLOWED_IAM_GROUPS: GROUP,
      BASTION_KEYS_REFUSAL_LOG_SECONDS: '0.1',
      // a hung IAM call holds its request until the proxy lets go, however slow the machine
      BASTION_KEYS_REQUEST_TIMEOUT_SECONDS: '60',
      BASTION_IAM_READ_TIMEOUT_SECONDS: '60',
      BASTION_IAM_MAX_ATTEMPTS: '1',
    },
  });
  expect(await daemon.users()).toHaveLength(WITH_KEY.length + NO_KEY.length);
});

afterEach(() => proxy.clearFaults());

afterAll(async () => {
  await daemon?.stop();
  await proxy?.stop();
  await moto?.stop();
});

/** IAM calls naming `user`. */
function callsFor(user: string): number {
  return proxy.requests.filter((r) => r.params.get('UserName') === user).length;
}

test("OPEN makes the session's own socket; a request on it is that session's, whatever session id it sends", async () => {
  const socketPath = await daemon.openSession('c-open');
  expect(socketPath).toBe(path.join(path.dirname(daemon.socketPath), 'sessions', 'c-open', 'keys.sock'));
  expect(fs.statSync(socketPath).mode & 0o777).toBe(0o666);
  expect(fs.statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o755);
  expect(await daemon.users({ socketPath })).toContain('alice');
  // the id sent is ignored: the log and the cache use the socket's session
  expect(await daemon.keys('alice', 'forged-id', { socketPath })).toEqual([keys.alice]);
  expect(daemon.logLines(/keys user=alice iam_user=alice keys=1 calls=3 .*session=c-open /)).toHaveLength(1);
  expect(daemon.logs()).not.toMatch(/forged-id/);
  // OPEN again answers the same socket; CLOSE removes it
  expect(await daemon.openSession('c-open')).toBe(socketPath);
  expect(await daemon.closeSession('c-open')).toBe('OK\n');
  expect(fs.existsSync(path.dirname(socketPath))).toBe(false);
});

test('OPEN and CLOSE are refused on a session socket, and OPEN refuses names that are not a plain directory name', async () => {
  const socketPath = await daemon.openSession('c-control');
  try {
    proxy.clear();
    const before = daemon.refusals('unknown-request');
    expect(await daemon.request('OPEN c-other\n', { socketPath })).toBe('');
    expect(await daemon.request('CLOSE c-control\n', { socketPath })).toBe('');
    await daemon.waitForRefusals('unknown-request', before + 2);
    expect(fs.existsSync(path.join(path.dirname(daemon.socketPath), 'sessions', 'c-other'))).toBe(false);
    for (const bad of ['..', '.hidden', 'a/b', 'x'.repeat(129)]) {
      expect(await daemon.request(`OPEN ${bad}\n`)).toBe('');
    }
    expect(fs.readdirSync(path.join(path.dirname(daemon.socketPath), 'sessions')).sort()).toEqual(['c-control']);
    expect(proxy.requests).toHaveLength(0);
  } finally {
    await daemon.closeSession('c-control');
  }
});

test(`a session starts at most ${SESSION_LOOKUPS} live lookups; more cost no IAM call; another session is not affected`, async () => {
  const socketPath = await daemon.openSession('c-lookups');
  proxy.clear();
  const before = daemon.refusals('session-lookups');
  for (const name of NO_KEY) {
    expect(await daemon.keys(name, '', { socketPath })).toEqual([]);
  }
  // 2 calls (group check, key list) for each of the first three users, none for the rest
  expect(NO_KEY.map(callsFor)).toEqual([2, 2, 2, 0, 0, 0]);
  await daemon.waitForRefusals('session-lookups', before + NO_KEY.length - SESSION_LOOKUPS);
  expect(daemon.refusals('session-lookups') - before).toBe(NO_KEY.length - SESSION_LOOKUPS);
  // asked again, a refused user is refused again: counted in the summary, no line of its own
  expect(await daemon.keys(NO_KEY[3], '', { socketPath })).toEqual([]);
  await daemon.waitForRefusals('session-lookups', before + NO_KEY.length - SESSION_LOOKUPS + 1);
  expect(daemon.logLines(/user=nokey[345] /)).toEqual([]);
  // answers already given to this session are still served from its cache
  expect(await daemon.keys(NO_KEY[0], '', { socketPath })).toEqual([]);
  expect(callsFor(NO_KEY[0])).toBe(2);
  const other = await daemon.openSession('c-lookups-other');
  expect(await daemon.keys('bob', '', { socketPath: other })).toEqual([keys.bob]);
  await daemon.closeSession('c-lookups');
  await daemon.closeSession('c-lookups-other');
});

test("after a session's first non-empty answer only that answer is served, a few times, and no other user is looked up", async () => {
  const socketPath = await daemon.openSession('c-answered');
  proxy.clear();
  expect(await daemon.keys('carol', '', { socketPath })).toEqual([keys.carol]);
  expect(callsFor('carol')).toBe(3);
  // sshd's second call (the signature check) is served from that answer
  expect(await daemon.keys('carol', '', { socketPath })).toEqual([keys.carol]);
  // another user: refused without an IAM call, although the session's lookup budget is not spent
  const before = daemon.refusals('session-answered');
  expect(await daemon.keys('alice', '', { socketPath })).toEqual([]);
  expect(callsFor('alice')).toBe(0);
  // 4 requests in all after the answer; then nothing, not even the answer
  expect(await daemon.keys('carol', '', { socketPath })).toEqual([keys.carol]);
  expect(await daemon.keys('carol', '', { socketPath })).toEqual([keys.carol]);
  expect(await daemon.keys('carol', '', { socketPath })).toEqual([]);
  expect(await daemon.users({ socketPath })).toEqual([]);
  expect(callsFor('carol')).toBe(3);
  await daemon.waitForRefusals('session-answered', before + 3);
  expect(daemon.refusals('session-answered') - before).toBe(3);
  await daemon.closeSession('c-answered');
});

test(`a session is served ${SESSION_CONNECTIONS} connections at once and one live lookup at a time; other sessions are served meanwhile`, async () => {
  const held = await daemon.openSession('c-held');
  const other = await daemon.openSession('c-free');
  proxy.clear();
  proxy.inject('hang', 1, { action: 'ListGroupsForUser' });
  // four requests for alice share the one hung lookup, and hold the session's four connections
  const holding = Array.from({ length: SESSION_CONNECTIONS }, () => daemon.keys('alice', '', { socketPath: held, timeoutMs: 90000 }));
  await waitUntil(() => proxy.requests.length === 1, 'the hung lookup');
  const beforeBusy = daemon.refusals('session-busy');
  const beforeConnections = daemon.refusals('session-connections');
  // each connection is made after the four are queued; the service accepts in order, so it finds
  // the session's connections all taken
  expect(await daemon.keys('bob', '', { socketPath: held })).toEqual([]);
  await daemon.waitForRefusals('session-connections', beforeConnections + 1);
  // another session is served at once, its lookup on another IAM worker
  expect(await daemon.keys('bob', '', { socketPath: other })).toEqual([keys.bob]);
  // bob's calls are the other session's alone; the held session's bob was refused before any
  expect(callsFor('bob')).toBe(3);
  expect(daemon.refusals('session-busy')).toBe(beforeBusy);
  expect(callsFor('alice')).toBe(1);
  // closing the session answers its waiting requests at once (empty), the IAM call still hanging
  await daemon.closeSession('c-held');
  expect(await Promise.all(holding)).toEqual(Array.from({ length: SESSION_CONNECTIONS }, () => []));
  await daemon.closeSession('c-free');
});

test('one live lookup at a time: a session asking for a second user while its first lookup runs is refused', async () => {
  const socketPath = await daemon.openSession('c-busy');
  proxy.clear();
  proxy.inject('hang', 1, { action: 'ListGroupsForUser' });
  const first = daemon.keys('alice', '', { socketPath, timeoutMs: 90000 });
  await waitUntil(() => proxy.requests.length === 1, 'the hung lookup');
  const before = daemon.refusals('session-busy');
  expect(await daemon.keys('bob', '', { socketPath })).toEqual([]);
  await daemon.waitForRefusals('session-busy', before + 1);
  expect(callsFor('bob')).toBe(0);
  await daemon.closeSession('c-busy');
  expect(await first).toEqual([]);
});

test(`a session makes at most ${SESSION_REQUESTS} requests; the refusals are summarised, not logged one each`, async () => {
  const quiet = await KeysDaemon.start({
    env: {
      ...moto.awsEnv(undefined, proxy.endpoint),
      BASTION_ALLOWED_IAM_GROUPS: GROUP,
      // one summary when the daemon stops, whatever the speed of the machine
      BASTION_KEYS_REFUSAL_LOG_SECONDS: '3600',
    },
  });
  try {
    const socketPath = await quiet.openSession('c-flood');
    proxy.clear();
    for (let i = 0; i < SESSION_REQUESTS; i++) expect(await quiet.users({ socketPath })).toContain('alice');
    const linesBefore = quiet.logs().split('\n').length;
    for (let i = 0; i < 200; i++) {
      expect(await quiet.request(`KEYS nokey${i % NO_KEY.length} fresh-${i}\n`, { socketPath })).toBe('');
      expect(await quiet.request('GARBAGE\n', { socketPath })).toBe('');
    }
    expect(proxy.requests.filter((r) => r.params.get('UserName') !== null)).toHaveLength(0);
    // nothing written for 400 refusals until the interval is over (here: the stop)
    expect(quiet.logs().split('\n').length).toBe(linesBefore);
  } finally {
    await quiet.stop();
  }
  await quiet.waitForLog(/^ssh-bastion-keys: stopped/);
  expect(quiet.refusalLines()).toHaveLength(1);
  expect(quiet.refusalLines()[0]).toMatch(/ total=400 .*session-requests=200 .*unknown-request=200 sessions=1 busiest=c-flood:400$/);
});

test('a closed session socket is gone: a connection finds no socket, and requests still running get nothing more', async () => {
  const socketPath = await daemon.openSession('c-closed');
  expect(await daemon.keys('alice', '', { socketPath })).toEqual([keys.alice]);
  expect(await daemon.closeSession('c-closed')).toBe('OK\n');
  await expect(
    new Promise((resolve, reject) => {
      const sock = net.createConnection(socketPath);
      sock.on('connect', () => resolve('connected'));
      sock.on('error', reject);
    }),
  ).rejects.toMatchObject({ code: 'ENOENT' });
  // closing twice, or a session never opened, is fine
  expect(await daemon.closeSession('c-closed')).toBe('OK\n');
  expect(await daemon.closeSession('c-never')).toBe('OK\n');
});

test('the daemon survived everything', () => {
  expect(daemon.alive()).toBe(true);
  expect(daemon.logs()).not.toMatch(/Traceback|connection error/);
  expect(daemon.logs()).not.toMatch(/AAAA/);
});

async function waitUntil(check: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
