/**
 * IAM -> Linux name mapping as USERS returns it, against real IAM users in moto: every
 * occurrence of + = , @ is replaced, case and '.' are kept, and names the container could not
 * or must not create are refused with one log line each (IAM user and reason).
 */
import { FaultProxy } from '../helpers/fault-proxy';
import { fakeSshPublicKey, MotoServer } from '../helpers/moto';
import { KeysDaemon } from './daemon';

jest.setTimeout(60000);

/** IAM name -> expected Linux name, or a refusal reason. */
const CASES: [string, string | { refused: RegExp }][] = [
  ['alice@example.com', 'aliceatexample.com'],
  // every character twice: exactly 32 characters after mapping
  ['a+b=c,d@e+f=g', 'aplusbequalccommadateplusfequalg'],
  ['Bob.Smith', 'Bob.Smith'],
  ['_svc-deploy', '_svc-deploy'],
  ['+plus', 'plusplus'],
  ['@home', 'athome'],
  ['x'.repeat(32), 'x'.repeat(32)],
  ['w'.repeat(28) + '@b', 'w'.repeat(28) + 'atb'],
  ['y'.repeat(33), { refused: /reason=name-too-long linux=y{33} length=33$/ }],
  // 32 IAM characters that grow to 33 by the mapping
  ['z'.repeat(26) + '@b.com', { refused: /reason=name-too-long linux=z{26}atb\.com length=33$/ }],
  ['7eleven', { refused: /reason=invalid-linux-name linux=7eleven$/ }],
  ['.hidden', { refused: /reason=invalid-linux-name linux=\.hidden$/ }],
  ['-dash', { refused: /reason=invalid-linux-name linux=-dash$/ }],
  ['root', { refused: /reason=reserved-name linux=root$/ }],
  ['sudo', { refused: /reason=reserved-name linux=sudo$/ }],
  ['jo+e', { refused: /reason=name-collision linux=jopluse with=jopluse$/ }],
  ['jopluse', { refused: /reason=name-collision linux=jopluse with=jo\+e$/ }],
];

let moto: MotoServer;
let proxy: FaultProxy;
let daemon: KeysDaemon;

beforeAll(async () => {
  moto = await MotoServer.start();
  await moto.seedUsers(CASES.map(([iam]) => ({ name: iam, keys: [fakeSshPublicKey(iam)] })));
  proxy = await FaultProxy.start(moto.endpoint);
  daemon = await KeysDaemon.start({ env: moto.awsEnv(undefined, proxy.endpoint) });
});

afterAll(async () => {
  await daemon?.stop();
  await proxy?.stop();
  await moto?.stop();
});

test('USERS returns exactly the usable names, every occurrence mapped', async () => {
  const expected = CASES.filter(([, v]) => typeof v === 'string').map(([, v]) => v as string);
  const users = await daemon.users();
  expect(users).toEqual([...expected].sort());
  for (const u of users) expect(u).toMatch(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/);
});

test('each refused IAM user is logged once with its reason', async () => {
  await daemon.users();
  for (const [iam, v] of CASES) {
    if (typeof v === 'string') continue;
    const escaped = iam.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const lines = daemon.logLines(new RegExp(`^ssh-bastion-keys: user refused iam_user=${escaped} `));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(v.refused);
  }
  expect(daemon.logLines(/user refused/)).toHaveLength(CASES.filter(([, v]) => typeof v !== 'string').length);
});

test('later refreshes do not repeat the refusal lines', async () => {
  const noCache = await KeysDaemon.start({ env: { ...moto.awsEnv(undefined, proxy.endpoint), BASTION_USERS_CACHE_SECONDS: '0' } });
  try {
    proxy.clear();
    await noCache.users();
    await noCache.users();
    await noCache.users();
    expect(proxy.countActions()).toEqual({ ListUsers: 3 });
    expect(noCache.logLines(/users refreshed/)).toHaveLength(3);
    expect(noCache.logLines(/user refused/)).toHaveLength(CASES.filter(([, v]) => typeof v !== 'string').length);
  } finally {
    await noCache.stop();
  }
});

test('KEYS maps back to the right IAM user; refused names get nothing and cost no IAM call', async () => {
  await daemon.users();
  for (const [iam, v] of CASES) {
    proxy.clear();
    if (typeof v === 'string') {
      const keys = await daemon.keys(v, `names-${v}`);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(new RegExp(` ${iam.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      expect(proxy.requests.map((r) => r.params.get('UserName'))).toEqual([iam, iam]);
    } else if (/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(iam)) {
      expect(await daemon.keys(iam, `names-refused-${iam}`)).toEqual([]);
      expect(proxy.requests).toHaveLength(0);
    }
  }
});
