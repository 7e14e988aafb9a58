/**
 * USERS caching/pagination and the IAM call budget of one login, against a real moto_server with
 * a 150-member group inside an account of 1,050 users. Every IAM request is counted by the fault
 * proxy (which also emulates AWS pagination, 100 items per page) and, independently, by moto's
 * request recorder.
 */
import { FaultProxy } from '../helpers/fault-proxy';
import { fakeSshPublicKey, MotoServer, SeedUser } from '../helpers/moto';
import { KeysDaemon } from './daemon';

jest.setTimeout(60000);

const GROUP = 'bastion-users';
const MEMBERS = 150;
const TOTAL = 1050;

/** member i: 'user<i>@example.com' with 1 key (every 10th has 2, every 25th none). */
function seedUsers(): SeedUser[] {
  const users: SeedUser[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const name = i < MEMBERS ? `user${i}@example.com` : `other${i}`;
    const keyCount = i >= MEMBERS ? (i % 100 === 0 ? 1 : 0) : i % 25 === 0 ? 0 : i % 10 === 0 ? 2 : 1;
    users.push({
      name,
      groups: i < MEMBERS ? [GROUP] : [],
      keys: Array.from({ length: keyCount }, (_, k) => fakeSshPublicKey(`${name}-${k}`)),
    });
  }
  return users;
}

let moto: MotoServer;
let proxy: FaultProxy;
let grouped: KeysDaemon;
let everyone: KeysDaemon;
let seeded: SeedUser[];
let seedMs = 0;

beforeAll(async () => {
  moto = await MotoServer.start();
  const started = Date.now();
  seeded = seedUsers();
  await moto.seedUsers(seeded);
  seedMs = Date.now() - started;
  proxy = await FaultProxy.start(moto.endpoint, { pageSize: 100 });
  // Generous timeouts: moto answers every emulated page with all 1,050 users, which is slow on
  // a loaded 2-core machine; a read timeout would add retries and break the exact counts.
  // (Failure timing is what faults.test.ts tests, with the defaults.)
  const env = {
    ...moto.awsEnv(undefined, proxy.endpoint),
    BASTION_IAM_READ_TIMEOUT_SECONDS: '20',
    BASTION_KEYS_REQUEST_TIMEOUT_SECONDS: '45',
  };
  [grouped, everyone] = await Promise.all([
    KeysDaemon.start({ env: { ...env, BASTION_ALLOWED_IAM_GROUPS: GROUP } }),
    KeysDaemon.start({ env }),
  ]);
  // ~10 s on an idle 2-core machine; minutes when the machine is saturated (hence the hook timeout)
  console.log(`seeded ${TOTAL} users, ${MEMBERS} in ${GROUP}, in ${seedMs} ms`);
}, 240000);

afterAll(async () => {
  await grouped?.stop();
  await everyone?.stop();
  await proxy?.stop();
  await moto?.stop();
});

afterEach(() => {
  expect(grouped?.alive()).toBe(true);
  expect(everyone?.alive()).toBe(true);
});

const keysOf = (i: number): string[] => [...(seeded[i].keys ?? [])];

test('USERS of a 150-member group follows GetGroup pages; a concurrent flood costs one refresh', async () => {
  proxy.clear();
  const answers = await Promise.all(Array.from({ length: 100 }, () => grouped.users()));
  const expected = Array.from({ length: MEMBERS }, (_, i) => `user${i}atexample.com`).sort();
  for (const a of answers) expect(a).toEqual(expected);
  // single flight: 100 concurrent cold requests -> exactly one refresh of 2 pages (100 + 50)
  expect(proxy.countActions()).toEqual({ GetGroup: 2 });
  expect(proxy.requests[1].params.get('Marker')).toBe('100');

  proxy.clear();
  await Promise.all(Array.from({ length: 200 }, () => grouped.users()));
  expect(proxy.requests).toHaveLength(0);
});

