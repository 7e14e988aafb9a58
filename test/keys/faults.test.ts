/**
 * Failure behaviour against real faults: the fault proxy between the daemon and moto answers
 * Throttling, 500, 503 or never answers; the daemon must fail closed within its bound, log one
 * line, stay alive and serve the next request normally. Also: the concurrency bound, 50
 * concurrent logins, and malformed requests rejected without any IAM call.
 */
import { FaultProxy } from '../helpers/fault-proxy';
import { fakeSshPublicKey, MotoServer } from '../helpers/moto';
import { KeysDaemon } from './daemon';

jest.setTimeout(60000);

const GROUP = 'ops';
const USERS = 60;
const name = (i: number): string => `dev${i}`;

let moto: MotoServer;
let proxy: FaultProxy;
let daemon: KeysDaemon;
const keys: string[] = [];

beforeAll(async () => {
  moto = await MotoServer.start();
  for (let i = 0; i < USERS; i++) keys.push(fakeSshPublicKey(name(i)));
  await moto.seedUsers(keys.map((k, i) => ({ name: name(i), groups: [GROUP], keys: [k] })));
  proxy = await FaultProxy.start(moto.endpoint);
  // the rate limit (its own test below) must not decide these tests
  daemon = await KeysDaemon.start({
    // refusals are summarised every 0.1 s here, so each test finds its count soon after
    env: {
      ...moto.awsEnv(undefined, proxy.endpoint),
      BASTION_ALLOWED_IAM_GROUPS: GROUP,
      BASTION_KEYS_LOOKUP_BURST: '1000',
      BASTION_KEYS_REFUSAL_LOG_SECONDS: '0.1',
    },
  });
  expect(await daemon.users()).toHaveLength(USERS);
});

afterEach(() => proxy.clearFaults());

afterAll(async () => {
  await daemon?.stop();
  await proxy?.stop();
  await moto?.stop();
});

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started };
}

test.each([
  ['throttle', 'Throttling'],
  ['http500', 'ServiceFailure'],
  ['http503', 'ServiceUnavailable'],
] as const)('%s on every attempt: that login fails closed, the next one succeeds', async (fault, code) => {
  proxy.clear();
  proxy.inject(fault, 3); // = BASTION_IAM_MAX_ATTEMPTS (default 3)
  const failed = await timed(() => daemon.keys('dev1', `${fault}-1`));
  expect(failed.value).toEqual([]);
  expect(failed.ms).toBeLessThan(10000);
  // bounded retries: exactly 3 attempts of the first call, nothing after it
  expect(proxy.requests.map((r) => `${r.action}:${r.fault}`)).toEqual([
    `ListGroupsForUser:${fault}`,
    `ListGroupsForUser:${fault}`,
    `ListGroupsForUser:${fault}`,
  ]);
  await daemon.waitForLog(new RegExp(`^ssh-bastion-keys: keys lookup failed for user=dev1: ${code} iam_user=dev1 session=${fault}-1 `));
  // the same session keeps failing (sshd's repeated calls) without new IAM calls
  expect(await daemon.keys('dev1', `${fault}-1`)).toEqual([]);
  expect(proxy.requests).toHaveLength(3);

  expect(await daemon.keys('dev1', `${fault}-2`)).toEqual([keys[1]]);
  expect(daemon.alive()).toBe(true);
});

test('one throttled attempt is retried and the login succeeds', async () => {
  proxy.clear();
  proxy.inject('throttle', 1, { action: 'GetSSHPublicKey' });
  expect(await daemon.keys('dev2', 'retry-1')).toEqual([keys[2]]);
  expect(proxy.actions()).toEqual(['ListGroupsForUser', 'ListSSHPublicKeys', 'GetSSHPublicKey', 'GetSSHPublicKey']);
  await daemon.waitForLog(/keys user=dev2 iam_user=dev2 keys=1 calls=3 attempts=4 session=retry-1/);
});

test('a hanging IAM endpoint fails the login within 10 s; the daemon keeps serving', async () => {
  proxy.clear();
  proxy.inject('hang', 100);
  const hung = await timed(() => daemon.keys('dev3', 'hang-1'));
  expect(hung.value).toEqual([]);
  expect(hung.ms).toBeGreaterThan(2000); // it really waited for IAM ...
  expect(hung.ms).toBeLessThan(10000); // ... but not longer than the bound
  await daemon.waitForLog(/keys lookup failed for user=dev3: Timeout iam_user=dev3 session=hang-1/);
  expect(daemon.alive()).toBe(true);
  proxy.clearFaults();
  expect(await daemon.keys('dev3', 'hang-2')).toEqual([keys[3]]);
  expect(await daemon.users()).toHaveLength(USERS);
});

