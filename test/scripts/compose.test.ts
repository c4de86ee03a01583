import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { assignments, execForm, parseDockerfile } from '../../scripts/lib/dockerfile.ts'
import { installDebianPackages } from '../../scripts/lib/debian-packages.ts'

// docker-compose.yml runs migrations once, then the API and the worker from the image, next to
// Postgres, Redis and the mail catcher; its development use (`docker compose up -d postgres
// redis mailpit`) must still start without any secret.

const run = promisify(execFile)

interface Service {
  build?: string
  image?: string
  command?: string[]
  restart?: string
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test?: string[], disable?: boolean }
  volumes?: string[]
  ports?: string[]
}

const text = readFileSync('docker-compose.yml', 'utf8')
const compose = parseYaml(text, { merge: true }) as { services: Record<string, Service>, volumes: Record<string, unknown> }
const { services } = compose
const runtime = parseDockerfile(readFileSync('Dockerfile', 'utf8')).stages.at(-1)!
const imageEnv = Object.assign({}, ...runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => assignments(i.args))) as Record<string, string>

const secrets = {
  JWT_SECRET: randomBytes(32).toString('base64url'),
  ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
  STRIPE_SECRET_KEY: 'sk_live_' + randomBytes(12).toString('hex'),
  STRIPE_WEBHOOK_SECRET: 'whsec_' + randomBytes(12).toString('hex')
}

/** Compose's interpolation of `${VAR}`, `${VAR:-default}` and `${VAR-default}` from vars. */
function interpolate (value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?:(:?)([-?])([^}]*))?\}/g, (_, name: string, colon: string, op: string | undefined, word: string) => {
    const given = vars[name]
    const missing = given === undefined || (colon === ':' && given === '')
    if (op === '?') throw new Error(`\${${name}:?...}: compose would demand it for every service, the development ones too`)
    return missing && op === '-' ? word : (given ?? '')
  })
}

/** What a container of the service sees: the image's ENV, then the service's environment. */
function containerEnv (service: Service, vars: Record<string, string>): Record<string, string> {
  const env = { ...imageEnv }
  for (const [name, value] of Object.entries(service.environment ?? {})) env[name] = interpolate(String(value), vars)
  return env
}

t.test('migrate runs once, then the API and the worker, all from the one image', async (t) => {
  t.same(Object.keys(services).sort(), ['api', 'mailpit', 'migrate', 'postgres', 'redis', 'worker'])
  for (const name of ['migrate', 'api', 'worker']) {
    t.equal(services[name]!.build, '.', `${name} is built from the Dockerfile`)
    t.equal(services[name]!.image, services.api!.image, `${name} shares the API's image`)
  }
  t.same(services.migrate!.command, ['node', 'dist/scripts/migrate.js', 'up'])
  t.equal(services.migrate!.restart, 'no', 'migrate runs once')
  t.equal(services.api!.command, undefined, 'the API is the image\'s CMD')
  t.same(execForm(runtime.instructions.find((i) => i.keyword === 'CMD')!.args), ['node', '--max-old-space-size=512', '--max-semi-space-size=8', 'dist/src/server.js'])
  t.same(services.worker!.command, ['node', '--max-old-space-size=512', '--max-semi-space-size=8', 'dist/src/worker.js'])
  t.equal(services.api!.restart, 'unless-stopped')
  t.equal(services.worker!.restart, 'unless-stopped')
})

t.test('the API and the worker wait for a successful migrate and for healthy Postgres and Redis', async (t) => {
  for (const name of ['api', 'worker']) {
    t.same(services[name]!.depends_on, {
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' }
    }, name)
  }
  t.same(services.migrate!.depends_on, { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } })
  t.match(services.postgres!.healthcheck?.test?.join(' '), /pg_isready/)
  t.match(services.redis!.healthcheck?.test?.join(' '), /redis-cli ping/)
  // The API keeps the image's HEALTHCHECK (GET /health/live); the others have no port to probe.
  t.equal(services.api!.healthcheck, undefined)
  t.match(runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args, /\/health\/live/)
  t.equal(services.worker!.healthcheck?.disable, true)
  t.equal(services.migrate!.healthcheck?.disable, true)
})

