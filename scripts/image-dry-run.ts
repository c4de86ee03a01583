import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { Redis } from 'ioredis'
import { parse as parseYaml } from 'yaml'
import { loadConfigOrExit } from '../src/config.ts'
import { childEnv } from './lib/dev-env.ts'
import { parseDockerfile, replay, type StageResult } from './lib/dockerfile.ts'
import { freePort, provideLocalServices, withDatabase } from './lib/local-services.ts'

// npm run test:image [-- --keep]: proves the Dockerfile builds and runs the compiled app, where
// no Docker engine is at hand. Its stages are replayed in a scratch folder outside the project
// (so nothing resolves from the project's own node_modules), with a scratch npm cache (as a
// fresh image build has); then, from the runtime stage's folder and as its USER, compose's
// `migrate` command migrates a scratch database, and the image's CMD (the API) and compose's
// worker command start in production against the local Postgres and Redis. Checked: /health/live
// and /health/ready answer 200, the image's HEALTHCHECK command succeeds, no TypeScript loader
// is in the processes' arguments, the runtime has no devDependency installed; the RSS of the
// API and the worker at idle is printed. Slow (two `npm ci`): its own command, not `npm test`.

const keep = process.argv.includes('--keep')
const results: Array<{ ok: boolean, name: string }> = []
const check = (ok: boolean, name: string, detail = ''): void => {
  results.push({ ok, name })
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${!ok && detail ? `\n  ${detail.trim().split('\n').join('\n  ')}` : ''}`)
}
const log = (line: string) => console.log(`# ${line}`)

const dockerfile = parseDockerfile(readFileSync('Dockerfile', 'utf8'))
const compose = parseYaml(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, { command?: string[] }> }
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean, devOptional?: boolean }> }

const scratch = mkdtempSync(join(tmpdir(), 'bazaar-image-'))
// The runtime runs as the image's USER, which must reach its files through this folder.
chmodSync(scratch, 0o755)
const baseEnv = {
  PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  HOME: process.env.HOME ?? '/root',
  npm_config_cache: join(scratch, 'npm-cache'),
  npm_config_update_notifier: 'false'
}

const config = loadConfigOrExit(childEnv({ NODE_ENV: 'test' }))
const services = await provideLocalServices({
  dataDir: config.dataDir,
  databaseUrl: config.databaseUrlSet ? config.databaseUrl : undefined,
  redisUrl: config.redisUrlSet ? config.redisUrl : undefined
})
const id = randomBytes(4).toString('hex')
const database = `bazaar_image_${id}`
const admin = new pg.Client({ connectionString: withDatabase(services.databaseUrl, 'postgres') })
await admin.connect()
const children: ChildProcess[] = []

function rssMiB (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
  return Math.round(Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024)
}

interface Started { child: ChildProcess, output: () => string, exit: Promise<number | null> }

/** Starts a command of the image from the runtime stage's folder, as its USER, with its ENV. */
function startInImage (runtime: StageResult, command: string[], env: Record<string, string>): Started {
  const asUser = runtime.user && process.getuid?.() === 0 ? { uid: runtime.user.uid, gid: runtime.user.gid } : {}
  const child = spawn(command[0]!, command.slice(1), {
    cwd: join(runtime.root, runtime.workdir),
    env: { ...baseEnv, ...runtime.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asUser
  })
  children.push(child)
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exit }
}

async function until (test: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (await test()) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return false
}

const status = (url: string) => fetch(url).then((r) => r.status, () => 0)
const loaderIn = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => /tsx|ts-node|--loader|--import|--experimental-strip-types/.test(a))

