/**
 * Assume-role mode against a real moto_server: moto maps assumed-role credentials to the account
 * in the role ARN, so users that exist only in account 111111111111 are visible to the daemon
 * ONLY if it really makes its IAM calls with the credentials from sts:AssumeRole.
 */
import { FaultProxy } from '../helpers/fault-proxy';
import { AwsCredentials, fakeSshPublicKey, MotoServer } from '../helpers/moto';
import { KeysDaemon } from './daemon';

jest.setTimeout(60000);

const ROLE = 'arn:aws:iam::111111111111:role/bastion-key-lookup';
const GROUP = 'identity-ops';

let moto: MotoServer;
let proxy: FaultProxy;
let identity: AwsCredentials;
const carolKeys = [fakeSshPublicKey('carol-1'), fakeSshPublicKey('carol-2')];
const daveKey = fakeSshPublicKey('dave');

beforeAll(async () => {
  moto = await MotoServer.start();
  identity = await moto.assumeRole(ROLE, 'seeding');
  await moto.seedUsers(
    [{ name: 'carol', groups: [GROUP], keys: carolKeys }, { name: 'dave+ops', groups: [GROUP], keys: [daveKey] }, { name: 'erin' }],
    { credentials: identity },
  );
  await moto.seedUsers([{ name: 'decoy', groups: [GROUP], keys: [fakeSshPublicKey('decoy')] }]);
  proxy = await FaultProxy.start(moto.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

function start(extra: Record<string, string> = {}): Promise<KeysDaemon> {
  return KeysDaemon.start({
    env: { ...moto.awsEnv(undefined, proxy.endpoint), BASTION_ALLOWED_IAM_GROUPS: GROUP, BASTION_ASSUME_ROLE_ARN: ROLE, ...extra },
  });
}

test('without assume-role the daemon sees its own account only (the accounts really differ)', async () => {
  const own = await KeysDaemon.start({ env: { ...moto.awsEnv(undefined, proxy.endpoint), BASTION_ALLOWED_IAM_GROUPS: GROUP } });
  try {
    expect(await own.users()).toEqual(['decoy']);
    expect(await own.keys('carol', 'own-1')).toEqual([]);
  } finally {
    await own.stop();
  }
});

test('every IAM call uses the assumed-role credentials; AssumeRole happens once', async () => {
  const daemon = await start();
  try {
    proxy.clear();
    expect(await daemon.users()).toEqual(['carol', 'daveplusops']);
    expect((await daemon.keys('carol', 'ar-1')).sort()).toEqual([...carolKeys].sort());
    expect(await daemon.keys('daveplusops', 'ar-2')).toEqual([daveKey]);
    expect(await daemon.keys('decoy', 'ar-3')).toEqual([]);

    const [assume, ...iam] = proxy.requests;
    expect(assume.action).toBe('AssumeRole');
    expect(assume.service).toBe('sts');
    expect(assume.accessKeyId).toBe('testing'); // the host's own credentials, only for STS
    expect(assume.params.get('RoleArn')).toBe(ROLE);
    expect(assume.params.get('RoleSessionName')).toMatch(/^ssh-bastion-[\w+=,.@-]+$/);
    expect(assume.params.get('DurationSeconds')).toBe('3600');
    expect(iam.length).toBeGreaterThan(0);
    for (const r of iam) {
      expect(r.service).toBe('iam');
      expect(r.accessKeyId).not.toBe('testing');
      expect(r.accessKeyId).toBe(iam[0].accessKeyId);
    }
    expect(proxy.countActions().AssumeRole).toBe(1);

    // a login with cached role credentials: ListGroupsForUser + ListSSHPublicKeys + 1 key
    proxy.clear();
    expect(await daemon.keys('daveplusops', 'ar-4')).toEqual([daveKey]);
    expect(proxy.countActions()).toEqual({ ListGroupsForUser: 1, ListSSHPublicKeys: 1, GetSSHPublicKey: 1 });

    await daemon.waitForLog(new RegExp(`assumed role=${ROLE.replace(/[/]/g, '\\/')} session_name=ssh-bastion-\\S+ valid_for=3\\d\\d\\ds`));
    // credentials never reach the log
    expect(daemon.logs()).not.toContain(iam[0].accessKeyId);
    expect(daemon.logs()).not.toMatch(/SecretAccessKey|SessionToken|aws_secret/i);
  } finally {
    await daemon.stop();
  }
});

test('role credentials are renewed before they expire, not per login', async () => {
  // 900 s credentials renewed when less than 892 s are left: 8 s after they were issued
  const daemon = await start({ BASTION_ASSUME_ROLE_DURATION_SECONDS: '900', BASTION_ASSUME_ROLE_REFRESH_SECONDS: '892' });
  try {
    proxy.clear();
    await daemon.users();
    await daemon.keys('carol', 'renew-1');
    await daemon.keys('carol', 'renew-2');
    expect(proxy.countActions().AssumeRole).toBe(1);
    // the credentials' age counts from the AssumeRole answer (the proxy saw the request just before)
    const issued = proxy.requests.find((r) => r.action === 'AssumeRole')!.at;
    expect(Date.now() - issued).toBeLessThan(8000); // else the renewal may already have happened
    const firstKey = proxy.requests.find((r) => r.service === 'iam')!.accessKeyId;
    await new Promise((r) => setTimeout(r, Math.max(0, issued + 8300 - Date.now())));
    proxy.clear();
    expect((await daemon.keys('carol', 'renew-3')).sort()).toEqual([...carolKeys].sort());
    expect(proxy.countActions()).toEqual({ AssumeRole: 1, ListGroupsForUser: 1, ListSSHPublicKeys: 1, GetSSHPublicKey: 2 });
    // within the 3 + keys (+1 AssumeRole) budget
    expect(proxy.requests.length).toBeLessThanOrEqual(3 + 2 + 1);
    const renewedKey = proxy.requests.find((r) => r.service === 'iam')!.accessKeyId;
    expect(renewedKey).not.toBe(firstKey);
    expect(proxy.requests.find((r) => r.action === 'AssumeRole')!.params.get('DurationSeconds')).toBe('900');
  } finally {
    await daemon.stop();
  }
});

test('a failing AssumeRole fails that login closed; the next login assumes the role and succeeds', async () => {
  const daemon = await start({ BASTION_USERS_CACHE_SECONDS: '0' });
  try {
    proxy.clear();
    proxy.inject('throttle', 3, { action: 'AssumeRole' });
    expect(await daemon.users()).toEqual([]);
    await daemon.waitForLog(/users refresh failed: Throttling; no list loaded yet/);
    expect(await daemon.users()).toEqual(['carol', 'daveplusops']);
    expect(await daemon.keys('carol', 'after-sts-failure')).toHaveLength(2);
    expect(proxy.requests.filter((r) => r.action === 'AssumeRole').map((r) => r.fault ?? 'ok')).toEqual([
      'throttle',
      'throttle',
      'throttle',
      'ok',
    ]);
    expect(daemon.alive()).toBe(true);
  } finally {
    proxy.clearFaults();
    await daemon.stop();
  }
});
