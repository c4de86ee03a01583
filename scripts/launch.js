import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parse as parseDotenv } from 'dotenv'

// node scripts/launch.js [--build <dir>] <entry.ts> [args...]: how `npm run start:api`,
// `start:worker`, `migrate` and `admin:create` start. With NODE_ENV=production (the environment,
// else `.env`, as config.ts reads it) the compiled build of the entry (`npm run build`, dist/),
// and no TypeScript loader in the process; anywhere else the TypeScript source through tsx, so
// development needs no build. Plain JavaScript: it runs before either exists.

const args = process.argv.slice(2)
let buildDir = 'dist'
if (args[0] === '--build') buildDir = args.splice(0, 2)[1] ?? ''
const [entry, ...rest] = args
if (!entry?.endsWith('.ts') || !buildDir) {
  process.stderr.write('usage: node scripts/launch.js [--build <dir>] <entry.ts> [args...]\n')
  process.exit(2)
}

const dotenv = () => (existsSync('.env') ? parseDotenv(readFileSync('.env')) : {})
const production = (process.env.NODE_ENV || dotenv().NODE_ENV) === 'production'

let file = resolve(entry)
if (production) {
  file = resolve(buildDir, entry.replace(/\.ts$/, '.js'))
  // Never a quiet fallback to the source: production would then run a loader after all.
  if (!existsSync(file)) {
    process.stderr.write(`${file} is missing: with NODE_ENV=production the compiled build runs; run \`npm run build\` first\n`)
    process.exit(1)
  }
} else {
  await import('tsx')
}

// The entry sees what `node <file> [args...]` would give it: its own path (entries start only
// when they are the main script) and its arguments.
file = realpathSync(file)
process.argv.splice(1, process.argv.length - 1, file, ...rest)
await import(pathToFileURL(file).href)
