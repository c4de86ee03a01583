import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'

// The topology's API and worker processes, started the way production starts them
// (`node scripts/launch.js src/server.ts`, `src/worker.ts`, configured by environment alone),
// each with its log in a file; a watchdog kills each one if the process that started it dies.

export type ProcessKind = 'api' | 'worker'

export interface AppProcess {
  name: string
  kind: ProcessKind
  pid: number
  /** The API's address, or the worker's metrics address (GET /metrics, bearer METRICS_TOKEN). */
  url: string
  port: number
  /** Everything it wrote to stdout and stderr so far (also in its log file). */
  output: () => string
  /** Resolves with the exit code (or the signal's name) once it exited. */
  exited: Promise<number | string>
  alive: () => boolean
  signal: (signal: NodeJS.Signals) => void
  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`); nothing when it already exited. */
  stop: (graceMs?: number) => Promise<number | string>
}

const ENTRY: Record<ProcessKind, string> = { api: 'src/server.ts', worker: 'src/worker.ts' }

/** Kills `pid` once `parent` is gone (SIGKILL of the parent runs no exit handler of its). */
function watchdog (parent: number, pid: number): void {
  const dog = spawn('sh', ['-c', `while kill -0 ${parent} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; kill -9 ${pid} 2>/dev/null`], { stdio: 'ignore', detached: true })
  dog.unref()
}

async function ready (kind: ProcessKind, url: string, token: string): Promise<boolean> {
  try {
    const res = kind === 'api'
      ? await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) })
      : await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) })
    await res.arrayBuffer()
    return res.status === 200
  } catch {
    return false
  }
}

export interface StartProcessOptions {
  name: string
  kind: ProcessKind
  port: number
  /** The whole environment of the process. */
  env: NodeJS.ProcessEnv
  logDir: string
  timeoutMs?: number
}

/** Starts one process and resolves once it is ready (API: /health/ready 200; worker: its metrics answer). */
export async function startAppProcess (options: StartProcessOptions): Promise<AppProcess> {
  const { kind, port, env } = options
  const child: ChildProcess = spawn(process.execPath, ['scripts/launch.js', ENTRY[kind]], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const log = createWriteStream(join(options.logDir, `${options.name}.log`), { flags: 'a' })
  let output = ''
  const take = (chunk: Buffer) => {
    output += chunk.toString()
    log.write(chunk)
  }
  child.stdout!.on('data', take)
  child.stderr!.on('data', take)
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => {
    log.end()
    resolve(code ?? signal ?? -1)
  }))
  const onExit = () => child.kill('SIGKILL')
  process.once('exit', onExit)
  exited.then(() => process.off('exit', onExit), () => {})
  watchdog(process.pid, child.pid!)

  const alive = () => child.exitCode === null && child.signalCode === null
  const url = `http://127.0.0.1:${port}`
  const proc: AppProcess = {
    name: options.name,
    kind,
    pid: child.pid!,
    url,
    port,
    output: () => output,
    exited,
    alive,
    signal: (signal) => { if (alive()) child.kill(signal) },
    stop: async (graceMs = 30_000) => {
      if (!alive()) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
  const deadline = Date.now() + (options.timeoutMs ?? 90_000)
  while (!(await ready(kind, url, env.METRICS_TOKEN ?? ''))) {
    if (!alive()) throw new Error(`${options.name} exited before it was ready:\n${output}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${options.name} was not ready within ${options.timeoutMs ?? 90_000} ms:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return proc
}
