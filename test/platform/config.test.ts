import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { clusterNodeCredentials } from '../../src/platform/redis.ts'
import { loadConfig } from '../../src/config.ts'
import { devSecrets, devSecretsEnv } from '../../scripts/lib/dev-env.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'

const dataDir = () => mkdtempSync(join(tmpdir(), 'bazaar-config-'))

t.test('a malformed DATABASE_URL stops the server entry with one line naming it', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, ...WITHOUT_COVERAGE, NODE_ENV: 'development', DATA_DIR: dataDir(), DATABASE_URL: 'not a url', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  let stdout = ''
  child.stderr.on('data', (chunk) => { stderr += chunk })
  child.stdout.on('data', (chunk) => { stdout += chunk })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.not(code, 0, 'exits non-zero')
  const lines = stderr.trim().split('\n')
  t.equal(lines.length, 1, 'exactly one line on stderr')
  t.match(lines[0], /^Invalid environment: DATABASE_URL /)
  t.equal(stdout, '', 'nothing else is printed')
})

t.test('each bad variable is named', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^Invalid environment: PORT must be a port number/],
    [{ REDIS_URL: 'http://localhost:6379' }, /^Invalid environment: REDIS_URL must be a URL starting with redis:\/\/ or rediss:\/\//],
    [{ NODE_ENV: 'staging' }, /^Invalid environment: NODE_ENV must be one of development, test, production/],
    [{ JWT_SECRET: 'short' }, /^Invalid environment: JWT_SECRET must be a secret of at least 32 bytes/],
    [{ CORS_ORIGINS: 'https://ok.example,ftp://bad' }, /^Invalid environment: CORS_ORIGINS must be a URL starting with http:\/\/ or https:\/\//],
    [{ LOG_LEVEL: 'loud' }, /^Invalid environment: LOG_LEVEL must be a pino level/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir(), ...env }), { message }, Object.keys(env).join())
  }
})

t.test('production requires its own secrets and services', async (t) => {
  const dir = dataDir()
  const complete = {
    NODE_ENV: 'production',
    DATA_DIR: dir,
    DATABASE_URL: 'postgres://u:p@db/bazaar',
    REDIS_URL: 'redis://cache:6379',
    SMTP_URL: 'smtp://mail:587',
    STRIPE_SECRET_KEY: 'sk_live_x',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
    PUBLIC_URL: 'https://api.example.org',
    JWT_SECRET: 'a'.repeat(40),
    ENCRYPTION_KEY: 'b'.repeat(40)
  }
  t.equal(loadConfig(complete).env, 'production')
  t.throws(() => loadConfig({ ...complete, JWT_SECRET: undefined }), { message: /JWT_SECRET is required in production/ })
  t.throws(() => loadConfig({ ...complete, DATABASE_URL: undefined }), { message: /DATABASE_URL is required in production/ })
  t.throws(() => loadConfig({ ...complete, STRIPE_SECRET_KEY: undefined }), { message: /STRIPE_SECRET_KEY is required in production/ })
  t.throws(() => loadConfig({ ...complete, PUBLIC_URL: undefined }), { message: /PUBLIC_URL is required in production/ }, 'links must name the address clients use')
  t.throws(() => loadConfig({ ...complete, ENCRYPTION_KEY: 'change-me-change-me-change-me-change-me' }), { message: /ENCRYPTION_KEY is a development default/ })
  t.throws(() => loadConfig({ ...complete, REDIS_URL: undefined }), { message: /REDIS_URL is required in production/ })

  // A Redis Cluster alone is enough; REDIS_URL, when given, only lends its credentials and TLS.
  const cluster = loadConfig({ ...complete, REDIS_URL: undefined, REDIS_CLUSTER_NODES: 'r1:7000,[fd00::2]:7001' })
  t.same(cluster.redisClusterNodes, [{ host: 'r1', port: 7000 }, { host: 'fd00::2', port: 7001 }])
  t.same(clusterNodeCredentials(cluster.redisUrl), {}, 'no credentials, no TLS')
  const secured = loadConfig({ ...complete, REDIS_URL: 'rediss://app:s%40cret@ignored', REDIS_CLUSTER_NODES: 'r1:7000' })
  t.same(clusterNodeCredentials(secured.redisUrl), { username: 'app', password: 's@cret', tls: {} })
  t.throws(() => loadConfig({ ...complete, REDIS_CLUSTER_NODES: 'r1' }), { message: /REDIS_CLUSTER_NODES must be comma-separated host:port seed nodes \(got "r1"\)/ })
  t.throws(() => loadConfig({ ...complete, REDIS_URL: 'redis://cache:6379/2', REDIS_CLUSTER_NODES: 'r1:7000' }), { message: /REDIS_URL cannot name a database index with REDIS_CLUSTER_NODES/ })

  // The development secrets generated in this data folder are refused in production.
  const dev = devSecrets(dir)
  t.ok(dev.jwtSecret.length >= 32, 'development generates a secret')
  t.equal(devSecrets(dir).jwtSecret, dev.jwtSecret, 'and keeps it in the data folder')
  t.throws(() => loadConfig({ ...complete, JWT_SECRET: dev.jwtSecret }), { message: /JWT_SECRET is a development default/ })
})

