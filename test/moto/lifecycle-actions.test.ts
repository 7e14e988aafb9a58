// The lifecycle actions test/helpers/moto-lifecycle.py adds to moto_server (moto 5.2.1 has
// neither): they answer as AWS does, with boto3 as the client, so the drainer's e2e test proves
// something only while they refuse what AWS refuses.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { MotoServer } from '../helpers/moto';

jest.setTimeout(60_000);

let moto: MotoServer;

beforeAll(async () => {
  moto = await MotoServer.start({ command: path.resolve(__dirname, '../helpers/moto-lifecycle.py') });
});

afterAll(async () => {
  await moto?.stop();
});

/** Runs boto3 calls against the moto; prints one JSON line per step. */
function steps(script: string): unknown[] {
  const env = { ...process.env, ...moto.awsEnv() };
  const out = execFileSync('python3', ['-c', `import boto3, json, urllib.request\n${PRELUDE}\n${script}`], { env, encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

const PRELUDE = `
a = boto3.client("autoscaling")
def attempt(name, **kw):
    try:
        getattr(a, name)(**kw)
        print(json.dumps("ok"))
    except a.exceptions.ClientError as e:
        print(json.dumps(e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]))
def enter_wait(group, instance):
    url = f"${'{'}a.meta.endpoint_url}/x-test/lifecycle/enter-wait?group={group}&hook=drain&instance={instance}"
    return json.loads(urllib.request.urlopen(urllib.request.Request(url, method="POST")).read())
def state(instance):
    return a.describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"][0]["LifecycleState"]
ec2 = boto3.client("ec2")
`;

test('heartbeats and completion need the hook, an instance of the group waiting in it and its token; completion moves it on', () => {
  const results = steps(`
ec2.create_launch_template(LaunchTemplateName="lifecycle-test", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
a.create_auto_scaling_group(AutoScalingGroupName="g1", MinSize=1, MaxSize=2, DesiredCapacity=1, LaunchTemplate={"LaunchTemplateName": "lifecycle-test"}, AvailabilityZones=["us-east-1a"])
a.create_auto_scaling_group(AutoScalingGroupName="g2", MinSize=1, MaxSize=2, DesiredCapacity=1, LaunchTemplate={"LaunchTemplateName": "lifecycle-test"}, AvailabilityZones=["us-east-1a"])
for g in ("g1", "g2"):
    a.put_lifecycle_hook(AutoScalingGroupName=g, LifecycleHookName="drain", LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout=300, DefaultResult="CONTINUE")
i1 = a.describe_auto_scaling_groups(AutoScalingGroupNames=["g1"])["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
i2 = a.describe_auto_scaling_groups(AutoScalingGroupNames=["g2"])["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
attempt("record_lifecycle_action_heartbeat", AutoScalingGroupName="g1", LifecycleHookName="drain", InstanceId=i1)
token = enter_wait("g1", i1)["LifecycleActionToken"]
print(json.dumps(state(i1)))
attempt("record_lifecycle_action_heartbeat", AutoScalingGroupName="g1", LifecycleHookName="other", InstanceId=i1)
attempt("record_lifecycle_action_heartbeat", AutoScalingGroupName="g1", LifecycleHookName="drain", InstanceId=i2)
attempt("record_lifecycle_action_heartbeat", AutoScalingGroupName="g1", LifecycleHookName="drain", InstanceId=i1, LifecycleActionToken="00000000-0000-0000-0000-000000000000")
attempt("record_lifecycle_action_heartbeat", AutoScalingGroupName="g1", LifecycleHookName="drain", InstanceId=i1)
attempt("complete_lifecycle_action", AutoScalingGroupName="g1", LifecycleHookName="drain", LifecycleActionToken=token, LifecycleActionResult="CONTINUE")
print(json.dumps(state(i1)))
attempt("complete_lifecycle_action", AutoScalingGroupName="g1", LifecycleHookName="drain", InstanceId=i1, LifecycleActionResult="CONTINUE")
records = json.loads(urllib.request.urlopen(a.meta.endpoint_url + "/x-test/lifecycle/actions").read())
print(json.dumps([[r["kind"], r["group"], r["instance"] == i1, r.get("result")] for r in records]))
`);
  expect(results).toEqual([
    expect.stringMatching(/^ValidationError: No active Lifecycle Action found with instance ID i-/),
    'Terminating:Wait',
    'ValidationError: No Lifecycle Hook found with name other for group g1',
    expect.stringMatching(/^ValidationError: No active Lifecycle Action found with instance ID i-/),
    'ValidationError: No active Lifecycle Action found with token 00000000-0000-0000-0000-000000000000',
    'ok',
    'ok',
    'Terminating:Proceed',
    expect.stringMatching(/^ValidationError: No active Lifecycle Action found with instance ID i-/),
    [
      ['heartbeat', 'g1', true, null],
      ['complete', 'g1', true, 'CONTINUE'],
    ],
  ]);
});
