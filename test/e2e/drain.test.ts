// End to end: the drainer (userdata/host/.../drainer) with real sessions. A test host booted by the
// real run-sections, its drainer started by setup-ready as on a host; AWS is moto with the lifecycle
// actions it lacks (test/helpers/moto-lifecycle.py), and the instance metadata service is the
// harness's fake IMDSv2, where the test says when the instance is leaving. Users are real OpenSSH
// clients with a terminal (ssh -tt) whose output the test reads.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BastionTestHost, Settings, testSettings, waitFor } from '../helpers/harness';
import { logEachTest } from './log';

jest.setTimeout(300_000);
logEachTest();

const GROUP = 'e2e-bastion-group';
const GROUP_PARAMETER = '/e2e/bastion/autoscaling-group';
const HOOK = 'ssh-bastion-drain';
const INTERVAL_SECONDS = 3;
const SETTINGS: Settings = testSettings({
  BASTION_HOSTNAME_PREFIX: 'drain-bastion',
  BASTION_GROUP_NAME_PARAMETER: GROUP_PARAMETER,
  BASTION_DRAIN_TIMEOUT_SECONDS: '600',
  BASTION_DRAIN_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
});
const DRAINING_LINE =
  /\*\*\* ssh-bastion: this host is leaving service\. Your session goes on until you end it, at the latest until \d\d:\d\d UTC; new connections go to other hosts \*\*\*/;
const SPOT_LINE =
  /\*\*\* ssh-bastion: AWS takes this spot host back at 2026-11-30T20:02:00Z \(about two minutes from the notice\): save your work; reconnecting gets you another host \*\*\*/;
const TIMEOUT_LINE = /\*\*\* ssh-bastion: the drain time of this host is over: it shuts down now; reconnect to get another host \*\*\*/;

let host: BastionTestHost;
let key: string;
let instances: string[] = [];

interface LifecycleRecord {
  kind: 'heartbeat' | 'complete';
  instance: string;
  time: number;
  result?: string;
}