t.test('development without secrets stops, naming the variable and where to get it', async (t) => {
  const dir = dataDir()
  const secret = 'c'.repeat(40)
  t.throws(() => loadConfig({ NODE_ENV: 'development', DATA_DIR: dir, ENCRYPTION_KEY: secret }),
    { message: `Invalid environment: JWT_SECRET is not set: \`npm start\` (or any development command) generates development secrets into ${join(dir, 'secrets.json')}; or set it in .env` })
  t.throws(() => loadConfig({ NODE_ENV: 'development', DATA_DIR: dir, JWT_SECRET: secret }),
    { message: /^Invalid environment: ENCRYPTION_KEY is not set: .*; or set it in \.env$/ })
  t.throws(() => loadConfig({ NODE_ENV: 'development', DATA_DIR: dir }), { message: /^Invalid environment: JWT_SECRET is not set/ })
  t.equal(loadConfig({ NODE_ENV: 'development', DATA_DIR: dir, JWT_SECRET: secret, ENCRYPTION_KEY: secret }).jwtSecret, secret)
})

t.test('development processes started on their own share the data folder\'s secrets', async (t) => {
  const dir = dataDir()
  const dev = devSecrets(dir)
  const api = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir })
  const worker = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir })
  t.equal(api.jwtSecret, dev.jwtSecret)
  t.equal(api.encryptionKey, dev.encryptionKey)
  t.equal(worker.encryptionKey, api.encryptionKey, 'an API and a worker can open what the other sealed')
  const secret = 'd'.repeat(40)
  t.equal(loadConfig({ NODE_ENV: 'development', DATA_DIR: dir, JWT_SECRET: secret }).jwtSecret, secret, 'the environment wins')
})

t.test('tests without secrets get throwaway ones, in memory', async (t) => {
  const dir = dataDir()
  const one = loadConfig({ NODE_ENV: 'test', DATA_DIR: dir })
  const two = loadConfig({ NODE_ENV: 'test', DATA_DIR: dir })
  t.ok(one.jwtSecret.length >= 32 && one.encryptionKey.length >= 32)
  t.not(one.jwtSecret, one.encryptionKey)
  t.not(one.encryptionKey, two.encryptionKey, 'a new pair per call')
  t.notOk(existsSync(join(dir, 'secrets.json')), 'nothing is written')
})