try {
  log(`replaying Dockerfile in ${scratch}`)
  const stages = await replay(dockerfile, { context: process.cwd(), scratch, baseEnv, log })
  const runtime = [...stages.values()].at(-1)!
  const app = join(runtime.root, runtime.workdir)
  check(true, `the Dockerfile's ${stages.size} stages replayed (npm ci, npm run build, npm ci --omit=dev)`)

  // Development-only packages: the lockfile's dev (and devOptional) ones, wherever they sit.
  const devOnly = Object.entries(lock.packages).filter(([path, p]) => path && (p.dev || p.devOptional)).map(([path]) => path)
  const devInstalled = devOnly.filter((path) => existsSync(join(app, path)))
  check(devOnly.some((path) => path === 'node_modules/typescript') && devOnly.some((path) => path === 'node_modules/tap'), `the lockfile marks ${devOnly.length} packages as development-only, typescript and tap among them`)
  check(devInstalled.length === 0 && !existsSync(join(app, 'node_modules/tsx')), 'the runtime has none of them installed (no typescript, tsx, tap)', devInstalled.join(', '))
  const runtimePackages = Object.keys(lock.packages).filter((path) => path && existsSync(join(app, path))).length
  log(`the runtime has ${runtimePackages} of the lockfile's ${Object.keys(lock.packages).length - 1} packages`)
  check(existsSync(join(app, 'dist/src/server.js')) && !existsSync(join(app, 'src')), 'the runtime holds the build (dist/), not the TypeScript source')
  check(runtime.user !== undefined && runtime.user.uid !== 0, `the runtime runs as a non-root user (${runtime.user?.uid ?? 'root'})`)
  check(runtime.env.NODE_ENV === 'production', 'the runtime sets NODE_ENV=production')

  await admin.query(`create database ${database}`)
  const secret = () => randomBytes(32).toString('base64url')
  const env: Record<string, string> = {
    DATABASE_URL: withDatabase(services.databaseUrl, database),
    REDIS_URL: services.redisUrl,
    REDIS_PREFIX: `img${id}:`,
    JWT_SECRET: secret(),
    ENCRYPTION_KEY: secret(),
    // Nothing listens there: no mail is sent while idle.
    SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
    STRIPE_SECRET_KEY: 'sk_test_' + secret(),
    STRIPE_WEBHOOK_SECRET: 'whsec_' + secret(),
    PORT: String(await freePort()),
    PUBLIC_URL: 'https://api.example.org',
    SHUTDOWN_DRAIN_MS: '0'
  }

  const migrateCommand = compose.services.migrate?.command ?? []
  const migrate = startInImage(runtime, migrateCommand, env)
  const migrated = await migrate.exit
  check(migrated === 0 && /applied /.test(migrate.output()), `compose's migrate (${migrateCommand.join(' ')}) migrates an empty database`, migrate.output())

  const api = startInImage(runtime, runtime.cmd ?? [], env)
  const base = `http://127.0.0.1:${env.PORT}`
  const live = await until(async () => api.child.exitCode === null && await status(`${base}/health/live`) === 200, 60000)
  check(live, `the image's CMD (${(runtime.cmd ?? []).join(' ')}) serves GET /health/live with 200`, api.output())
  check(await status(`${base}/health/ready`) === 200, 'GET /health/ready is 200 (Postgres and Redis reached)', api.output())
  check(loaderIn(api.child.pid!).length === 0, 'no TypeScript loader in the API process\'s arguments', loaderIn(api.child.pid!).join(' '))
  const probe = startInImage(runtime, runtime.healthcheck?.command ?? ['false'], env)
  check(await probe.exit === 0, 'the image\'s HEALTHCHECK command succeeds against it', probe.output())

  const workerCommand = compose.services.worker?.command ?? []
  const worker = startInImage(runtime, workerCommand, { ...env, LOG_LEVEL: 'info' })
  const workerStarted = await until(() => worker.output().includes('worker started') || worker.child.exitCode !== null, 60000) && worker.child.exitCode === null
  check(workerStarted, `compose's worker (${workerCommand.join(' ')}) starts`, worker.output())
  check(loaderIn(worker.child.pid!).length === 0, 'no TypeScript loader in the worker process\'s arguments')

  // Idle: let start-up garbage be collected as it would be, then read the resident set.
  await new Promise((resolve) => setTimeout(resolve, 10000))
  log(`RSS at idle: API ${rssMiB(api.child.pid!)} MiB, worker ${rssMiB(worker.child.pid!)} MiB`)

  api.child.kill('SIGTERM')
  worker.child.kill('SIGTERM')
  check(await api.exit === 0, 'the API stops cleanly on SIGTERM', api.output())
  check(await worker.exit === 0, 'the worker stops cleanly on SIGTERM', worker.output())
} catch (err) {
  check(false, 'the dry run completed', (err as Error).stack ?? String(err))
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await admin.query(`drop database if exists ${database} with (force)`).catch(() => {})
  await admin.end()
  const redis = new Redis(services.redisUrl)
  for (const prefix of [`img${id}:`, `{img${id}-bull}`]) {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
  }
  redis.disconnect()
  await services.stop()
  if (keep) log(`kept ${scratch}`)
  else rmSync(scratch, { recursive: true, force: true })
}

const failed = results.filter((r) => !r.ok).length
console.log(`${results.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
