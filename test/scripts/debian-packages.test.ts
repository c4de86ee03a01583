import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import t from 'tap'
import { canInstallDebianPackages, installDebianPackages } from '../../scripts/lib/debian-packages.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'

// SPEC 10 (issue 15, item 6): npm start (and npm test) install Debian's packages for Postgres and
// Redis when they are missing and they run as root on Debian; anywhere else they say what to
// install. Both paths, as far as a test can reach them without removing the machine's servers:
// the real apt-get run as root (for packages that are there, it changes nothing), and the refusal
// as an unprivileged user, which must not run apt-get at all.

const run = promisify(execFile)

t.test('as root on Debian, the packages npm start needs are installed by apt-get, non-interactively', async (t) => {
  if (!canInstallDebianPackages()) throw new Error('this test needs root on Debian (the CI machine and the test machine are)')
  t.ok(existsSync('/etc/debian_version'))
  const said: string[] = []
  await installDebianPackages(['redis-server', 'postgresql'], 'unavailable', (msg) => said.push(msg))
  t.same(said, ['installing redis-server postgresql from Debian\'s packages (this happens once)'], 'it says what it installs')
  for (const name of ['redis-server', 'postgresql']) {
    const { stdout } = await run('dpkg-query', ['--status', name])
    t.match(stdout, /^Status: install ok installed$/m, `${name} is installed`)
  }
  await t.rejects(installDebianPackages(['bazaar-no-such-package'], 'unavailable', () => {}), /apt-get|Unable to locate package/, 'a package apt cannot find fails loudly, not silently')
})

t.test('as an unprivileged user, nothing is installed: the caller\'s message says what to do', async (t) => {
  const script = "import('./scripts/lib/debian-packages.ts').then((m) => m.installDebianPackages(['postgresql'], 'postgresql not found; install postgresql or set DATABASE_URL / REDIS_URL', (msg) => console.log('LOG', msg)))" +
    ".then(() => console.log('INSTALLED'), (err) => console.log('REFUSED', err.message))"
  const { stdout } = await run('runuser', ['-u', 'nobody', '--', 'env', 'HOME=/tmp', 'TMPDIR=/tmp', `_TAPJS_PROCESSINFO_COVERAGE_=${WITHOUT_COVERAGE._TAPJS_PROCESSINFO_COVERAGE_}`, process.execPath, '--import', 'tsx', '-e', script], { cwd: process.cwd() })
  t.equal(stdout.trim(), 'REFUSED postgresql not found; install postgresql or set DATABASE_URL / REDIS_URL', 'refused with the message, and apt-get never ran (no log line)')
})
