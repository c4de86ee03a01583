import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { assignments, dockerignore, execForm, parseDockerfile, replay, type Stage } from '../../scripts/lib/dockerfile.ts'

// The Dockerfile's shape (multi-stage, production dependencies only, non-root, a HEALTHCHECK on
// /health/live, node as PID 1), and the replayer behind `npm run test:image`, which proves the
// Dockerfile builds and runs where no Docker engine is at hand. The full replay (two npm ci) is
// that command's; here the replayer runs on a small Dockerfile of its own.

const dockerfile = parseDockerfile(readFileSync('Dockerfile', 'utf8'))
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args)
const one = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1)?.args

t.test('the build stage compiles with every dependency; the runtime stage has production ones only', async (t) => {
  t.equal(dockerfile.stages.length, 2)
  const [build, runtime] = dockerfile.stages as [Stage, Stage]
  t.equal(build.from, runtime.from, 'both on the same Node image')
  t.match(build.from, /^node:20[.-]/, 'Node 20, as package.json engines says')
  t.ok(runs(build).some((r) => /^npm ci\b/.test(r) && !r.includes('--omit')), 'build: npm ci with devDependencies')
  t.ok(runs(build).includes('npm run build'), 'build: npm run build')
  t.ok(runs(runtime).some((r) => /^npm ci .*--omit=dev/.test(r)), 'runtime: npm ci --omit=dev')
  t.ok(runtime.instructions.some((i) => i.keyword === 'COPY' && /--from=build \/app\/dist /.test(i.args)), 'runtime: the build copied from the build stage')
  t.notOk(runtime.instructions.some((i) => i.keyword === 'COPY' && /^(\.\/)?src\b/.test(i.args)), 'runtime: no TypeScript source')
})

t.test('the runtime runs as a non-root user, in production, node as PID 1', async (t) => {
  const runtime = dockerfile.stages.at(-1)!
  const env = Object.assign({}, ...runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => assignments(i.args))) as Record<string, string>
  t.equal(env.NODE_ENV, 'production')
  t.equal(env.HOST, '0.0.0.0')
  const user = one(runtime, 'USER')
  t.match(user, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root user (runAsNonRoot can check it)')
  const lastRun = runtime.instructions.findLastIndex((i) => i.keyword === 'RUN')
  t.ok(runtime.instructions.findIndex((i) => i.keyword === 'USER') > lastRun, 'USER after the last RUN: nothing runs as root at run time')
  const cmd = execForm(one(runtime, 'CMD')!)!
  t.equal(cmd[0], 'node', 'node itself, so SIGTERM reaches it')
  t.equal(cmd.at(-1), 'dist/src/server.js')
  t.notOk(cmd.some((a) => /tsx|--import|--loader/.test(a)), 'no TypeScript loader')
  const healthcheck = one(runtime, 'HEALTHCHECK')!
  const probe = execForm(healthcheck.replace(/^.*?CMD\s+/, ''))!
  t.equal(probe[0], 'node', 'the probe is node (slim images have no curl)')
  t.match(probe.join(' '), /fetch\('http:\/\/127\.0\.0\.1:' \+ \(process\.env\.PORT \|\| 3000\) \+ '\/health\/live'\)/)
})

t.test('.dockerignore keeps dependencies, builds, local data and secrets out of the context', async (t) => {
  const ignored = dockerignore('.')
  for (const path of ['node_modules', 'node_modules/pg/package.json', 'dist', 'data/secrets.json', '.git', '.env', '.env.production', 'tmp', '.tap', 'coverage']) {
    t.ok(ignored(path), `${path} is left out`)
  }
  for (const path of ['package.json', 'package-lock.json', 'src/server.ts', 'migrations', 'scripts/launch.js', 'tsconfig.build.json', '.env.example']) {
    t.notOk(ignored(path), `${path} is sent`)
  }
})

