// A booted test host with a recording front and session unit of their own (bastion.env turns
// recording on, the recordings go to `bucket` in moto's S3), and alice, an IAM user with a key.
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { BastionTestHost, Settings, testSettings } from '../helpers/harness';

const execFileAsync = promisify(execFile);

export async function startRecordedHost(bucket: string, port: number): Promise<{ host: BastionTestHost; key: string; spool: string }> {
  const host = new BastionTestHost(testSettings());
  await host.prepare();
  const keyDir = path.join(host.dir, 'client-keys');
  fs.mkdirSync(keyDir);
  const key = path.join(keyDir, 'alice');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
  await host.moto!.seedUsers([{ name: 'alice', groups: ['bastion-admins'], keys: [fs.readFileSync(`${key}.pub`, 'utf8').trim()] }]);
  await execFileAsync('aws', ['s3api', 'create-bucket', '--bucket', bucket], { env: { ...process.env, ...host.moto!.awsEnv() } });
  const boot = await host.boot();
  if (boot.status !== 0) throw new Error(`boot failed:\n${boot.stdout}\n${boot.stderr}`);
  const spool = await serveRecordedSessions(host, port, 'recorded', bucket, 1024, {
    ...testSettings(),
    BASTION_WORKER_BASE_IMAGE: host.baseImage,
  } as Settings);
  return { host, key, spool };
}

/**
 * Serves sessions on `port` of the booted `host` through a front and session unit of their own
 * (`name`), with `settings` and their sessions recorded into `bucket`. The spool, the session
 * unit's StateDirectory, is a tmpfs of `spoolMb` MiB at `<host dir>/recordings-spool-<name>`:
 * it keeps 20% of its file system free, which this machine's disk need not have. `env` is added
 * to the session unit's environment. Gives the spool's path.
 */
export async function serveRecordedSessions(
  host: BastionTestHost,
  port: number,
  name: string,
  bucket: string,
  spoolMb: number,
  settings: Settings,
  env: Record<string, string> = {},
): Promise<string> {
  const spool = path.join(host.dir, `recordings-spool-${name}`);
  await host.must(['mkdir', '-p', spool]);
  await host.must(['mount', '-t', 'tmpfs', '-o', `size=${spoolMb}m,mode=0700`, 'tmpfs', spool]);
  await host.serveSessions(port, { ...settings, BASTION_RECORDING_BUCKET: bucket }, name, undefined, { STATE_DIRECTORY: spool, ...env });
  return spool;
}

/** The objects in `bucket` of moto's S3: key, server-side encryption and body of each. */
export async function storedObjects(host: BastionTestHost, bucket: string): Promise<{ key: string; sse: string; body: string }[]> {
  const code = `
import boto3, json, sys
s3 = boto3.client("s3")
out = []
for o in (o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1]) for o in page.get("Contents", [])):
    got = s3.get_object(Bucket=sys.argv[1], Key=o["Key"])
    out.append({"key": o["Key"], "sse": got.get("ServerSideEncryption", ""), "body": got["Body"].read().decode()})
print(json.dumps(out))
`;
  const { stdout } = await execFileAsync('python3', ['-c', code, bucket], { env: { ...process.env, ...host.moto!.awsEnv() } });
  return JSON.parse(stdout);
}
