import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import type { S3Config } from '../../src/platform/s3-storage.ts'

// A real S3-compatible server (s3rver, from npm) in a child process of its own, with one bucket,
// on a free port; what the app stored is read back through the S3 API, as another copy would.

export interface TestS3 {
  /** Settings for Config.storage.s3 (s3rver's fixed credentials, path-style addressing). */
  config: S3Config
  /** s3rver's process id (a watchdog outside this process may have to kill it). */
  pid: number
  /** A client of the test's own on the same bucket. */
  client: S3Client
  /** Every key in the bucket, sorted. */
  keys: () => Promise<string[]>
  close: () => Promise<void>
}

// tap's coverage hook rides along in NODE_OPTIONS; a third-party server is not ours to cover
// (test/helpers/child-coverage.ts says why children record none).
const WITHOUT_COVERAGE = { _TAPJS_PROCESSINFO_COVERAGE_: '0' }

const S3RVER_BIN = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js')

export async function startS3Server (bucket = 'bazaar-test', parentDir = tmpdir()): Promise<TestS3> {
  const dir = mkdtempSync(join(parentDir, 'bazaar-s3-'))
  const child = spawn(process.execPath, [S3RVER_BIN, '--directory', dir, '--address', '127.0.0.1', '--port', '0', '--silent', '--configure-bucket', bucket], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // A third-party server: not ours to cover.
    env: { ...process.env, ...WITHOUT_COVERAGE }
  })
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${output}`)), 15000)
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      // It prints this line even when --silent, once the bucket exists and it listens.
      const listening = /listening on [^:]+:(\d+)/.exec(output)
      if (listening) {
        clearTimeout(timer)
        resolve(Number(listening[1]))
      }
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`s3rver exited (${code}): ${output}`))
    })
  })

  const config: S3Config = {
    bucket,
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true
  }
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
  })
  return {
    config,
    pid: child.pid!,
    client,
    keys: async () => {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }))
      return (listed.Contents ?? []).map((object) => object.Key!).sort()
    },
    close: async () => {
      client.destroy()
      if (child.exitCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGKILL')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