t.test('the replayer: COPY from the context and from a stage, .dockerignore, ARG, ENV, WORKDIR, RUN, USER', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bazaar-replay-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const context = join(dir, 'context')
  mkdirSync(join(context, 'src/nested'), { recursive: true })
  writeFileSync(join(context, 'src/a.txt'), 'a')
  writeFileSync(join(context, 'src/nested/b.txt'), 'b')
  writeFileSync(join(context, 'src/secret.key'), 'never copied')
  writeFileSync(join(context, 'package.json'), '{}')
  writeFileSync(join(context, '.dockerignore'), '# comment\n**/*.key\n')
  writeFileSync(join(context, 'Dockerfile'), [
    'ARG BASE=node:20-bookworm-slim',
    'FROM $BASE AS build',
    'WORKDIR /app',
    'COPY package.json ./',
    'COPY src ./src',
    'ENV GREETING="hello there" \\',
    '  OTHER=$GREETING!',
    'ENV LATER=$GREETING!',
    'RUN mkdir -p out && cat src/a.txt src/nested/b.txt > out/ab.txt && echo "$GREETING" > out/env.txt && pwd > out/pwd.txt',
    'FROM $BASE AS runtime',
    'WORKDIR /srv',
    'COPY --from=build /app/out ./out',
    'USER 1000:1000',
    'HEALTHCHECK --interval=5s CMD ["node", "-e", "0"]',
    'CMD ["node", "main.js"]'
  ].join('\n'))
  const parsed = parseDockerfile(readFileSync(join(context, 'Dockerfile'), 'utf8'))
  t.same(parsed.stages.map((s) => [s.name, s.from]), [['build', 'node:20-bookworm-slim'], ['runtime', 'node:20-bookworm-slim']])
  const lines: string[] = []
  const stages = await replay(parsed, { context, scratch: join(dir, 'scratch'), baseEnv: { PATH: process.env.PATH ?? '' }, log: (l) => lines.push(l) })
  const build = stages.get('build')!
  const runtime = stages.get('runtime')!
  const app = join(build.root, 'app')
  t.equal(readFileSync(join(app, 'out/ab.txt'), 'utf8'), 'ab', 'a folder is copied with its contents, RUN runs in WORKDIR')
  t.equal(readFileSync(join(app, 'out/pwd.txt'), 'utf8').trim(), app)
  t.notOk(existsSync(join(app, 'src/secret.key')), '.dockerignore applies to what COPY copies')
  t.equal(readFileSync(join(app, 'out/env.txt'), 'utf8'), 'hello there\n', 'RUN sees ENV')
  t.same(build.env, { GREETING: 'hello there', OTHER: '!', LATER: 'hello there!' }, 'an ENV sees the values from before it, as Docker\'s does')
  t.equal(readFileSync(join(runtime.root, 'srv/out/ab.txt'), 'utf8'), 'ab', 'COPY --from takes the earlier stage\'s files')
  t.same(runtime.user, { uid: 1000, gid: 1000 })
  t.same(runtime.cmd, ['node', 'main.js'])
  t.same(runtime.healthcheck, { command: ['node', '-e', '0'], flags: { interval: '5s' } })
  t.equal(runtime.workdir, '/srv')
  t.ok(dockerignore(context)('top.key'), '**/ matches no folder too')
  t.notOk(dockerignore(context)('src/a.txt'))

  const fails = async (lines: string[], message: RegExp) => {
    const file = parseDockerfile(['FROM node:20 AS only', 'WORKDIR /app', ...lines].join('\n'))
    await t.rejects(replay(file, { context, scratch: join(dir, `s${Math.random()}`), baseEnv: {}, log: () => {} }), message, lines.join('; '))
  }
  await fails(['COPY src/secret.key ./'], /Dockerfile:3: COPY src\/secret\.key is excluded by \.dockerignore/)
  await fails(['COPY missing ./'], /COPY missing: not found/)
  await fails(['RUN mkdir -p /app/data'], /RUN uses an absolute path/)
  await fails(['RUN exit 3'], /exited with 3/)
  await fails(['USER node'], /USER must be numeric/)
  await fails(['ADD https://example.org/x.tgz ./'], /ADD is not something the dry run can replay/)
  await fails(['COPY --from=nowhere /x ./'], /no such earlier stage/)
})
