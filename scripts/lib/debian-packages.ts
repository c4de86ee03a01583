import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { childEnv } from './dev-env.ts'

// What the development commands and the test suites need from the machine (Postgres, Redis,
// Chromium, docker-compose) comes from Debian's packages, installed when missing and we are
// root on Debian (CI machines start bare); anywhere else the caller says what to install.

const run = promisify(execFile)

export const canInstallDebianPackages = (): boolean => process.getuid?.() === 0 && existsSync('/etc/debian_version')

/** apt-get installs `packages`, or throws `unavailable` where it cannot (not root, not Debian). */
export async function installDebianPackages (packages: string[], unavailable: string, log: (msg: string) => void): Promise<void> {
  if (!canInstallDebianPackages()) throw new Error(unavailable)
  log(`installing ${packages.join(' ')} from Debian's packages (this happens once)`)
  const env = childEnv({ DEBIAN_FRONTEND: 'noninteractive' })
  await run('apt-get', ['update', '-q'], { env, maxBuffer: 64 * 1024 * 1024 })
  await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { env, maxBuffer: 64 * 1024 * 1024 })
}
