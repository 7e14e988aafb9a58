/**
 * USERS when IAM fails, against real faults from the fault proxy in front of moto: the last good
 * list is served on a failed refresh; with no list ever loaded the answer is empty (and KEYS
 * fails closed) until IAM answers again, without hammering IAM in between.
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
const keys: string[] = [];

beforeAll(async () => {
  moto = await MotoServer.start();
  for (let i = 0; i < USERS; i++) keys.push(fakeSshPublicKey(name(i)));
  await moto.seedUsers(keys.map((k, i) => ({ name: name(i), groups: [GROUP], keys: [k] })));
  proxy = await FaultProxy.start(moto.endpoint);
});

afterEach(() => proxy.clearFaults());

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe('USERS when IAM fails', () => {
  let short: KeysDaemon;
  beforeEach(async () => {
    // a 3 s cache, so also a 3 s pause after a failed refresh (min(5 s, cache))
    short = await KeysDaemon.start({
      env: { ...moto.awsEnv(undefined, proxy.endpoint), BASTION_ALLOWED_IAM_GROUPS: GROUP, BASTION_USERS_CACHE_SECONDS: '3' },
    });
  });
  afterEach(async () => {
    expect(short.alive()).toBe(true);
    await short.stop();
  });

  test('keeps serving the last good list and recovers', async () => {
    const good = await short.users();
    expect(good).toHaveLength(USERS);
    await new Promise((r) => setTimeout(r, 3100));
    proxy.inject('throttle', 3);
    expect(await short.users()).toEqual(good);
    await short.waitForLog(/users refresh failed: Throttling; serving last good list users=60 age=\d+s/);
    // logins go on meanwhile
    expect(await short.keys('dev5', 'during-outage')).toEqual([keys[5]]);
    await new Promise((r) => setTimeout(r, 3100));
    proxy.clear();
    expect(await short.users()).toEqual(good);
    expect(proxy.countActions()).toEqual({ GetGroup: 1 });
  });

  test('answers empty while no list was ever loaded, then loads one', async () => {
    proxy.inject('http503', 3);
    expect(await short.users()).toEqual([]);
    await short.waitForLog(/users refresh failed: ServiceUnavailable; no list loaded yet, answering empty/);
    // within the retry pause no new IAM call is made, and KEYS fails closed
    proxy.clear();
    expect(await short.keys('dev5', 'no-list')).toEqual([]);
    expect(await short.users()).toEqual([]);
    expect(proxy.requests).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 3100));
    expect(await short.users()).toHaveLength(USERS);
  });
});
