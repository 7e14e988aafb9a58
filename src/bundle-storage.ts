import { AssetType, Fn, TerraformAsset, Token } from 'cdktf';
import { Construct } from 'constructs';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import {
  S3BucketLifecycleConfiguration,
  S3BucketLifecycleConfigurationRule,
} from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { Id } from '@cdktf/provider-random/lib/id';
import { BUNDLE_FILE_NAME, buildHostBundle, writeHostBundle } from './bundle';
import { BastionConfig } from './config';
import { attributeOf, choose, leading, nonEmpty, not, presence } from './conditional';
import { BundleLocation } from './user-data';

/**
 * Construct context key: where the bundle file is, as Terraform reads it, instead of a
 * TerraformAsset. The registry module sets it to `${path.module}/ssh-bastion-host.tar.gz` and
 * ships the file beside its `.tf.json` files.
 */
export const BUNDLE_SOURCE_CONTEXT = 'ssh-bastion-service:bundle-source';

/** Days an object version that is no longer current is kept (a rollback's window). */
export const NONCURRENT_VERSION_DAYS = 30;

export interface BundleStorage {
  readonly location: BundleLocation;
  /** ARN of the bundle's object: the only thing in the bucket the hosts may read */
  readonly objectArn: string;
}

/**
 * The host bundle in S3: a private bucket made for it (unless `bundleBucketName` names one) and
 * one object whose key holds the bundle's SHA-256, so a new bundle is a new object, a new user
 * data and a rolling instance refresh.
 */
export function defineBundleStorage(
  scope: Construct,
  config: BastionConfig,
  where: { region: string; partition: string },
  nameSuffix: Id,
): BundleStorage {
  const bundle = buildHostBundle();
  const moduleSource = scope.node.tryGetContext(BUNDLE_SOURCE_CONTEXT) as string | undefined;
  const source = moduleSource ?? new TerraformAsset(scope, 'bundle_asset', { path: writeHostBundle(bundle), type: AssetType.FILE }).path;

  const createBucket = presence(not(nonEmpty(config.bundleBucketName)));
  let bucketName = config.bundleBucketName;
  if (createBucket.declare) {
    const bucket = defineBucket(scope, config, createBucket.count);
    const created = attributeOf(scope, bucket, 'bucket');
    bucketName =
      createBucket.count === undefined
        ? created
        : Token.asString(choose(nonEmpty(config.bundleBucketName), config.bundleBucketName, created));
  }

  const key = `${config.nameStem}-${nameSuffix.hex}/${BUNDLE_FILE_NAME.replace(/\.tar\.gz$/, '')}-${bundle.sha256}.tar.gz`;
  const object = new S3Object(scope, 'bundle', {
    bucket: bucketName,
    key,
    source,
    contentType: 'application/gzip',
    tags: config.tags,
    // The new object exists before the launch template points at it; the old one goes after.
    lifecycle: { createBeforeDestroy: true },
  });
  return {
    location: { region: where.region, bucket: object.bucket, key: object.key, sha256: bundle.sha256 },
    objectArn: `arn:${where.partition}:s3:::${object.bucket}/${object.key}`,
  };
}

/** A lifecycle rule of a private bucket (the shape of `S3BucketLifecycleConfiguration`'s rules). */
export type BucketLifecycleRule = S3BucketLifecycleConfigurationRule;

/**
 * A bucket only the account can use, only over TLS, encrypted at rest, versioned, with the given
 * lifecycle rules. Its constructs are `<id>`, `<id>_public_access_block`, ... `<id>_policy`.
 */
export function definePrivateBucket(
  scope: Construct,
  config: BastionConfig,
  count: number | undefined,
  id: string,
  bucketPrefix: string,
  rules: BucketLifecycleRule[],
): S3Bucket {
  const bucket = new S3Bucket(scope, id, {
    count,
    bucketPrefix,
    // It holds nothing but what this configuration writes.
    forceDestroy: true,
    tags: config.tags,
  });
  const bucketId = attributeOf(scope, bucket, 'id');
  const bucketArn = attributeOf(scope, bucket, 'arn');
  new S3BucketPublicAccessBlock(scope, `${id}_public_access_block`, {
    count,
    bucket: bucketId,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketOwnershipControls(scope, `${id}_ownership`, {
    count,
    bucket: bucketId,
    rule: { objectOwnership: 'BucketOwnerEnforced' },
  });
  new S3BucketServerSideEncryptionConfigurationA(scope, `${id}_encryption`, {
    count,
    bucket: bucketId,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
  });
  new S3BucketVersioningA(scope, `${id}_versioning`, {
    count,
    bucket: bucketId,
    versioningConfiguration: { status: 'Enabled' },
  });
  new S3BucketLifecycleConfiguration(scope, `${id}_lifecycle`, { count, bucket: bucketId, rule: rules });
  new S3BucketPolicy(scope, `${id}_policy`, {
    count,
    bucket: bucketId,
    policy: Fn.jsonencode({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'RefuseNonTls',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [bucketArn, `${bucketArn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    }),
  });
  return bucket;
}

/** The bundle's bucket: keeps old versions for a while (a rollback's window). */
function defineBucket(scope: Construct, config: BastionConfig, count: number | undefined): S3Bucket {
  // bucket_prefix allows 37 characters; Terraform appends 26.
  // Lower case by the name rules (validation.ts NAME_PART).
  const bucketPrefix = leading(`${config.nameStem}-`, 37);
  return definePrivateBucket(scope, config, count, 'bundle_bucket', bucketPrefix, [
    {
      id: 'expire-old-versions',
      status: 'Enabled',
      filter: [{ prefix: '' }],
      noncurrentVersionExpiration: [{ noncurrentDays: NONCURRENT_VERSION_DAYS }],
      expiration: [{ expiredObjectDeleteMarker: true }],
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
    },
  ]);
}