test('USERS of an account with 1,050 users follows ListUsers pages', async () => {
  proxy.clear();
  await moto.startRecording();
  const answers = await Promise.all(Array.from({ length: 50 }, () => everyone.users({ timeoutMs: 60000 })));
  for (const a of answers) expect(a).toHaveLength(TOTAL);
  expect(answers[0]).toContain('user7atexample.com');
  expect(answers[0]).toContain('other1049');
  expect(proxy.countActions()).toEqual({ ListUsers: Math.ceil(TOTAL / 100) });
  expect(proxy.requests.map((r) => r.params.get('Marker') ?? '-')).toEqual([
    '-',
    '100',
    '200',
    '300',
    '400',
    '500',
    '600',
    '700',
    '800',
    '900',
    '1000',
  ]);
  // moto itself is asked once: the proxy cuts the later pages from that answer
  expect(await moto.recordedActions()).toEqual(['ListUsers']);
  expect(everyone.logLines(/users refreshed users=1050 refused=0 calls=11/)).toHaveLength(1);
});

test('USERS is refreshed once the cache is older than BASTION_USERS_CACHE_SECONDS', async () => {
  const short = await KeysDaemon.start({
    env: {
      ...moto.awsEnv(undefined, proxy.endpoint),
      BASTION_ALLOWED_IAM_GROUPS: GROUP,
      BASTION_USERS_CACHE_SECONDS: '1',
      BASTION_IAM_READ_TIMEOUT_SECONDS: '20',
      BASTION_KEYS_REQUEST_TIMEOUT_SECONDS: '45',
    },
  });
  try {
    proxy.clear();
    await short.users();
    await short.users();
    expect(proxy.countActions()).toEqual({ GetGroup: 2 });
    await new Promise((r) => setTimeout(r, 1200));
    await short.users();
    expect(proxy.countActions()).toEqual({ GetGroup: 4 });
  } finally {
    await short.stop();
  }
});

/** One login as sshd does it: one KEYS per offered key plus one for the signature. */
async function login(
  daemon: KeysDaemon,
  linux: string,
  session: string,
  sshdCalls = 3,
): Promise<{ keys: string[]; calls: Record<string, number> }> {
  proxy.clear();
  const keys = await daemon.keys(linux, session);
  for (let i = 1; i < sshdCalls; i++) expect(await daemon.keys(linux, session)).toEqual(keys);
  return { keys, calls: proxy.countActions() };
}

const total = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);

test.each([
  [1, 1],
  [10, 2],
  [25, 0],
  [149, 1],
])('group login for user%i (%i active keys) costs <= 3 + keys IAM calls', async (i, keyCount) => {
  await grouped.users();
  await moto.startRecording();
  const { keys, calls } = await login(grouped, `user${i}atexample.com`, `budget-g-${i}`);
  // moto's own recorder, an independent counter, saw exactly what the proxy saw
  expect(await moto.recordedActions()).toEqual(proxy.actions());
  expect(keys.sort()).toEqual(keysOf(i).sort());
  expect(keys).toHaveLength(keyCount);
  expect(calls).toEqual({
    ListGroupsForUser: 1,
    ListSSHPublicKeys: 1,
    ...(keyCount ? { GetSSHPublicKey: keyCount } : {}),
  });
  expect(total(calls)).toBeLessThanOrEqual(3 + keyCount);
  expect(
    grouped.logLines(new RegExp(`keys user=user${i}atexample.com iam_user=user${i}@example.com keys=${keyCount} calls=${2 + keyCount} `)),
  ).toHaveLength(1);
});

test.each([
  [10, 2],
  [600, 1],
  [601, 0],
])('account-wide login for #%i (%i active keys) costs <= 3 + keys IAM calls with 1,050 users', async (i, keyCount) => {
  await everyone.users();
  const linux = i < MEMBERS ? `user${i}atexample.com` : `other${i}`;
  const { keys, calls } = await login(everyone, linux, `budget-e-${i}`);
  expect(keys.sort()).toEqual(keysOf(i).sort());
  expect(calls).toEqual({ ListSSHPublicKeys: 1, ...(keyCount ? { GetSSHPublicKey: keyCount } : {}) });
  expect(total(calls)).toBeLessThanOrEqual(3 + keyCount);
});