t.test('Redis keeps what BullMQ needs: append-only on, noeviction', async (t) => {
  const args = services.redis!.command!.join(' ')
  t.match(args, /--appendonly yes/)
  t.match(args, /--maxmemory-policy noeviction/)
  t.ok(services.redis!.volumes?.some((v) => v.endsWith(':/data')), 'its append-only file is on a volume')
})

t.test('the API and the worker share the uploads folder', async (t) => {
  t.ok(services.api!.volumes?.includes('uploads:/app/data'))
  t.ok(services.worker!.volumes?.includes('uploads:/app/data'))
  t.ok('uploads' in compose.volumes)
})

t.test('with the secrets supplied, every app service\'s environment is a valid production configuration', async (t) => {
  for (const name of ['migrate', 'api', 'worker']) {
    const config = loadConfig(containerEnv(services[name]!, secrets))
    t.equal(config.env, 'production', name)
    t.equal(new URL(config.databaseUrl).host, 'postgres:5432', `${name}: Postgres by its service name`)
    t.equal(config.redisUrl, 'redis://redis:6379')
    t.equal(config.smtpUrl, 'smtp://mailpit:1025', 'mail goes to the mail catcher unless SMTP_URL is set')
    t.equal(config.jwtSecret, secrets.JWT_SECRET)
    t.equal(config.trustProxy, false, 'clients reach the API directly: no forwarded address is believed')
    t.equal(config.host, '0.0.0.0', 'the API listens on every interface of its container')
    t.equal(config.port, 3000)
  }
  t.ok(services.api!.ports?.includes('127.0.0.1:3000:3000'))
  const config = loadConfig(containerEnv(services.api!, { ...secrets, TRUST_PROXY: 'uniquelocal', PUBLIC_URL: 'https://api.example.org', S3_BUCKET: 'bazaar-uploads', S3_ACCESS_KEY_ID: 'id', S3_SECRET_ACCESS_KEY: 'secret' }))
  t.same(config.trustProxy, ['uniquelocal'], 'TRUST_PROXY passes through')
  t.equal(config.publicUrl, 'https://api.example.org')
  t.equal(config.storage.s3?.bucket, 'bazaar-uploads', 'S3 settings pass through')
  t.equal(loadConfig(containerEnv(services.api!, secrets)).storage.s3, undefined, 'unset, they stay off: uploads on the volume')
})

t.test('without a secret, the app refuses to start and names it (compose itself does not demand it)', async (t) => {
  for (const missing of Object.keys(secrets)) {
    const vars: Record<string, string> = { ...secrets }
    delete vars[missing]
    t.throws(() => loadConfig(containerEnv(services.migrate!, vars)), new ConfigError(`Invalid environment: ${missing} is required in production`))
  }
})

t.test('docker compose config accepts the file, with and without the secrets', async (t) => {
  // The Compose plugin (`docker compose`), else the standalone `docker-compose` (Debian's 1.29),
  // installed when missing as the suite installs its other tools.
  const findCompose = (): Promise<string[] | undefined> => run('docker', ['compose', 'version']).then(() => ['docker', 'compose'], () =>
    run('docker-compose', ['version']).then(() => ['docker-compose'], () => undefined))
  let compose = await findCompose()
  if (!compose) {
    await installDebianPackages(['docker-compose'], 'neither the Docker Compose plugin nor docker-compose is installed: install one (apt-get install docker-compose), or run the tests as root on Debian, which installs it', (msg) => t.comment(msg))
    compose = await findCompose()
  }
  if (!compose) throw new Error('docker-compose was installed but does not run')
  const [command, ...first] = compose as [string, ...string[]]
  const withSecrets = await run(command, [...first, 'config'], { env: { ...process.env, ...secrets } })
  const rendered = parseYaml(withSecrets.stdout) as { services: Record<string, Service> }
  const config = loadConfig({ ...imageEnv, ...rendered.services.api!.environment })
  t.equal(config.jwtSecret, secrets.JWT_SECRET, `${compose.join(' ')} config: its rendering of the API environment is a valid production configuration`)
  // No secret needed to read the file: development starts postgres, redis and mailpit from it.
  const bare = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(name in secrets)))
  await t.resolves(run(command, [...first, 'config', '--quiet'], { env: bare }), `${compose.join(' ')} config --quiet, no secret set`)
})
