import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'
import { createTestEnv } from '../helpers/app.ts'
import { createEmptyDatabase } from '../helpers/database.ts'
import { processEnv } from '../helpers/processes.ts'
import { freePort } from '../../scripts/lib/local-services.ts'
import type { Config } from '../../src/config.ts'

// Production runs the compiled build (`npm run build`), not TypeScript through a loader. The
// build goes to a scratch folder inside the project (so the compiled files find package.json
// and node_modules as dist/ does); production-mode processes start from it through
// scripts/launch.js, as `npm run migrate`, `start:api` and `start:worker` start them.

const outDir = join('tmp', `build-test-${randomBytes(4).toString('hex')}`)
t.teardown(() => rmSync(outDir, { recursive: true, force: true }))

interface Run { code: number | null, stdout: string, stderr: string }

function run (args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => { stdout += chunk })
  child.stderr.on('data', (chunk) => { stderr += chunk })
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
}

const secret = () => randomBytes(32).toString('base64url')

/** A complete production environment (what config.ts demands), on a test's database and prefixes. */
function productionEnv (config: Config, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return processEnv(config, {
    NODE_ENV: 'production',
    // No loader may ride along in the environment either (tap puts its hooks there), nor coverage.
    NODE_OPTIONS: '',
    ...WITHOUT_COVERAGE,
    JWT_SECRET: secret(),
    ENCRYPTION_KEY: secret(),
    SMTP_URL: 'smtp://127.0.0.1:2525',
    STRIPE_SECRET_KEY: 'sk_test_' + secret(),
    STRIPE_WEBHOOK_SECRET: 'whsec_' + secret(),
    PUBLIC_URL: 'https://api.example.org',
    SHUTDOWN_DRAIN_MS: '0',
    ...overrides
  })
}

const migrationNames = readdirSync('migrations').filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort()

t.before(async () => {
  const build = await run(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { ...process.env, ...WITHOUT_COVERAGE })
  if (build.code !== 0) throw new Error(`the build failed:\n${build.stdout}${build.stderr}`)
})

t.test('the build holds every production entry point and migration, importing .js files only', async (t) => {
  for (const entry of ['src/server.js', 'src/worker.js', 'scripts/migrate.js', 'scripts/admin-create.js']) {
    t.ok(existsSync(join(outDir, entry)), entry)
  }
  t.same(readdirSync(join(outDir, 'migrations')).filter((f) => f.endsWith('.js')).map((f) => f.replace(/\.js$/, '')).sort(), migrationNames)
  const emitted = readdirSync(outDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'))
  const tsImports = emitted.filter((f) => /(?:from|import\()\s*["']\.{1,2}\/[^"']*\.ts["']/.test(readFileSync(join(outDir, f), 'utf8')))
  t.same(tsImports, [], 'no emitted file imports a .ts path')
  t.same(emitted.filter((f) => f.startsWith('test')), [], 'no tests in the build')
})

t.test('in production, migrate applies the compiled migrations, under the names the source gives them', async (t) => {
  const env = await createTestEnv(t, { api: false })
  const empty = await createEmptyDatabase()
  t.teardown(() => empty.drop())
  const config = { ...env.config, databaseUrl: empty.url }

  const up = await run(['scripts/launch.js', '--build', outDir, 'scripts/migrate.ts', 'up'], productionEnv(config))
  t.equal(up.code, 0, up.stderr)
  t.same(up.stdout.trim().split('\n'), migrationNames.map((name) => `applied ${name}`))

  // The same database seen through the source (tsx): nothing pending, nothing unknown.
  const status = await run(['scripts/launch.js', 'scripts/migrate.ts', 'status'], processEnv(config))
  t.equal(status.code, 0, status.stderr)
  const lines = status.stdout.trim().split('\n')
  t.same(lines.map((line) => line.split(/\s+/).at(-1)), migrationNames)
  t.ok(lines.every((line) => line.startsWith('applied ')), 'every migration counts as applied')
})

t.test('in production, the compiled API and worker start and stop, with no TypeScript loader', async (t) => {
  const env = await createTestEnv(t, { api: false })
  const port = await freePort()
  const api = spawn(process.execPath, ['scripts/launch.js', '--build', outDir, 'src/server.ts'], {
    env: productionEnv(env.config, { PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let apiOutput = ''
  api.stdout.on('data', (chunk) => { apiOutput += chunk })
  api.stderr.on('data', (chunk) => { apiOutput += chunk })
  const apiExit = new Promise<number | null>((resolve) => api.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (api.exitCode === null) api.kill('SIGKILL') })

  let ready: { status?: string } | undefined
  for (let i = 0; i < 300 && api.exitCode === null && !ready; i++) {
    ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(async (r) => (r.ok ? await r.json() as { status?: string } : undefined), () => undefined)
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(ready?.status, 'ok', `ready on the compiled build\n${apiOutput}`)
  const args = readFileSync(`/proc/${api.pid}/cmdline`, 'utf8').split('\0')
  t.notOk(args.some((arg) => /tsx|ts-node|--loader|--import/.test(arg)), `no loader in ${args.join(' ')}`)

  const worker = spawn(process.execPath, ['scripts/launch.js', '--build', outDir, 'src/worker.ts'], {
    env: productionEnv(env.config, { LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let workerOutput = ''
  const started = new Promise<boolean>((resolve) => {
    const seen = (chunk: Buffer) => {
      workerOutput += chunk
      if (workerOutput.includes('worker started')) resolve(true)
    }
    worker.stdout.on('data', seen)
    worker.stderr.on('data', seen)
    worker.on('exit', () => resolve(false))
  })
  const workerExit = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (worker.exitCode === null) worker.kill('SIGKILL') })
  t.ok(await started, `the compiled worker started\n${workerOutput}`)

  api.kill('SIGTERM')
  worker.kill('SIGTERM')
  t.equal(await apiExit, 0, 'the API stops cleanly on SIGTERM')
  t.equal(await workerExit, 0, 'the worker stops cleanly on SIGTERM')
})

t.test('in production, a missing build is an error, never a quiet fallback to the TypeScript source', async (t) => {
  const env = await createTestEnv(t, { api: false })
  const missing = join('tmp', `no-build-${randomBytes(4).toString('hex')}`)
  const result = await run(['scripts/launch.js', '--build', missing, 'src/server.ts'], productionEnv(env.config))
  t.equal(result.code, 1)
  t.match(result.stderr, /src\/server\.js is missing: .*run `npm run build` first/)
  t.equal(result.stdout, '')
})