/** Runs a Python snippet with boto3 against the test's moto; its stdout parsed as JSON. */
function aws(script: string): unknown {
  const env = { ...process.env, ...host.moto!.awsEnv() };
  const out = execFileSync('python3', ['-c', `import boto3, json, sys\n${script}`], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.trim() ? JSON.parse(out) : undefined;
}

async function lifecycleRecords(instance: string): Promise<LifecycleRecord[]> {
  const res = await fetch(`${host.moto!.endpoint}/x-test/lifecycle/actions`);
  return ((await res.json()) as LifecycleRecord[]).filter((r) => r.instance === instance);
}

async function enterWait(instance: string): Promise<void> {
  const query = new URLSearchParams({ group: GROUP, hook: HOOK, instance });
  const res = await fetch(`${host.moto!.endpoint}/x-test/lifecycle/enter-wait?${query}`, { method: 'POST' });
  if (!res.ok) throw new Error(`enter-wait: ${await res.text()}`);
}

function lifecycleState(instance: string): string {
  return aws(
    `a = boto3.client("autoscaling")\nprint(json.dumps(a.describe_auto_scaling_instances(InstanceIds=["${instance}"])["AutoScalingInstances"][0]["LifecycleState"]))`,
  ) as string;
}

/** A user's interactive session: ssh -tt running `echo started; read line`; `end()` sends the line. */
class UserSession {
  output = '';
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;

  constructor() {
    const args = [
      ...host.enter,
      'ssh',
      '-tt',
      '-i',
      key,
      '-p',
      SETTINGS.BASTION_SERVICE_PORT,
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'LogLevel=ERROR',
      'alice@127.0.0.1',
      'echo started; read line; echo bye',
    ];
    this.proc = spawn(args[0], args.slice(1), { env: host.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  started(): Promise<void> {
    return waitFor(() => this.output.includes('started'), 60_000, 'the session to start');
  }

  async end(): Promise<void> {
    this.proc.stdin!.write('\n');
    await this.exited;
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }
}

/** Restarts the drainer as a new instance of the host would start it: no drain, these settings. */
async function restartDrainer(instance: string, settings: Settings): Promise<void> {
  await host.must(['systemctl', 'stop', 'ssh-bastion-drainer.service']);
  await host.must(['rm', '-f', '/run/ssh-bastion/draining']);
  for (const item of ['autoscaling', 'spot'])
    fs.rmSync(path.join(host.metadataDir, 'latest/meta-data', item), { recursive: true, force: true });
  host.writeSettings('/etc/ssh-bastion/bastion.env', { ...host.settings, ...settings });
  host.setMetadata('instance-id', instance);
  await host.must(['systemctl', 'start', 'ssh-bastion-drainer.service']);
}

function drainerLog(): string {
  const file = path.join(host.dir, 'drainer.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

beforeAll(async () => {
  host = new BastionTestHost({ ...SETTINGS });
  await host.prepare();
  key = path.join(host.dir, 'alice');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
  await host.moto!.seedUsers([{ name: 'alice', groups: ['bastion-admins'], keys: [fs.readFileSync(`${key}.pub`, 'utf8').trim()] }]);
  // The group as the module makes it: two hosts, the Terminating hook, the parameter with its name.
  instances = aws(`
ec2, a, ssm = boto3.client("ec2"), boto3.client("autoscaling"), boto3.client("ssm")
ec2.create_launch_template(LaunchTemplateName="e2e-bastion", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.small"})
a.create_auto_scaling_group(AutoScalingGroupName="${GROUP}", MinSize=0, MaxSize=3, DesiredCapacity=2,
    LaunchTemplate={"LaunchTemplateName": "e2e-bastion"}, AvailabilityZones=["us-east-1a"])
a.put_lifecycle_hook(AutoScalingGroupName="${GROUP}", LifecycleHookName="${HOOK}", LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
    HeartbeatTimeout=300, DefaultResult="CONTINUE")
ssm.put_parameter(Name="${GROUP_PARAMETER}", Type="String", Value="${GROUP}")
print(json.dumps([i["InstanceId"] for i in a.describe_auto_scaling_groups(AutoScalingGroupNames=["${GROUP}"])["AutoScalingGroups"][0]["Instances"]]))
`) as string[];
  expect(instances).toHaveLength(2);
  host.setMetadata('instance-id', instances[0]);
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
  await waitFor(() => /Auto Scaling group e2e-bastion-group/.test(drainerLog()), 30_000, 'the drainer to read the group name');
}, 600_000);

afterAll(async () => {
  if (process.env.SSHB_E2E_KEEP) console.log(`drainer log:\n${drainerLog()}`);
  await host?.stop();
});

/** SessionsOpen (or another metric of the drainer) published at or after `since` (epoch ms), one value per second of the datapoints. */
function sessionsPublished(since: number, metric = 'SessionsOpen'): number[] {
  if (Date.now() < since + 1000) return [];
  return aws(`
import datetime
c = boto3.client("cloudwatch")
start = datetime.datetime.fromtimestamp(${since / 1000}, datetime.timezone.utc)
end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
r = c.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{"Id": "s", "MetricStat": {"Metric": {
    "Namespace": "SshBastion", "MetricName": "${metric}", "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "${GROUP}"}]},
    "Period": 1, "Stat": "Maximum"}}])
print(json.dumps(r["MetricDataResults"][0]["Values"]))
`) as number[];
}

test('the published SessionsOpen metric equals the sessions open on the host', async () => {
  const a = new UserSession();
  const b = new UserSession();
  try {
    await Promise.all([a.started(), b.started()]);
    const bothOpen = Date.now() + 6_000; // the front's status file is at most 5 s old
    await waitFor(() => sessionsPublished(bothOpen).length >= 2, 30_000, 'two values published with both sessions open');
    expect([...new Set(sessionsPublished(bothOpen))]).toEqual([2]);
    await a.end();
    const oneOpen = Date.now() + 6_000;
    await waitFor(() => sessionsPublished(oneOpen).length >= 2, 30_000, 'two values published with one session open');
    expect([...new Set(sessionsPublished(oneOpen))]).toEqual([1]);
    await b.end();
    const none = Date.now() + 6_000;
    await waitFor(() => sessionsPublished(none).length >= 1, 30_000, 'a value published with no session open');
    expect([...new Set(sessionsPublished(none))]).toEqual([0]);
  } finally {
    a.kill();
    b.kill();
  }
});

test('clients that only send an identification line and never log in publish SessionsOpen 0; SessionsLoggingIn counts them', async () => {
  const CLIENTS = 8; // under BASTION_MAX_CONNECTIONS_PER_SOURCE (10): all from 127.0.0.1
  const script = `
import socket, sys, time
held = []
for _ in range(${CLIENTS}):
    s = socket.create_connection(("127.0.0.1", ${SETTINGS.BASTION_SERVICE_PORT}))
    s.sendall(b"SSH-2.0-never-logs-in\\r\\n")
    s.settimeout(20)
    assert s.recv(64).startswith(b"SSH-2.0-"), "no banner"
    held.append(s)
print("connected", flush=True)
time.sleep(120)
`;
  const clients = spawn(host.enter[0], [...host.enter.slice(1), 'python3', '-c', script], {
    env: host.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  clients.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  clients.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitFor(() => output.includes('connected'), 30_000, 'the clients to get the server banner');
    const held = Date.now() + 6_000; // the front's status file is at most 5 s old
    // sshd's LoginGraceTime (20 s) ends them: two values within that
    await waitFor(() => sessionsPublished(held, 'SessionsLoggingIn').length >= 2, 12_000, 'two values published while the clients wait');
    const waiting = sessionsPublished(held, 'SessionsLoggingIn');
    const open = sessionsPublished(held);
    console.log(`never logging in: ${CLIENTS} clients; SessionsOpen ${JSON.stringify(open)}, SessionsLoggingIn ${JSON.stringify(waiting)}`);
    expect(new Set(open)).toEqual(new Set([0]));
    expect(Math.max(...waiting)).toBe(CLIENTS);
  } finally {
    clients.kill('SIGKILL');
  }
});

test('a leaving host tells its users, refuses new connections, heartbeats while sessions remain and completes only after the second one ends', async () => {
  const instance = instances[0];
  const a = new UserSession();
  const b = new UserSession();
  try {
    await Promise.all([a.started(), b.started()]);
    await enterWait(instance);
    const leaving = Date.now();
    host.setMetadata('autoscaling/target-lifecycle-state', 'Terminated');
    await waitFor(() => DRAINING_LINE.test(a.output) && DRAINING_LINE.test(b.output), 30_000, 'both users told');
    const toldMs = Date.now() - leaving;
    // once only, on each terminal
    expect(a.output.match(new RegExp(DRAINING_LINE.source, 'g'))).toHaveLength(1);

    const health = await host.run(['curl', '-s', '-m', '10', 'http://127.0.0.1:2224/']);
    expect(health.stdout).toContain('failed: draining');
    const refused = await host.ssh({ user: 'alice', key, command: 'echo in' });
    expect(refused.status).not.toBe(0);
    expect(refused.stdout).not.toContain('in');

    await waitFor(
      async () => (await lifecycleRecords(instance)).filter((r) => r.kind === 'heartbeat').length >= 2,
      30_000,
      'two heartbeats',
    );
    await a.end();
    const firstEnded = Date.now();
    // two intervals with one session left: heartbeats, no completion
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_SECONDS * 1000 + 1000));
    const meanwhile = await lifecycleRecords(instance);
    expect(meanwhile.filter((r) => r.kind === 'complete')).toEqual([]);
    expect(meanwhile.filter((r) => r.kind === 'heartbeat' && r.time * 1000 > firstEnded).length).toBeGreaterThanOrEqual(1);
    expect(lifecycleState(instance)).toBe('Terminating:Wait');

    await b.end();
    const lastEnded = Date.now();
    await waitFor(async () => (await lifecycleRecords(instance)).some((r) => r.kind === 'complete'), 30_000, 'the completion');
    const records = await lifecycleRecords(instance);
    const complete = records.filter((r) => r.kind === 'complete');
    expect(complete).toHaveLength(1);
    expect(complete[0].result).toBe('CONTINUE');
    expect(complete[0].time * 1000).toBeGreaterThanOrEqual(lastEnded - 1000);
    expect(lifecycleState(instance)).toBe('Terminating:Proceed');
    console.log(
      `drain: users told ${toldMs} ms after the metadata said Terminated; ${records.filter((r) => r.kind === 'heartbeat').length} heartbeats; ` +
        `completed ${Math.round(complete[0].time * 1000 - lastEnded)} ms after the last session ended`,
    );
  } finally {
    a.kill();
    b.kill();
  }
});

test('with a short drain timeout the host tells the users still there and completes at the timeout, their session still open', async () => {
  const instance = instances[1];
  const drainTimeout = 12;
  await restartDrainer(instance, { BASTION_DRAIN_TIMEOUT_SECONDS: String(drainTimeout) });
  const c = new UserSession();
  try {
    await c.started();
    // As on AWS: the metadata says Terminated while the instance is still being deregistered from
    // the load balancer, before the hook's wait begins; the drainer keeps trying until it does.
    const leaving = Date.now();
    host.setMetadata('autoscaling/target-lifecycle-state', 'Terminated');
    await waitFor(() => DRAINING_LINE.test(c.output), 30_000, 'the user told');
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_SECONDS * 1000));
    await enterWait(instance);
    await waitFor(async () => (await lifecycleRecords(instance)).some((r) => r.kind === 'complete'), 60_000, 'the completion');
    const records = await lifecycleRecords(instance);
    const complete = records.find((r) => r.kind === 'complete')!;
    const afterMs = complete.time * 1000 - leaving;
    expect(complete.result).toBe('CONTINUE');
    expect(afterMs).toBeGreaterThanOrEqual(drainTimeout * 1000);
    expect(afterMs).toBeLessThan((drainTimeout + 15) * 1000);
    expect(records.filter((r) => r.kind === 'heartbeat').length).toBeGreaterThanOrEqual(1);
    await waitFor(() => TIMEOUT_LINE.test(c.output), 10_000, 'the user told of the timeout');
    expect(c.output.match(new RegExp(TIMEOUT_LINE.source, 'g'))).toHaveLength(1);
    // the drainer ends no session itself: terminating the instance does
    expect(await host.sessionContainers()).toHaveLength(1);
    expect(lifecycleState(instance)).toBe('Terminating:Proceed');
    console.log(`drain timeout ${drainTimeout}s: completed ${Math.round(afterMs)} ms after the metadata said Terminated`);
    await c.end();
  } finally {
    c.kill();
  }
});

test('a spot interruption notice is told to the users once, and the host takes no new connections', async () => {
  await restartDrainer(instances[0], {});
  const d = new UserSession();
  try {
    await d.started();
    host.setMetadata('spot/instance-action', '{"action": "terminate", "time": "2026-11-30T20:02:00Z"}');
    await waitFor(() => SPOT_LINE.test(d.output), 30_000, 'the user told of the spot interruption');
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_SECONDS * 1000));
    expect(d.output.match(new RegExp(SPOT_LINE.source, 'g'))).toHaveLength(1);
    expect((await host.run(['curl', '-s', '-m', '10', 'http://127.0.0.1:2224/'])).stdout).toContain('failed: draining');
    // nothing to answer: a spot interruption has no lifecycle action
    expect((await lifecycleRecords(instances[0])).filter((r) => r.kind === 'complete')).toHaveLength(1);
    await d.end();
  } finally {
    d.kill();
  }
});
