import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { freePort } from '../../scripts/lib/local-services.ts'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { Redis } from 'ioredis'

// A private Redis server a test can stop and start again on the same port, to prove what
// happens while Redis is unreachable without disturbing other test files.

export interface PrivateRedis {
  url: string
  stop: () => Promise<void>
  start: () => Promise<void>
  close: () => Promise<void>
}

export async function startPrivateRedis (): Promise<PrivateRedis> {
  const bin = execFileSync('sh', ['-c', 'command -v redis-server']).toString().trim()
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'bazaar-redis-'))
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | null = null

  async function start (): Promise<void> {
    child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    for (let i = 0; i < 100; i++) {
      const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      probe.on('error', () => {})
      try {
        await probe.connect()
        await probe.ping()
        probe.disconnect()
        return
      } catch {
        probe.disconnect()
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    throw new Error('private redis did not start')
  }

  async function stop (): Promise<void> {
    if (!child) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
    child = null
  }

  await start()
  return {
    url,
    start,
    stop,
    async close () {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
