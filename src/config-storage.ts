import { Type, type Static } from '@sinclair/typebox'
import { checkUrl, fail } from './config-checks.ts'

// The object storage settings of loadConfig() (config.ts): S3 or a compatible service (MinIO,
// Cloudflare R2, ...) when S3_BUCKET is set; unset, uploads stay on the local disk (UPLOAD_DIR).

export const StorageEnv = Type.Object({
  S3_BUCKET: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', description: 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)' })),
  S3_ENDPOINT: Type.Optional(Type.String({ description: 'an http(s) URL of an S3-compatible service (unset: AWS S3 in S3_REGION)' })),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1', description: 'a region name (auto for R2)' }),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1, description: 'an access key id' })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1, description: 'a secret access key' })),
  S3_FORCE_PATH_STYLE: Type.Boolean({ default: false, description: 'true or false (true: the bucket in the URL path, as MinIO and most self-hosted services need)' })
})

export interface S3Config {
  bucket: string
  /** Unset: AWS's own endpoint for the region. */
  endpoint: string | undefined
  region: string
  accessKeyId: string
  secretAccessKey: string
  forcePathStyle: boolean
}

/** Where uploads live: `s3` when S3_BUCKET is set (platform/s3-storage.ts), else the local uploadDir. */
export interface StorageConfig { s3: S3Config | undefined }

export function storageConfig (env: Static<typeof StorageEnv>): StorageConfig {
  checkUrl('S3_ENDPOINT', env.S3_ENDPOINT, ['http:', 'https:'])
  const bucket = env.S3_BUCKET
  if (bucket === undefined) {
    // Half a configuration would silently keep files on one machine's disk.
    for (const name of ['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const) {
      if (env[name] !== undefined) fail('S3_BUCKET', `is required with ${name} (unset, uploads stay on the local disk)`)
    }
    return { s3: undefined }
  }
  // Credentials come from here only, both together: never from whatever ~/.aws or AWS_* the process happens to see.
  if (env.S3_ACCESS_KEY_ID === undefined) fail('S3_ACCESS_KEY_ID', 'is required with S3_BUCKET (together with S3_SECRET_ACCESS_KEY)')
  if (env.S3_SECRET_ACCESS_KEY === undefined) fail('S3_SECRET_ACCESS_KEY', 'is required with S3_BUCKET (together with S3_ACCESS_KEY_ID)')
  return {
    s3: {
      bucket,
      endpoint: env.S3_ENDPOINT?.replace(/\/+$/, ''),
      region: env.S3_REGION,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      forcePathStyle: env.S3_FORCE_PATH_STYLE
    }
  }
}
