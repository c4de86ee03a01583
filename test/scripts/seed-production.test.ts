import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { testConfig } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { createDatabase } from '../../src/platform/db.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'

// The seed creates accounts with a published password: it must never run against production,
// even with a complete, valid production environment.

t.test('npm run seed refuses NODE_ENV=production with a clear message, a non-zero exit and nothing written', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const config = testConfig()
  const secret = () => randomBytes(32).toString('base64url')
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/seed.ts'], {
    env: {
      ...process.env,
      ...WITHOUT_COVERAGE,
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      REDIS_URL: config.redisUrl,
      REDIS_PREFIX: config.redisPrefix,
      SMTP_URL: 'smtp://127.0.0.1:2525',
      JWT_SECRET: secret(),
      ENCRYPTION_KEY: secret(),
      STRIPE_SECRET_KEY: 'sk_test_' + secret(),
      STRIPE_WEBHOOK_SECRET: 'whsec_' + secret(),
      PUBLIC_URL: 'https://api.example.org',
      DATA_DIR: config.dataDir,
      LOG_LEVEL: 'warn'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => { stdout += chunk })
  child.stderr.on('data', (chunk) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))

  t.not(code, 0, 'a non-zero exit')
  t.match(stderr, /npm run seed refuses NODE_ENV=production/, 'says why')
  t.notMatch(stdout, /Seeded/)
  const { db, destroy } = createDatabase({ databaseUrl: database.url, databasePoolMax: 1 })
  const users = await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  await destroy()
  t.equal(Number(users.n), 0, 'nothing was written')
})