test('a session answer is reused only for BASTION_KEYS_SESSION_CACHE_SECONDS', async () => {
  const short = await KeysDaemon.start({
    env: {
      ...moto.awsEnv(undefined, proxy.endpoint),
      BASTION_ALLOWED_IAM_GROUPS: GROUP,
      BASTION_KEYS_SESSION_CACHE_SECONDS: '1',
      BASTION_IAM_READ_TIMEOUT_SECONDS: '20',
    },
  });
  try {
    await short.users();
    proxy.clear();
    expect(await short.keys('user1atexample.com', 'ttl-1')).toEqual(keysOf(1));
    expect(await short.keys('user1atexample.com', 'ttl-1')).toEqual(keysOf(1));
    expect(proxy.requests).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await short.keys('user1atexample.com', 'ttl-1')).toEqual(keysOf(1));
    expect(proxy.requests).toHaveLength(6);
  } finally {
    await short.stop();
  }
});

test('a user outside the group or unknown costs no IAM call', async () => {
  await grouped.users();
  expect((await login(grouped, 'other600', 'outsider')).calls).toEqual({});
  expect((await login(grouped, 'nobody-here', 'unknown')).keys).toEqual([]);
  expect(proxy.requests).toHaveLength(0);
});

test('keys are live per session: a new key works and a deactivated key stops on the next connection', async () => {
  await grouped.users();
  const user = 'user3@example.com';
  const linux = 'user3atexample.com';
  expect(await grouped.keys(linux, 'live-1')).toEqual(keysOf(3));

  const added = fakeSshPublicKey('added-later');
  const addedId = await moto.uploadSshPublicKey(user, added);
  // the running session keeps its answer (sshd's repeated calls within one authentication) ...
  expect(await grouped.keys(linux, 'live-1')).toEqual(keysOf(3));
  // ... and the very next connection sees the new key
  expect((await grouped.keys(linux, 'live-2')).sort()).toEqual([...keysOf(3), added].sort());

  await moto.updateSshPublicKey(user, addedId, 'Inactive');
  proxy.clear();
  expect(await grouped.keys(linux, 'live-3')).toEqual(keysOf(3));
  // the inactive key is listed but never fetched
  expect(proxy.countActions()).toEqual({ ListGroupsForUser: 1, ListSSHPublicKeys: 1, GetSSHPublicKey: 1 });
});

test('a user removed from the group is refused on the next connection although USERS is still cached', async () => {
  await grouped.users();
  const user = 'user4@example.com';
  const linux = 'user4atexample.com';
  expect(await grouped.keys(linux, 'member-1')).toEqual(keysOf(4));
  await moto.removeUserFromGroup(GROUP, user);
  expect(await grouped.users()).toContain(linux); // cache still fresh
  proxy.clear();
  expect(await grouped.keys(linux, 'member-2')).toEqual([]);
  expect(proxy.countActions()).toEqual({ ListGroupsForUser: 1 });
  await grouped.waitForLog(/keys user=user4atexample.com iam_user=user4@example.com refused=not-in-allowed-groups .*session=member-2/);
});

test('a deleted IAM user is refused (NoSuchEntity) on the next connection', async () => {
  await everyone.users();
  await moto.deleteUser('other999');
  expect(await everyone.keys('other999', 'deleted-1')).toEqual([]);
  await everyone.waitForLog(/keys user=other999 iam_user=other999 refused=no-such-iam-user/);
});

test('log lines never carry key material', () => {
  for (const daemon of [grouped, everyone]) {
    expect(daemon.logs()).not.toMatch(/AAAA/);
    expect(daemon.logs()).not.toMatch(/ssh-ed25519/);
  }
});
