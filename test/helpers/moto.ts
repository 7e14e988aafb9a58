/**
 * A real IAM/STS emulator for tests: starts `moto_server -H 127.0.0.1 -p <free port>` (moto 5,
 * from the pyenv Python on PATH) and talks to it over plain HTTP, so seeding costs no Python
 * start-up per call.
 *
 * ```ts
 * const moto = await MotoServer.start();               // waits until it answers
 * await moto.seedUsers([{ name: 'alice@example.com', groups: ['ops'], keys: [fakeSshPublicKey('a')] }]);
 * const keyId = await moto.uploadSshPublicKey('bob', fakeSshPublicKey('b'));
 * await moto.updateSshPublicKey('bob', keyId, 'Inactive');
 * await moto.startRecording();                          // moto's own request recorder ...
 * (await moto.recordedActions()).length;                // ... = requests moto received since
 * const env = { ...process.env, ...moto.awsEnv() };     // env for boto3/aws CLI/daemons
 * await moto.stop();
 * ```
 *
 * - Credentials are dummies (`testing`); moto does not check signatures. Requests name their
 *   service (iam/sts) in a fake SigV4 `Authorization` header, which is how moto routes them.
 * - `assumeRole(arn)` returns temporary credentials; moto maps them to the account in the role
 *   ARN, so `call(..., { credentials })` with them seeds users into ANOTHER account (this is how
 *   the tests prove that the daemon really uses assumed-role credentials).
 * - `awsEnv()` also disables IMDS and points config files at /dev/null, so nothing a test
 *   starts sends traffic anywhere but 127.0.0.1.
 * - moto 5.2.1 gaps (checked in its source): ListUsers, GetGroup, ListSSHPublicKeys and
 *   ListGroupsForUser return everything on one page (no Marker/IsTruncated). Tests that need
 *   real pagination put `FaultProxy` (./fault-proxy.ts) with `pageSize` in front of moto.
 * - `MotoServer.start({ command: 'test/helpers/moto-lifecycle.py' })` is moto with
 *   CompleteLifecycleAction and RecordLifecycleActionHeartbeat (moto 5.2.1 has neither), added on
 *   moto's own Auto Scaling backend, and test-only paths to put an instance into a lifecycle
 *   hook's wait and to list the heartbeats and completions received (the e2e harness uses it).
 * - The most trustworthy per-call counter is `FaultProxy.requests`; moto's recorder
 *   (`startRecording`/`recordedActions`) is the second, independent one.
 */
import { ChildProcess, spawn } from 'child_process';
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** moto servers still running: killed when this (jest worker) process exits, so none is orphaned. */
const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((p) => p.kill('SIGKILL')));

/** moto's default account. */
export const MOTO_ACCOUNT_ID = '123456789012';

/** Temporary or long-term AWS credentials. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The dummy long-term credentials every test uses. */
export const DUMMY_CREDENTIALS: AwsCredentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** One IAM user to create with `seedUsers`. */
export interface SeedUser {
  readonly name: string;
  readonly groups?: readonly string[];
  /** public key bodies to upload (Active) */
  readonly keys?: readonly string[];
}

/** An AWS error answer (`<ErrorResponse>`) from moto. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(`${code} (${status}): ${message}`);
  }
}

/** A free TCP port on 127.0.0.1 (bound and released; a small race is acceptable in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A syntactically valid, random `ssh-ed25519` public key line (nobody holds the private key). */
export function fakeSshPublicKey(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  return opensshEd25519(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32), comment);
}