test('50 concurrent logins of different users all get their own keys; at most 8 IAM calls at once', async () => {
  // its own daemon with generous time bounds: this is about correctness under concurrency, and a
  // saturated machine must not turn it into a timeout test
  const busy = await KeysDaemon.start({
    env: {
      ...moto.awsEnv(undefined, proxy.endpoint),
      BASTION_ALLOWED_IAM_GROUPS: GROUP,
      BASTION_IAM_READ_TIMEOUT_SECONDS: '30',
      BASTION_KEYS_REQUEST_TIMEOUT_SECONDS: '50',
    },
  });
  await busy.users();
  // an attempt abandoned by the hang test may still be open until its read timeout
  for (let waited = 0; proxy.inFlight > 0 && waited < 15000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  proxy.clear();
  proxy.delayMs = 40;
  try {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => busy.keys(name(i + 10), `conc-${i}`, { timeoutMs: 55000 })));
    answers.forEach((a, i) => expect(a).toEqual([keys[i + 10]]));
    expect(proxy.upstreamErrors).toBe(0);
    expect(proxy.requests.filter((r) => /^dev(1\d|[2-5]\d)$/.test(r.params.get('UserName') ?? ''))).toHaveLength(150);
    expect(proxy.maxInFlight).toBe(8);
    expect(busy.logs()).not.toMatch(/failed|RateLimited/);
  } finally {
    proxy.delayMs = 0;
    await busy.stop();
  }
});

test('a flood of fresh sessions is rate limited: the excess fails closed without IAM calls', async () => {
  const limited = await KeysDaemon.start({
    env: {
      ...moto.awsEnv(undefined, proxy.endpoint),
      BASTION_ALLOWED_IAM_GROUPS: GROUP,
      BASTION_KEYS_LOOKUPS_PER_SECOND: '0.25',
      BASTION_KEYS_LOOKUP_BURST: '5',
      BASTION_KEYS_REFUSAL_LOG_SECONDS: '0.1',
    },
  });
  try {
    await limited.users();
    proxy.clear();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => limited.keys('dev7', `flood-${i}`)));
    expect(Date.now() - started).toBeLessThan(4000); // so no token was added to the burst yet
    expect(answers.filter((a) => a.length === 1)).toHaveLength(5);
    expect(answers.filter((a) => a.length === 0)).toHaveLength(15);
    expect(proxy.countActions()).toEqual({ ListGroupsForUser: 5, ListSSHPublicKeys: 5, GetSSHPublicKey: 5 });
    // counted in summary lines, not one line each
    await limited.waitForRefusals('RateLimited', 15);
    expect(limited.refusals('RateLimited')).toBe(15);
    expect(limited.logLines(/RateLimited/).length).toBeLessThan(15);
    // sshd's repeated calls within an admitted session need no token
    const admitted = answers.findIndex((a) => a.length === 1);
    expect(await limited.keys('dev7', `flood-${admitted}`)).toEqual([keys[7]]);
    await new Promise((r) => setTimeout(r, 4100));
    expect(await limited.keys('dev7', 'after-flood')).toEqual([keys[7]]);
  } finally {
    await limited.stop();
  }
});

test.each([
  ['bad characters in the user name', 'KEYS de;v1 s1\n', 'bad-user-name'],
  ['a user name over 32 characters', `KEYS ${'a'.repeat(33)} s1\n`, 'bad-user-name'],
  ['a space in the session id', 'KEYS dev1 s 1\n', 'unknown-request'],
  ['an overlong line', `KEYS dev1 ${'x'.repeat(400)}\n`, 'too-long'],
  ['an overlong line without newline', 'K'.repeat(5000), 'too-long'],
  ['an unknown verb', 'DELETE dev1 s1\n', 'unknown-request'],
  ['lower-case users', 'users\n', 'unknown-request'],
  ['two lines', 'USERS\nUSERS\n', 'more-than-one-line'],
  ['non-ASCII bytes', Buffer.from('KEYS d\u00e9v1 s1\n', 'utf8'), 'not-ascii'],
  ['a closed connection without newline', 'KEYS dev1', 'no-newline'],
])('rejects %s without IAM calls', async (_what, raw, reason) => {
  proxy.clear();
  const before = daemon.refusals(reason);
  expect(await daemon.request(raw, { end: true })).toBe('');
  await daemon.waitForRefusals(reason, before + 1);
  expect(daemon.refusals(reason)).toBe(before + 1);
  expect(proxy.requests).toHaveLength(0);
});

test('at most 128 connections are served at once; the rest are closed at once, and the daemon goes on', async () => {
  proxy.clear();
  const before = daemon.refusals('too-many-connections');
  // 140 clients that connect and say nothing: 128 hold a slot until their 2 s read limit
  const silent = Array.from({ length: 140 }, () => daemon.request('', { timeoutMs: 10000 }));
  await daemon.waitForRefusals('too-many-connections', before + 1);
  const answers = await Promise.all(silent);
  expect(answers.every((a) => a === '')).toBe(true);
  await daemon.waitForRefusals('too-many-connections', before + 12);
  expect(daemon.refusals('too-many-connections') - before).toBe(12);
  expect(await daemon.keys('dev8', 'after-connection-flood')).toEqual([keys[8]]);
  expect(daemon.alive()).toBe(true);
});

test('a request without newline is dropped after 2 s', async () => {
  proxy.clear();
  const slow = await timed(() => daemon.request('KEYS dev1 s1'));
  expect(slow.value).toBe('');
  expect(slow.ms).toBeGreaterThanOrEqual(1900);
  expect(slow.ms).toBeLessThan(6000);
  await daemon.waitForRefusals('no-newline-in-time', 1);
  expect(proxy.requests).toHaveLength(0);
});

test('the daemon survived everything', () => {
  expect(daemon.alive()).toBe(true);
  expect(daemon.logs()).not.toMatch(/RateLimited/);
  expect(daemon.logs()).not.toMatch(/Traceback/);
});
