/**
 * iam-calls: IAM calls per login, counted by the fault proxy (test/helpers/fault-proxy.ts) that
 * sits between the key lookup daemon and moto, for allowed groups of 10, 100 and 1000 users,
 * beside the prior art's list-all design (1 + users + keys), whose calls are made for real
 * against the same moto through the same proxy.
 *
 * - daemon level: a login is what the container makes: USERS (entrypoint), then KEYS twice with
 *   one session id (sshd asks once per offered key and once more for the signature);
 * - cold = the USERS list is not cached (first login, or first after the 60 s TTL); warm = within it;
 * - flood: 30 logins of 30 different users within a minute (spaced and concurrent);
 * - ssh level: real ssh logins through the harness (socket → session → container → sshd), group
 *   of 100, counted with moto's own request recorder.
 * Target: at most 3 + the connecting user's keys, whatever the group size; a flood does not
 * multiply the USERS calls.
 */
import { FaultProxy } from '../test/helpers/fault-proxy';
import { fakeSshPublicKey, MotoServer, SeedUser, inParallel, xmlValues } from '../test/helpers/moto';
import { KeysDaemon } from '../test/keys/daemon';
import { bootHost, cleanup, machine, onCleanup, round, sleep, sshOptions, table, timeCommands } from './support/common';

const SIZES = (process.env.BENCH_GROUP_SIZES ?? '10,100,1000').split(',').map(Number);
const KEYS_OF_USER = 2;
const FLOOD = 30;

/** One AWS Query call through the proxy (like MotoServer.call, other endpoint). */
async function iamCall(endpoint: string, action: string, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ Action: action, Version: '2010-05-08', ...params });
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      'x-amz-date': '20260101T000000Z',
    },
    body: body.toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${action}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

/**
 * The prior art's login (section 1.11 of the prior-art notes): GetGroup (every page), then
 * ListSSHPublicKeys for every member, then GetSSHPublicKey for every active key of every member.
 */
async function listAllLogin(endpoint: string, group: string): Promise<void> {
  const members: string[] = [];
  let marker: string | undefined;
  do {
    const xml = await iamCall(endpoint, 'GetGroup', { GroupName: group, MaxItems: '1000', ...(marker ? { Marker: marker } : {}) });
    members.push(...xmlValues(xml, 'UserName'));
    marker = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? xmlValues(xml, 'Marker')[0] : undefined;
  } while (marker);
  await inParallel(members, 16, async (user) => {
    const xml = await iamCall(endpoint, 'ListSSHPublicKeys', { UserName: user });
    const ids = xmlValues(xml, 'SSHPublicKeyId');
    const statuses = xmlValues(xml, 'Status');
    for (let i = 0; i < ids.length; i++) {
      if (statuses[i] === 'Active') await iamCall(endpoint, 'GetSSHPublicKey', { UserName: user, SSHPublicKeyId: ids[i], Encoding: 'SSH' });
    }
  });
}

function count(proxy: FaultProxy): { total: number; byAction: Record<string, number> } {
  return { total: proxy.requests.length, byAction: proxy.countActions() };
}

const fmt = (byAction: Record<string, number>) =>
  Object.entries(byAction)
    .map(([a, n]) => `${a}×${n}`)
    .join(' ');

