// Session recording: off by default (nothing is made); on, a private encrypted TLS-only bucket with
// the retention as its lifecycle, its name in bastion.env, and the hosts' only S3 write permission is
// PutObject under recordings/ of that bucket.
import { Testing } from 'cdktf';
import { SshBastionModuleStack } from '../../src';
import { resolveConfig } from '../../src/config';
import { hostEnvironmentParts } from '../../src/host-settings';
import { hostSettings } from '../../src/user-data';
import { REQUIRED_PROPS, resources, synthBastion, Json } from '../helpers/synth';

/** Every s3: action the host role's policies grant that is not the bundle's read. */
function s3Writes(policies: Json[]): string[] {
  return policies.map((p) => p.policy as string).filter((policy) => /"s3:(?!GetObject")/.test(policy));
}

describe('session recording', () => {
  test('off by default: no bucket for recordings, no permission, no bucket in bastion.env', () => {
    const json = synthBastion();
    expect(resources(json, 'aws_s3_bucket').filter((b) => String(b.bucket_prefix).includes('rec-'))).toHaveLength(0);
    expect(resources(json, 'aws_iam_role_policy').filter((p) => p.name_prefix === 'session-recording-')).toHaveLength(0);
    expect(s3Writes(resources(json, 'aws_iam_role_policy'))).toEqual([]);
    const env = hostEnvironmentParts(hostSettings(resolveConfig(REQUIRED_PROPS), { region: 'r', bucket: 'b', key: 'k', sha256: '0' })).join(
      '',
    );
    expect(env).toContain('\nBASTION_RECORDING_BUCKET=\n');
  });

  test('on: a private, encrypted, versioned, TLS-only bucket whose objects expire after recordingRetentionDays', () => {
    const json = synthBastion({ sessionRecording: true, recordingRetentionDays: 90 });
    const buckets = resources(json, 'aws_s3_bucket');
    const recordings = buckets.find((b) => String(b.bucket_prefix).endsWith('rec-'))!;
    expect(recordings.bucket_prefix).toBe('staging-bastion-service-rec-');
    const forRecordings = (type: string) => resources(json, type).filter((r) => String(r.bucket).includes('recordings_bucket'));
    expect(forRecordings('aws_s3_bucket_public_access_block')[0]).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(
      forRecordings('aws_s3_bucket_server_side_encryption_configuration')[0].rule[0].apply_server_side_encryption_by_default.sse_algorithm,
    ).toBe('AES256');
    expect(forRecordings('aws_s3_bucket_versioning')[0].versioning_configuration.status).toBe('Enabled');
    expect(forRecordings('aws_s3_bucket_policy')[0].policy).toContain('"aws:SecureTransport" = "false"');
    const rule = forRecordings('aws_s3_bucket_lifecycle_configuration')[0].rule[0];
    expect(rule.expiration[0].days).toBe(90);
    expect(rule.noncurrent_version_expiration[0].noncurrent_days).toBe(90);
  });

  test('on: the hosts may put objects under recordings/ of that bucket and nothing else of S3 but the bundle', () => {
    const json = synthBastion({ sessionRecording: true });
    const writes = s3Writes(resources(json, 'aws_iam_role_policy'));
    expect(writes).toHaveLength(1);
    expect(writes[0].match(/"Sid" = /g)).toHaveLength(1);
    expect(writes[0]).toContain('"Action" = ["s3:PutObject"]');
    expect(writes[0]).toMatch(
      /"Resource" = "arn:\$\{data\.aws_partition\.\w+\.partition\}:s3:::\$\{aws_s3_bucket\.\w+\.bucket\}\/recordings\/\*"/,
    );
  });

  test('on: the bucket name reaches bastion.env', () => {
    const config = resolveConfig({ ...REQUIRED_PROPS, sessionRecording: true });
    const env = hostEnvironmentParts(
      hostSettings(config, { region: 'r', bucket: 'b', key: 'k', sha256: '0', recordingBucket: 'rec-bucket' }),
    ).join('');
    expect(env).toContain('\nBASTION_RECORDING_BUCKET=rec-bucket\n');
  });
});

describe('session recording in the registry module', () => {
  const module = JSON.parse(Testing.synth(new SshBastionModuleStack(Testing.app(), 'module')));

  test('variables with defaults and validation; the bucket and its policy exist only with session_recording', () => {
    expect(module.variable.session_recording.default).toBe(false);
    expect(module.variable.recording_retention_days.default).toBe(365);
    expect(module.variable.recording_retention_days.validation[0].error_message).toContain('recording_retention_days');
    const count = '${var.session_recording ? 1 : 0}';
    expect(module.resource.aws_s3_bucket.recordings_bucket.count).toBe(count);
    for (const [type, name] of [
      ['aws_s3_bucket_public_access_block', 'recordings_bucket_public_access_block'],
      ['aws_s3_bucket_ownership_controls', 'recordings_bucket_ownership'],
      ['aws_s3_bucket_server_side_encryption_configuration', 'recordings_bucket_encryption'],
      ['aws_s3_bucket_versioning', 'recordings_bucket_versioning'],
      ['aws_s3_bucket_lifecycle_configuration', 'recordings_bucket_lifecycle'],
      ['aws_s3_bucket_policy', 'recordings_bucket_policy'],
      ['aws_iam_role_policy', 'recording_policy'],
    ]) {
      expect([type, module.resource[type][name].count]).toEqual([type, count]);
    }
    expect(module.resource.aws_s3_bucket_lifecycle_configuration.recordings_bucket_lifecycle.rule[0].expiration[0].days).toBe(
      '${var.recording_retention_days}',
    );
    expect(module.output.recordings_location.value).toBe(
      '${var.session_recording ? "s3://${try(aws_s3_bucket.recordings_bucket[0].bucket, "")}/recordings/" : ""}',
    );
  });

  test("the role's only S3 permissions: the bundle object's read and PutObject under recordings/ of the recordings bucket", () => {
    const policies = Object.entries(module.resource.aws_iam_role_policy as Json).filter(([, p]) => (p.policy as string).includes('"s3:'));
    expect(policies.map(([address]) => address).sort()).toEqual(['bundle_policy', 'recording_policy']);
    const policy: string = module.resource.aws_iam_role_policy.recording_policy.policy;
    expect(policy).not.toMatch(/s3:\*|s3:::\*|"\*"|s3:Get|s3:List|s3:Delete/);
    expect(policy).toContain(
      '"Action" = ["s3:PutObject"], "Resource" = "arn:${data.aws_partition.partition.partition}:s3:::${try(aws_s3_bucket.recordings_bucket[0].bucket, "")}/recordings/*"',
    );
  });
});
