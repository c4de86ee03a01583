import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'

// SPEC 10 (issue 15, item 6): `npm start` on a machine where no Postgres and no Redis run, and
// none is configured, starts project-local ones from the machine's binaries with their data
// under DATA_DIR, migrates, serves, and stops them again on Ctrl-C. This machine runs servers on
// the default ports; a network namespace of its own (unshare -n, as root) is a machine without
// them, where npm start takes those ports itself.

function pidIn (file: string): number | null {
  try { return Number(readFileSync(file, 'utf8').split('\n')[0]!.trim()) || null } catch { return null }
}

t.test('npm start without Postgres or Redis: project-local servers under DATA_DIR, started, used, and stopped on Ctrl-C', async (t) => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it runs npm start in a network namespace of its own (unshare -n)')
  // Under /tmp itself, not TMPDIR: the postgres user (npm start runs Postgres as it, being root)
  // must be able to enter DATA_DIR, and a runner's TMPDIR (the topology's) may be private to root.
  const dataDir = mkdtempSync(join('/tmp', 'bazaar-start-'))
  chmodSync(dataDir, 0o755)
  t.teardown(() => {
    // Should a run fail halfway, the servers it started must not outlive the test.
    for (const file of [join(dataDir, 'postgres', 'postmaster.pid'), join(dataDir, 'redis', 'redis.pid')]) {
      const pid = pidIn(file)
      if (pid) try { process.kill(pid, 'SIGKILL') } catch {}
    }
    rmSync(dataDir, { recursive: true, force: true })
  })
  // A machine where nothing is configured: none of the runner's settings (its DATABASE_URL, or the
  // topology run's REDIS_CLUSTER_NODES, S3_*, DATABASE_READ_URL...) reaches npm start.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: '/tmp', ...WITHOUT_COVERAGE, DATA_DIR: dataDir }
  const child = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" --import tsx test/fixtures/start-without-services.ts', process.execPath], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => { stdout += chunk })
  child.stderr.on('data', (chunk) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
  t.ok(line, `the fixture reported (exit ${code}; ${stderr.slice(-2000)})`)
  const result = JSON.parse(line!.slice('RESULT '.length))
  const output = result.output as string
  t.comment(output)

  t.same(result.before, { postgres: false, redis: false }, 'nothing answered on 5432 or 6379 before')
  t.match(output, `creating a Postgres cluster in ${join(dataDir, 'postgres')}`, 'a cluster under DATA_DIR')
  t.match(output, `starting Postgres on 127.0.0.1:5432 (data in ${join(dataDir, 'postgres')})`)
  t.match(output, `starting Redis on 127.0.0.1:6379 (data in ${join(dataDir, 'redis')})`)
  t.match(output, 'applied 20261121_01_outbox', 'migrated')
  t.match(output, 'Press Ctrl-C to stop.')
  t.match(result.ready, { status: 200, body: { checks: { postgres: { status: 'up' }, redis: { status: 'up' } } } }, 'ready: Postgres and Redis answer')
  t.same(result.categories, { status: 200, body: { items: [] } }, 'the API reads its database')
  t.equal(result.signup, 202, 'a sign-up goes through (Redis, the queue)')
  t.same(result.during, { postgres: true, redis: true })
  t.same(result.services, { databaseUrl: 'postgres://postgres:postgres@127.0.0.1:5432/bazaar', redisUrl: 'redis://127.0.0.1:6379' }, 'recorded for the one-off commands')
  t.ok(existsSync(join(dataDir, 'postgres', 'PG_VERSION')), 'the cluster stays for next time')

  t.equal(result.exitCode, 0, 'Ctrl-C stops everything and exits 0')
  t.match(output, 'stopping redis')
  t.match(output, 'stopping postgres')
  t.same(result.after, { postgres: false, redis: false, api: false }, 'the API and both servers are gone')
  t.equal(code, 0)
})
