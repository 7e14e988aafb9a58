// End to end: the boot of a host from its bundle, as the user data runs it (the real bootstrap,
// moto's S3 serving the bytes the module ships). A bundle whose hash differs from the user data's
// and a bucket that cannot be reached each stop the boot with one clear line: nothing of the
// bundle is unpacked, no section runs, and the health-check port stays closed.
import { BastionTestHost, BUNDLE_BUCKET, Settings, testSettings } from '../helpers/harness';
import { buildHostBundle } from '../../src/bundle';
import { log } from './log';

jest.setTimeout(300_000);

const HEALTH_PORT = 2224;
const SETTINGS: Settings = testSettings({
  BASTION_SERVICE_PORT: '2022',
  BASTION_HEALTH_PORT: String(HEALTH_PORT),
  BASTION_SESSION_MAX_SECONDS: '600',
  BASTION_ALLOWED_IAM_GROUPS: '',
  BASTION_HOSTNAME_PREFIX: 'bundle-bastion',
});

let host: BastionTestHost;

beforeAll(async () => {
  host = new BastionTestHost({ ...SETTINGS });
  await host.prepare();
});

afterAll(async () => {
  await host?.stop();
});

/** What the bootstrap unpacked so far: any file of the bundle at its host path. */
async function unpackedFiles(): Promise<string[]> {
  const paths = buildHostBundle().entries.map((entry) => `/${entry.path}`);
  const found = await host.run(['bash', '-c', 'for f in "$@"; do [[ -e "$f" ]] && echo "$f"; done; true', 'list', ...paths]);
  return found.stdout.split('\n').filter(Boolean);
}

describe('booting from the bundle', () => {
  test('the user data names the bundle the module ships: its key holds the hash written beside it', () => {
    const bundle = buildHostBundle();
    const env = host.readFile('/etc/ssh-bastion/bastion.env');
    expect(env).toContain(`BASTION_BUNDLE_SHA256=${bundle.sha256}\n`);
    expect(env).toContain(`BASTION_BUNDLE_BUCKET=${BUNDLE_BUCKET}\n`);
    expect(env).toContain(`BASTION_BUNDLE_KEY=${host.bundleKey}\n`);
  });

  test('a tampered bundle is refused: one line names both hashes, nothing is unpacked, the health port stays closed', async () => {
    // GIVEN the bundle's object holds other bytes (one byte of the real bundle changed)
    const bundle = buildHostBundle();
    const tampered = Buffer.from(bundle.bytes);
    tampered[tampered.length - 20] ^= 0xff;
    await host.putBundle(tampered);

    // WHEN the host boots
    const boot = await host.boot();
    log(`tampered bundle: ${boot.stderr.trim()}`);

    // THEN
    expect(boot.status).toBe(1);
    const lines = boot.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^ssh-bastion: boot stopped: the host bundle s3://${BUNDLE_BUCKET}/\\S+ has sha256 [0-9a-f]{64}, not ${bundle.sha256} as the user data says; refusing it, the host stays unhealthy$`,
      ),
    );
    expect(await unpackedFiles()).toEqual([]);
    expect(await host.portOpen(HEALTH_PORT)).toBe(false);
  });

  test('an unreachable bucket is retried with backoff, then refused: nothing is unpacked, the health port stays closed', async () => {
    // GIVEN the right bundle, but S3 at an address where nothing listens
    await host.putBundle(buildHostBundle().bytes);

    // WHEN the host boots (3 attempts instead of 10, to keep the test short: 2 + 4 s of backoff)
    const boot = await host.boot({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9', BASTION_BUNDLE_FETCH_ATTEMPTS: '3' });
    log(`unreachable bucket, after ${boot.ms} ms: ${boot.stderr.trim()}`);

    // THEN two retries were announced, and the last line says why the boot stopped
    expect(boot.status).toBe(1);
    const lines = boot.stderr.trim().split('\n');
    expect(
      lines.slice(0, -1).map((line) => line.replace(/\(attempt (\d) of 3: .*\); next attempt in (\d+) s$/, '($1 of 3, $2 s)')),
    ).toEqual([
      `ssh-bastion: fetching s3://${BUNDLE_BUCKET}/${host.bundleKey} failed (1 of 3, 2 s)`,
      `ssh-bastion: fetching s3://${BUNDLE_BUCKET}/${host.bundleKey} failed (2 of 3, 4 s)`,
    ]);
    expect(lines[lines.length - 1]).toMatch(
      new RegExp(
        `^ssh-bastion: boot stopped: could not fetch the host bundle s3://${BUNDLE_BUCKET}/\\S+ after 3 attempts \\(.*127\\.0\\.0\\.1:9.*\\); the host stays unhealthy$`,
      ),
    );
    expect(boot.ms).toBeGreaterThanOrEqual(6000);
    expect(await unpackedFiles()).toEqual([]);
    expect(await host.portOpen(HEALTH_PORT)).toBe(false);
  });

  test('the right bundle is unpacked as shipped: every file at its host path, with its mode and content, owned by root', async () => {
    // GIVEN the right bundle, and a section runner that stops at once (a custom host-keys script
    // that fails), so this test checks the unpacking alone
    await host.putBundle(buildHostBundle().bytes);
    host.writeFile('/etc/ssh-bastion/custom/host-keys.sh', '#!/bin/sh\nexit 7\n');
    await host.must(['chmod', '0700', '/etc/ssh-bastion/custom/host-keys.sh']);

    // WHEN the host boots
    const boot = await host.boot();
    log(`right bundle: ${boot.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);

    // THEN the bootstrap unpacked it and handed over to run-sections, which ran the first section
    const bundle = buildHostBundle();
    expect(boot.stderr).toContain(
      `ssh-bastion: host bundle s3://${BUNDLE_BUCKET}/${host.bundleKey} (sha256 ${bundle.sha256}, ${bundle.entries.length} files) unpacked; running the sections\n`,
    );
    expect(boot.stderr).toContain('ssh-bastion: section host-keys: FAILED with status 7');
    expect(boot.status).toBe(7);
    const listing = await host.must([
      'bash',
      '-c',
      'for f in "$@"; do stat -c "%a %U:%G %s %n" "$f"; done',
      'stat',
      ...bundle.entries.map((e) => `/${e.path}`),
    ]);
    expect(listing.trim().split('\n')).toEqual(bundle.entries.map((e) => `${e.mode.toString(8)} root:root ${e.size} /${e.path}`));
    const sums = await host.must(['sha256sum', ...bundle.entries.map((e) => `/${e.path}`)]);
    const expected = await host.must([
      'bash',
      '-c',
      `cd "$1" && sha256sum ${bundle.entries.map((e) => (e.path.startsWith('opt/ssh-bastion/worker/') ? `worker/${e.path.slice('opt/ssh-bastion/worker/'.length)}` : `host/${e.path}`)).join(' ')}`,
      'sums',
      `${__dirname}/../../userdata`,
    ]);
    expect(sums.split('\n').map((line) => line.split(' ')[0])).toEqual(expected.split('\n').map((line) => line.split(' ')[0]));
    expect(await host.portOpen(HEALTH_PORT)).toBe(false);
  });
});
