import { existsSync } from 'node:fs'
import { installDebianPackages } from './debian-packages.ts'

// The browser tests drive Debian's Chromium (puppeteer-core, which downloads no browser). Like
// the local services (local-services.ts), it is installed from Debian's packages when missing
// and we are root on Debian; anywhere else the tests stop and say what to install.

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** The path of a Chromium executable, installing Debian's `chromium` package when it is missing. */
export async function provideChromium (log: (msg: string) => void = (msg) => process.stderr.write(`${msg}\n`)): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH
  await installDebianPackages(['chromium'], `Chromium is missing at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium), or run the browser tests as root on Debian, which installs it`, log)
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`chromium was installed but ${CHROMIUM_PATH} is missing`)
  return CHROMIUM_PATH
}

/** Chromium's command-line switches for a headless test run (root cannot use its sandbox). */
export function chromiumArgs (): string[] {
  const args = ['--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check']
  if (process.getuid?.() === 0) args.push('--no-sandbox')
  return args
}