/** An ed25519 key pair: `publicKey` as an authorized_keys line, `privateKeyPem` in PKCS#8 PEM. */
export function ed25519KeyPair(comment: string): { publicKey: string; privateKeyPem: string } {
  const pair = generateKeyPairSync('ed25519');
  const raw = pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return {
    publicKey: opensshEd25519(raw, comment),
    privateKeyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

function opensshEd25519(raw: Buffer, comment: string): string {
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.concat([u32(type.length), type, u32(raw.length), raw]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** All text contents of `<tag>` elements in an XML answer (flat elements only). */
export function xmlValues(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g');
  return [...xml.matchAll(re)].map((m) => xmlUnescape(m[1]));
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Runs `fn` over `items` with at most `limit` promises in flight. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Options of `MotoServer.start`. */
export interface MotoStartOptions {
  /** moto_server executable (default `moto_server` on PATH, else MOTO_SERVER env) */
  readonly command?: string;
  /** how long to wait for readiness (default 20 s) */
  readonly readyTimeoutMs?: number;
}

/** A running moto_server on 127.0.0.1. */
export class MotoServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  private readonly recordingFile: string;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
    this.recordingFile = path.join(dir, 'recording.jsonl');
    proc.stdout?.on('data', (d: Buffer) => this.appendOutput(d));
    proc.stderr?.on('data', (d: Buffer) => this.appendOutput(d));
  }

  private appendOutput(d: Buffer): void {
    // moto logs one line per request; keep only the tail for error messages.
    this.output = (this.output + d.toString()).slice(-20000);
  }

  /** Starts moto_server on a free port with dummy credentials and waits until it answers. */
  static async start(options: MotoStartOptions = {}): Promise<MotoServer> {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moto-'));
    const proc = spawn(options.command ?? process.env.MOTO_SERVER ?? 'moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        MOTO_RECORDER_FILEPATH: path.join(dir, 'recording.jsonl'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const server = new MotoServer(port, proc, dir);
    const deadline = Date.now() + (options.readyTimeoutMs ?? 20000);
    for (;;) {
      if (proc.exitCode !== null) {
        throw new Error(`moto_server exited with ${proc.exitCode}: ${server.output}`);
      }
      try {
        const res = await fetch(`${server.endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`moto_server not ready after ${options.readyTimeoutMs ?? 20000} ms: ${server.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Environment for an AWS client (boto3, aws CLI, the key daemon) that talks to this moto. */
  awsEnv(credentials: AwsCredentials = DUMMY_CREDENTIALS, endpoint: string = this.endpoint): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };
  }

  /**
   * One AWS Query API call (form-encoded POST). Returns the XML answer; throws AwsError on an
   * `<ErrorResponse>`.
   */
  async call(
    action: string,
    params: Record<string, string> = {},
    options: { service?: 'iam' | 'sts'; credentials?: AwsCredentials } = {},
  ): Promise<string> {
    const service = options.service ?? 'iam';
    const credentials = options.credentials ?? DUMMY_CREDENTIALS;
    const body = new URLSearchParams({
      Action: action,
      Version: service === 'iam' ? '2010-05-08' : '2011-06-15',
      ...params,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
      'x-amz-date': '20260101T000000Z',
    };
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const res = await fetch(this.endpoint + '/', { method: 'POST', headers, body: body.toString() });
    const text = await res.text();
    if (!res.ok || text.includes('<ErrorResponse')) {
      throw new AwsError(xmlValues(text, 'Code')[0] ?? 'Unknown', res.status, xmlValues(text, 'Message')[0] ?? text.slice(0, 200));
    }
    return text;
  }

  /** SSM PutParameter of a SecureString (SSM speaks JSON, not the Query API of call()). */
  async putSecureString(name: string, value: string): Promise<void> {
    const res = await fetch(`${this.endpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonSSM.PutParameter',
        authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0',
        'x-amz-date': '20260101T000000Z',
      },
      body: JSON.stringify({ Name: name, Value: value, Type: 'SecureString' }),
    });
    if (!res.ok) throw new Error(`PutParameter: ${res.status} ${await res.text()}`);
  }

  async createUser(name: string, credentials?: AwsCredentials): Promise<void> {
    await this.call('CreateUser', { UserName: name }, { credentials });
  }

  async deleteUser(name: string): Promise<void> {
    await this.call('DeleteUser', { UserName: name });
  }

  async createGroup(name: string, credentials?: AwsCredentials): Promise<void> {
    await this.call('CreateGroup', { GroupName: name }, { credentials });
  }

  async addUserToGroup(group: string, user: string, credentials?: AwsCredentials): Promise<void> {
    await this.call('AddUserToGroup', { GroupName: group, UserName: user }, { credentials });
  }

  async removeUserFromGroup(group: string, user: string): Promise<void> {
    await this.call('RemoveUserFromGroup', { GroupName: group, UserName: user });
  }

  /** Uploads a public key (Active); returns its SSHPublicKeyId. */
  async uploadSshPublicKey(user: string, body: string, credentials?: AwsCredentials): Promise<string> {
    const xml = await this.call('UploadSSHPublicKey', { UserName: user, SSHPublicKeyBody: body }, { credentials });
    return xmlValues(xml, 'SSHPublicKeyId')[0];
  }

  async updateSshPublicKey(user: string, keyId: string, status: 'Active' | 'Inactive'): Promise<void> {
    await this.call('UpdateSSHPublicKey', { UserName: user, SSHPublicKeyId: keyId, Status: status });
  }

  async deleteSshPublicKey(user: string, keyId: string): Promise<void> {
    await this.call('DeleteSSHPublicKey', { UserName: user, SSHPublicKeyId: keyId });
  }

  /**
   * Creates users, their groups (created once, first) and keys with `concurrency` requests in
   * flight (default 24): about 1000 users/s here.
   */
  async seedUsers(users: readonly SeedUser[], options: { concurrency?: number; credentials?: AwsCredentials } = {}): Promise<void> {
    const concurrency = options.concurrency ?? 24;
    const credentials = options.credentials;
    const groups = [...new Set(users.flatMap((u) => u.groups ?? []))];
    await inParallel(groups, concurrency, (g) => this.createGroup(g, credentials));
    await inParallel(users, concurrency, (u) => this.createUser(u.name, credentials));
    const steps: (() => Promise<unknown>)[] = [];
    for (const u of users) {
      for (const g of u.groups ?? []) steps.push(() => this.addUserToGroup(g, u.name, credentials));
      for (const k of u.keys ?? []) steps.push(() => this.uploadSshPublicKey(u.name, k, credentials));
    }
    await inParallel(steps, concurrency, (step) => step());
  }

  /** sts:AssumeRole; moto maps the returned credentials to the account of `roleArn`. */
  async assumeRole(roleArn: string, sessionName = 'test'): Promise<AwsCredentials> {
    const xml = await this.call('AssumeRole', { RoleArn: roleArn, RoleSessionName: sessionName }, { service: 'sts' });
    return {
      accessKeyId: xmlValues(xml, 'AccessKeyId')[0],
      secretAccessKey: xmlValues(xml, 'SecretAccessKey')[0],
      sessionToken: xmlValues(xml, 'SessionToken')[0],
    };
  }

  /** Starts moto's request recorder afresh: later requests are counted by `recordedActions`. */
  async startRecording(): Promise<void> {
    await (await fetch(`${this.endpoint}/moto-api/recorder/reset-recording`, { method: 'POST' })).arrayBuffer();
    await (await fetch(`${this.endpoint}/moto-api/recorder/start-recording`, { method: 'POST' })).arrayBuffer();
  }

  /** The `Action` of every API request moto received since `startRecording`, in order. */
  async recordedActions(): Promise<string[]> {
    if (!fs.existsSync(this.recordingFile)) return [];
    return fs
      .readFileSync(this.recordingFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const entry = JSON.parse(l) as { body?: string; body_encoded?: boolean; url?: string };
        const body = entry.body_encoded ? Buffer.from(entry.body ?? '', 'base64').toString() : (entry.body ?? '');
        return new URLSearchParams(body).get('Action') ?? new URL(entry.url ?? 'http://x/').searchParams.get('Action') ?? '?';
      });
  }

  /** Number of API requests moto received since `startRecording`. */
  async requestCount(): Promise<number> {
    return (await this.recordedActions()).length;
  }

  /** The tail of moto's own output (for failure messages). */
  logs(): string {
    return this.output;
  }

  /** Stops moto_server (SIGTERM, then SIGKILL after 3 s) and removes its temp dir. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
