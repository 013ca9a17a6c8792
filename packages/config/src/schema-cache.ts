import type { DeepPartial } from './deep-partial.js';
import type { TableReader } from './table-reader.js';
import type { CacheConfig } from './types.js';

/**
 * Schema of `[runners.cache]`. Upstream spells these keys in PascalCase (`Type`, `BucketName`); the reader also
 * accepts other casings, as Go's decoder does.
 */
export function readCache(r: TableReader): DeepPartial<CacheConfig> {
  const out: DeepPartial<CacheConfig> = {
    type: r.choice('Type', ['', 's3', 'gcs', 'azure'] as const),
    path: r.string('Path'),
    shared: r.bool('Shared'),
    maxUploadedArchiveSize: r.int('MaxUploadedArchiveSize', { min: 0 }),
  };
  const s3 = r.section('s3');
  if (s3) {
    const auth = s3.string('AuthenticationType');
    const authType = auth === undefined ? undefined : auth.toLowerCase();
    if (authType !== undefined && authType !== '' && authType !== 'iam' && authType !== 'access-key') {
      s3.error('AuthenticationType', `expected "iam" or "access-key", got ${JSON.stringify(auth)}`);
    }
    out.s3 = {
      serverAddress: s3.string('ServerAddress'),
      accessKey: s3.string('AccessKey'),
      secretKey: s3.string('SecretKey'),
      sessionToken: s3.string('SessionToken'),
      bucketName: s3.string('BucketName'),
      bucketLocation: s3.string('BucketLocation'),
      insecure: s3.bool('Insecure'),
      authenticationType: authType === 'iam' || authType === 'access-key' ? authType : undefined,
      serverSideEncryption: s3.string('ServerSideEncryption'),
      serverSideEncryptionKeyId: s3.string('ServerSideEncryptionKeyID'),
      dualStack: s3.bool('DualStack'),
      pathStyle: s3.bool('PathStyle'),
      accelerate: s3.bool('Accelerate'),
      roleArn: s3.string('RoleARN'),
      uploadRoleArn: s3.string('UploadRoleARN'),
      assumeRoleMaxConcurrency: s3.int('AssumeRoleMaxConcurrency', { min: -1 }),
    };
    s3.ignore('DisableAssumeRoleCredentialsCaching', 'an in-process credentials cache setting of GitLab Runner');
    s3.finish();
  }
  const gcs = r.section('gcs');
  if (gcs) {
    out.gcs = {
      credentialsFile: gcs.string('CredentialsFile'),
      accessId: gcs.string('AccessID'),
      privateKey: gcs.string('PrivateKey'),
      bucketName: gcs.string('BucketName'),
      universeDomain: gcs.string('UniverseDomain'),
    };
    gcs.finish();
  }
  const azure = r.section('azure');
  if (azure) {
    out.azure = {
      accountName: azure.string('AccountName'),
      accountKey: azure.string('AccountKey'),
      containerName: azure.string('ContainerName'),
      storageDomain: azure.string('StorageDomain'),
    };
    azure.finish();
  }
  r.finish();
  return out;
}
