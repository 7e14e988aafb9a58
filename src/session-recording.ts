import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { BastionConfig } from './config';
import { choose, leading, optionalAttribute, presence } from './conditional';
import { definePrivateBucket } from './bundle-storage';

/** Where in the bucket the hosts write recordings: `recordings/<yyyy>/<mm>/<dd>/<session id>-<user>.cast`. */
export const RECORDINGS_PREFIX = 'recordings/';

export interface SessionRecording {
  /** The bucket's name; '' without session recording */
  readonly bucketName: string;
  /** `s3://<bucket>/recordings/`; '' without session recording */
  readonly location: string;
  /** ARN of the objects the hosts may write (`arn:...:s3:::<bucket>/recordings/*`); only meaningful with recording on */
  readonly objectsArn: string;
}

/**
 * The recordings' bucket, made only with `sessionRecording`: private, TLS only, encrypted at rest,
 * versioned (an object written again keeps its first version), its objects deleted after
 * `recordingRetentionDays`, old versions too.
 */
export function defineSessionRecording(scope: Construct, config: BastionConfig, where: { partition: string }): SessionRecording {
  const enabled = presence(config.sessionRecording);
  if (!enabled.declare) return { bucketName: '', location: '', objectsArn: '' };
  // bucket_prefix allows 37 characters; Terraform appends 26.
  const bucketPrefix = `${leading(`${config.nameStem}-`, 33)}rec-`;
  const days = config.recordingRetentionDays;
  const bucket = definePrivateBucket(scope, config, enabled.count, 'recordings_bucket', bucketPrefix, [
    {
      id: 'expire-recordings',
      status: 'Enabled',
      filter: [{ prefix: '' }],
      expiration: [{ days }],
      noncurrentVersionExpiration: [{ noncurrentDays: days }],
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
    },
  ]);
  const bucketName = optionalAttribute(scope, bucket, 'bucket', '');
  return {
    bucketName,
    location: Token.asString(choose(config.sessionRecording, `s3://${bucketName}/${RECORDINGS_PREFIX}`, '')),
    objectsArn: `arn:${where.partition}:s3:::${bucketName}/${RECORDINGS_PREFIX}*`,
  };
}