async function daemonLevel(): Promise<{ rows: Record<string, unknown>[]; flood: Record<string, unknown> }> {
  const moto = await MotoServer.start();
  onCleanup(() => moto.stop());
  const seed: SeedUser[] = [];
  for (const size of SIZES) {
    for (let i = 0; i < size; i++) {
      const name = `g${size}-user${i}`;
      const keys = Array.from({ length: i === 0 ? KEYS_OF_USER : 1 }, (_, k) => fakeSshPublicKey(`${name}-${k}`));
      seed.push({ name, groups: [`group${size}`], keys });
    }
  }
  const seeded = Date.now();
  await moto.seedUsers(seed);
  console.log(`seeded ${seed.length} IAM users in groups of ${SIZES.join(', ')} in ${Date.now() - seeded} ms`);
  // IAM returns at most 1000 items per page; moto returns everything on one page.
  const proxy = await FaultProxy.start(moto.endpoint, { pageSize: 1000 });
  onCleanup(() => proxy.stop());
  const env = {
    ...moto.awsEnv(undefined, proxy.endpoint),
    BASTION_IAM_READ_TIMEOUT_SECONDS: '30',
    BASTION_KEYS_REQUEST_TIMEOUT_SECONDS: '60',
  };

  const rows: Record<string, unknown>[] = [];
  let session = 0;
  const login = async (daemon: KeysDaemon, user: string): Promise<number> => {
    const id = `bench-${++session}`;
    await daemon.users();
    const first = await daemon.keys(user, id);
    await daemon.keys(user, id);
    return first.length;
  };
  let floodDaemon: KeysDaemon | undefined;
  for (const size of SIZES) {
    const daemon = await KeysDaemon.start({ env: { ...env, BASTION_ALLOWED_IAM_GROUPS: `group${size}` } });
    onCleanup(() => daemon.stop());
    const user = `g${size}-user0`;
    proxy.clear();
    const got = await login(daemon, user);
    if (got !== KEYS_OF_USER) throw new Error(`${user}: ${got} keys, expected ${KEYS_OF_USER}`);
    const cold = count(proxy);
    proxy.clear();
    await login(daemon, user);
    const warm = count(proxy);
    proxy.clear();
    await listAllLogin(proxy.endpoint, `group${size}`);
    const listAll = count(proxy);
    rows.push({
      users: size,
      keys_of_user: KEYS_OF_USER,
      calls_per_login: cold.total,
      calls_per_login_warm: warm.total,
      list_all_design: listAll.total,
      cold: cold.byAction,
      warm: warm.byAction,
      list_all: listAll.byAction,
    });
    if (size === 100) floodDaemon = daemon;
    else await daemon.stop();
  }
  console.log('\ndaemon level: one login = USERS + KEYS ×2 (same session id), counted by the proxy');
  table(
    [
      'users in group',
      'keys of user',
      'cold (USERS refresh)',
      'warm (USERS cached)',
      'list-all design',
      'target 3+K',
      'cold calls',
      'list-all calls',
    ],
    rows.map((r) => [
      r.users as number,
      KEYS_OF_USER,
      r.calls_per_login as number,
      r.calls_per_login_warm as number,
      r.list_all_design as number,
      3 + KEYS_OF_USER,
      fmt(r.cold as Record<string, number>),
      fmt(r.list_all as Record<string, number>),
    ]),
  );

  // flood: 30 logins of 30 different users of the 100-user group, spaced over ~15 s, then 30 at once
  const flood: Record<string, unknown> = {};
  if (floodDaemon) {
    const daemon = floodDaemon;
    await sleep(0);
    proxy.clear();
    for (let i = 0; i < FLOOD; i++) {
      await login(daemon, `g100-user${i}`);
      await sleep(500);
    }
    const spaced = count(proxy);
    proxy.clear();
    await Promise.all(Array.from({ length: FLOOD }, (_, i) => login(daemon, `g100-user${i + FLOOD}`)));
    const burst = count(proxy);
    for (const [label, c] of [
      ['spaced', spaced],
      ['concurrent', burst],
    ] as const) {
      flood[label] = {
        logins: FLOOD,
        calls: c.total,
        users_listing_calls: c.byAction.GetGroup ?? 0,
        users_listing_per_login: round((c.byAction.GetGroup ?? 0) / FLOOD, 3),
        calls_per_login: round(c.total / FLOOD, 2),
        by_action: c.byAction,
      };
    }
    console.log(`\nflood: ${FLOOD} logins of different users (1 key each) of the 100-user group`);
    table(
      ['pattern', 'logins', 'IAM calls', 'USERS-listing calls', 'per login', 'calls'],
      (['spaced', 'concurrent'] as const).map((l) => {
        const f = flood[l] as Record<string, unknown>;
        return [
          l === 'spaced' ? 'one every ~0.5 s' : 'all at once',
          FLOOD,
          f.calls as number,
          f.users_listing_calls as number,
          f.calls_per_login as number,
          fmt(f.by_action as Record<string, number>),
        ];
      }),
    );
    await daemon.stop();
  }
  return { rows, flood };
}

async function sshLevel(): Promise<Record<string, unknown>> {
  const USERS = 3;
  const { host, users } = await bootHost({ members: 100, withKeys: USERS });
  const moto = host.moto!;
  const login = (u: (typeof users)[number]) => `ssh ${sshOptions(u.keyFiles[0], 22).join(' ')} ${u.name}@127.0.0.1 true`;
  await timeCommands(host, { warm: login(users[0]) }, 1);
  await moto.startRecording();
  const started = Date.now();
  // 30 real logins of 3 users, 3 at a time
  const script = Array.from({ length: FLOOD / USERS }, () => users.map((u) => `( ${login(u)} ) &`).join(' ') + ' wait').join('\n');
  await host.must(['bash', '-c', `set -e\n${script}`], { timeoutMs: 300_000 });
  const seconds = (Date.now() - started) / 1000;
  const actions = await moto.recordedActions();
  const byAction: Record<string, number> = {};
  for (const a of actions) byAction[a] = (byAction[a] ?? 0) + 1;
  const accepted = (host.journal().match(/Accepted publickey for bench/g) ?? []).length;
  console.log(
    `\nssh level: ${FLOOD} real ssh logins (3 users, 1 key each, 3 at a time) in ${round(seconds, 1)} s, group of 100, counted by moto's recorder`,
  );
  table(
    ['logins', 'accepted', 'IAM calls', 'per login', 'USERS-listing calls', 'calls'],
    [[FLOOD, accepted, actions.length, round(actions.length / FLOOD, 2), byAction.GetGroup ?? 0, fmt(byAction)]],
  );
  return {
    logins: FLOOD,
    seconds: round(seconds, 1),
    calls: actions.length,
    calls_per_login: round(actions.length / FLOOD, 2),
    users_listing_calls: byAction.GetGroup ?? 0,
    by_action: byAction,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  try {
    const { rows, flood } = await daemonLevel();
    const ssh = process.env.BENCH_SKIP_SSH ? undefined : await sshLevel();
    const met = rows.every((r) => (r.calls_per_login as number) <= 3 + KEYS_OF_USER);
    console.log(`\ntarget (≤ 3 + K = ${3 + KEYS_OF_USER} calls per login at every group size): ${met ? 'met' : 'MISSED'}`);
    return {
      bench: 'iam-calls',
      rows: rows.map((r) => ({
        users: r.users,
        keys_of_user: r.keys_of_user,
        calls_per_login: r.calls_per_login,
        calls_per_login_warm: r.calls_per_login_warm,
        list_all_design: r.list_all_design,
      })),
      flood,
      ssh_level: ssh,
      met,
      machine: machine(),
    };
  } finally {
    await cleanup();
  }
}