t.test('the development commands supply the data folder\'s secrets, unless they are set', async (t) => {
  const dir = dataDir()
  const dev = devSecrets(dir)
  t.same(devSecretsEnv({ NODE_ENV: 'development', DATA_DIR: dir }), { JWT_SECRET: dev.jwtSecret, ENCRYPTION_KEY: dev.encryptionKey })
  t.same(devSecretsEnv({ DATA_DIR: dir, JWT_SECRET: 'd'.repeat(40) }), { ENCRYPTION_KEY: dev.encryptionKey }, 'only the missing one')
  t.same(devSecretsEnv({ NODE_ENV: 'production', DATA_DIR: dir }), {}, 'never in production')
  const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir, ...devSecretsEnv({ NODE_ENV: 'development', DATA_DIR: dir }) })
  t.equal(config.encryptionKey, dev.encryptionKey)

  // .env counts as set: the children read it themselves.
  writeFileSync(join(dir, '.env'), `JWT_SECRET=${'e'.repeat(40)}\n`)
  const cwd = process.cwd()
  process.chdir(dir)
  t.teardown(() => process.chdir(cwd))
  t.same(devSecretsEnv({ NODE_ENV: 'development', DATA_DIR: dir }), { ENCRYPTION_KEY: dev.encryptionKey })
})

t.test('.env fills what the environment leaves unset', async (t) => {
  const dir = dataDir()
  writeFileSync(join(dir, '.env'), 'PORT=4321\nLOG_LEVEL=debug\n')
  const cwd = process.cwd()
  process.chdir(dir)
  t.teardown(() => process.chdir(cwd))
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dir, LOG_LEVEL: 'warn' })
  t.equal(config.port, 4321)
  t.equal(config.logLevel, 'warn', 'the environment wins over .env')
})

t.test('payment settings (issue 14): commission, Connect webhook secret, Connect country', async (t) => {
  const base = { NODE_ENV: 'test', DATA_DIR: dataDir() }
  const defaults = loadConfig(base)
  t.same(defaults.payments, { commissionBps: 1000, connectAccountCountry: undefined }, 'default commission 10 %, Stripe\'s default country')
  t.equal(defaults.stripe.connectWebhookSecret, undefined, 'no Connect secret unless set')

  const set = loadConfig({ ...base, PLATFORM_COMMISSION_BPS: '1250', STRIPE_CONNECT_WEBHOOK_SECRET: 'whsec_abc123', CONNECT_ACCOUNT_COUNTRY: 'DE' })
  t.same(set.payments, { commissionBps: 1250, connectAccountCountry: 'DE' })
  t.equal(set.stripe.connectWebhookSecret, 'whsec_abc123')
  t.equal(loadConfig({ ...base, PLATFORM_COMMISSION_BPS: '0' }).payments.commissionBps, 0, 'no commission is allowed')
  t.equal(loadConfig({ ...base, PLATFORM_COMMISSION_BPS: '10000' }).payments.commissionBps, 10000, 'nor is all of it')

  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PLATFORM_COMMISSION_BPS: '10001' }, /^Invalid environment: PLATFORM_COMMISSION_BPS must be an integer 0-10000/],
    [{ PLATFORM_COMMISSION_BPS: '-1' }, /^Invalid environment: PLATFORM_COMMISSION_BPS must be an integer 0-10000/],
    [{ PLATFORM_COMMISSION_BPS: '12.5' }, /^Invalid environment: PLATFORM_COMMISSION_BPS must be an integer 0-10000/],
    [{ PLATFORM_COMMISSION_BPS: 'ten percent' }, /^Invalid environment: PLATFORM_COMMISSION_BPS must be an integer 0-10000/],
    [{ STRIPE_CONNECT_WEBHOOK_SECRET: 'sk_live_oops' }, /^Invalid environment: STRIPE_CONNECT_WEBHOOK_SECRET must be a Stripe webhook signing secret \(whsec_/],
    [{ CONNECT_ACCOUNT_COUNTRY: 'de' }, /^Invalid environment: CONNECT_ACCOUNT_COUNTRY must be a two-letter upper-case country code/],
    [{ CONNECT_ACCOUNT_COUNTRY: 'DEU' }, /^Invalid environment: CONNECT_ACCOUNT_COUNTRY must be a two-letter upper-case country code/],
    [{ STRIPE_API_URL: 'ftp://stripe' }, /^Invalid environment: STRIPE_API_URL must be a URL starting with http:\/\/ or https:\/\//]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig({ ...base, ...env }), { message }, Object.entries(env).map(([k, v]) => `${k}=${v}`).join())
  }
})
