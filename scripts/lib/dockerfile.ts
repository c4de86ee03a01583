import { spawn } from 'node:child_process'
import { chownSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, posix, relative } from 'node:path'

// Reads a Dockerfile and replays its stages on this machine, for where no Docker engine runs
// (scripts/image-dry-run.ts): each stage's filesystem is a folder, COPY copies (from the build
// context, minus .dockerignore, or from an earlier stage), RUN runs the command in the stage's
// WORKDIR with its ENV. The machine's Node stands in for the base image's. Only the
// instructions the project's Dockerfile uses are understood; anything else is an error, never
// skipped in silence.

export interface Instruction { keyword: string, args: string, line: number }

export interface Stage {
  name: string
  /** The base image, build arguments substituted. */
  from: string
  instructions: Instruction[]
}

export interface Dockerfile {
  /** Build arguments declared before the first FROM, with their defaults. */
  args: Record<string, string>
  stages: Stage[]
}

/** Instructions split out, continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile (text: string): Dockerfile {
  const instructions: Instruction[] = []
  let pending = ''
  let start = 0
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd()
    if (!pending && (line.trim() === '' || line.trimStart().startsWith('#'))) return
    if (pending && line.trimStart().startsWith('#')) return
    if (!pending) start = i + 1
    pending += (pending ? ' ' : '') + line.trim().replace(/\\$/, '').trim()
    if (line.endsWith('\\')) return
    const match = /^(\w+)\s*(.*)$/.exec(pending)
    if (!match) throw new Error(`Dockerfile:${start}: cannot read "${pending}"`)
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: start })
    pending = ''
  })
  const args: Record<string, string> = {}
  const stages: Stage[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/)
      stages.push({ name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length), from: substitute(image ?? '', args), instructions: [] })
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile:${instruction.line}: ${instruction.keyword} before FROM`)
      Object.assign(args, assignments(instruction.args, args))
    } else {
      stages.at(-1)!.instructions.push(instruction)
    }
  }
  return { args, stages }
}

/** `${NAME}`, `$NAME` and `${NAME:-default}` from vars, as Docker substitutes them. */
export function substitute (value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (_, braced?: string, fallback?: string, bare?: string) => {
    const found = vars[(braced ?? bare)!]
    return found !== undefined && found !== '' ? found : (fallback ?? '')
  })
}

/** `A=1 B="two words"` (ENV, ARG); the legacy `ENV NAME value` form too. */
export function assignments (args: string, vars: Record<string, string> = {}): Record<string, string> {
  const result: Record<string, string> = {}
  if (!args.includes('=')) {
    const [name, ...value] = args.split(/\s+/)
    result[name!] = value.join(' ')
    return result
  }
  for (const match of args.matchAll(/(\w+)(?:=("(?:[^"\\]|\\.)*"|\S*))?/g)) {
    const value = match[2] ?? ''
    // As Docker does: `$X` means X's value before this instruction, even when it sets X too.
    result[match[1]!] = substitute(value.startsWith('"') ? JSON.parse(value) as string : value, vars)
  }
  return result
}

/** The JSON (exec) form of CMD, RUN, HEALTHCHECK CMD; undefined for the shell form. */
export function execForm (args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined
  const parsed: unknown = JSON.parse(args)
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`)
  return parsed
}

/** `--name=value` options in front of an instruction's arguments, and the rest. */
export function options (args: string): { flags: Record<string, string>, rest: string } {
  const flags: Record<string, string> = {}
  let rest = args
  for (let m = /^--([\w-]+)=(\S+)\s+/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    flags[m[1]!] = m[2]!
    rest = rest.slice(m[0].length)
  }
  return { flags, rest }
}

export interface StageResult {
  /** The folder standing for the stage's filesystem root. */
  root: string
  /** WORKDIR, as the container sees it (absolute). */
  workdir: string
  env: Record<string, string>
  /** USER as uid:gid (numeric only), when set. */
  user?: { uid: number, gid: number }
  cmd?: string[]
  healthcheck?: { command: string[], flags: Record<string, string> }
  expose: string[]
}

/** The .dockerignore patterns as a test of a context-relative path (a match excludes a folder's contents too). */
export function dockerignore (context: string): (path: string) => boolean {
  const file = join(context, '.dockerignore')
  const rules = existsSync(file)
    ? readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    : []
  const compiled = rules.map((rule) => {
    const negate = rule.startsWith('!')
    const glob = posix.normalize((negate ? rule.slice(1) : rule).replace(/^\/+/, ''))
    const source = glob.split(/(\*\*\/|\*\*|\*|\?)/).map((part) =>
      part === '**/' ? '(?:.*/)?' : part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('')
    return { negate, test: new RegExp(`^${source}(?:/.*)?$`) }
  })
  return (path) => {
    let excluded = false
    for (const rule of compiled) if (rule.test.test(path)) excluded = !rule.negate
    return excluded
  }
}

function runShell (command: string[], cwd: string, env: Record<string, string>, user: StageResult['user'], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const asUser = user && process.getuid?.() === 0 ? { uid: user.uid, gid: user.gid } : {}
    const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], ...asUser })
    const forward = (chunk: Buffer) => { for (const line of String(chunk).split('\n')) if (line.trim()) log(`    ${line}`) }
    child.stdout.on('data', forward)
    child.stderr.on('data', forward)
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command.join(' ')} exited with ${code}`))))
  })
}

export interface ReplayOptions {
  /** The build context (the project folder). */
  context: string
  /** An empty folder; each stage gets a folder in it. */
  scratch: string
  /** The environment RUN commands start from (PATH, HOME, npm's cache...), under the stage's ENV. */
  baseEnv: Record<string, string>
  log: (line: string) => void
}

/** Replays every stage in order; returns each stage's final state by name. */
export async function replay (dockerfile: Dockerfile, { context, scratch, baseEnv, log }: ReplayOptions): Promise<Map<string, StageResult>> {
  const stages = new Map<string, StageResult>()
  const ignored = dockerignore(context)
  for (const stage of dockerfile.stages) {
    log(`stage ${stage.name} (FROM ${stage.from}: this machine's Node ${process.version} stands in)`)
    const result: StageResult = { root: join(scratch, stage.name), workdir: '/', env: {}, expose: [] }
    mkdirSync(result.root, { recursive: true })
    const inStage = (path: string) => join(result.root, isAbsolute(path) ? path : posix.join(result.workdir, path))
    for (const { keyword, args, line } of stage.instructions) {
      const where = `Dockerfile:${line}`
      const vars = { ...dockerfile.args, ...result.env }
      log(`  ${keyword} ${args.length > 100 ? args.slice(0, 97) + '...' : args}`)
      if (keyword === 'WORKDIR') {
        result.workdir = posix.resolve(result.workdir, substitute(args, vars))
        mkdirSync(inStage('.'), { recursive: true })
      } else if (keyword === 'ENV') {
        Object.assign(result.env, assignments(args, vars))
      } else if (keyword === 'ARG') {
        for (const [name, value] of Object.entries(assignments(args, vars))) result.env[name] ??= dockerfile.args[name] ?? value
      } else if (keyword === 'COPY') {
        const { flags, rest } = options(args)
        const parts = execForm(rest) ?? rest.split(/\s+/)
        const dest = inStage(substitute(parts.at(-1)!, vars))
        const sources = parts.slice(0, -1)
        const from = flags.from === undefined ? undefined : stages.get(flags.from)
        if (flags.from !== undefined && !from) throw new Error(`${where}: COPY --from=${flags.from}: no such earlier stage`)
        const intoFolder = sources.length > 1 || parts.at(-1)!.endsWith('/') || parts.at(-1) === '.'
        for (const source of sources) {
          const path = from ? join(from.root, source) : join(context, source)
          if (!from && ignored(posix.normalize(source))) throw new Error(`${where}: COPY ${source} is excluded by .dockerignore`)
          if (!existsSync(path)) throw new Error(`${where}: COPY ${source}: not found`)
          const target = statSync(path).isDirectory() ? dest : (intoFolder ? join(dest, basename(path)) : dest)
          mkdirSync(statSync(path).isDirectory() ? target : dirname(target), { recursive: true })
          cpSync(path, target, {
            recursive: true,
            filter: (file) => from !== undefined || !ignored(relative(context, file).split('\\').join('/') || '.')
          })
          if (flags.chown) chownTree(target, flags.chown)
        }
      } else if (keyword === 'RUN') {
        const command = execForm(args) ?? ['/bin/sh', '-c', args]
        // The stage's files live elsewhere here: an absolute path would reach this machine's own.
        if (/(^|[\s;&|=])\/(?!dev\/null)/.test(execForm(args) ? command.join(' ') : args)) {
          throw new Error(`${where}: RUN uses an absolute path; write it relative to WORKDIR so the dry run can replay it`)
        }
        await runShell(command, inStage('.'), { ...baseEnv, ...result.env }, result.user, log)
      } else if (keyword === 'USER') {
        const m = /^(\d+)(?::(\d+))?$/.exec(substitute(args, vars))
        if (!m) throw new Error(`${where}: USER must be numeric (uid[:gid])`)
        result.user = { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) }
      } else if (keyword === 'EXPOSE') {
        result.expose.push(...substitute(args, vars).split(/\s+/))
      } else if (keyword === 'CMD') {
        result.cmd = execForm(args) ?? ['/bin/sh', '-c', args]
      } else if (keyword === 'HEALTHCHECK') {
        const { flags, rest } = options(args)
        const command = /^CMD\s+(.*)$/.exec(rest)?.[1]
        if (!command) throw new Error(`${where}: HEALTHCHECK must name a CMD`)
        result.healthcheck = { command: execForm(command) ?? ['/bin/sh', '-c', command], flags }
      } else if (keyword !== 'LABEL') {
        throw new Error(`${where}: ${keyword} is not something the dry run can replay`)
      }
    }
    stages.set(stage.name, result)
  }
  return stages
}

function chownTree (path: string, owner: string): void {
  const m = /^(\d+)(?::(\d+))?$/.exec(owner)
  if (!m) throw new Error(`--chown=${owner}: numeric uid[:gid] only`)
  if (process.getuid?.() !== 0) return
  const uid = Number(m[1])
  const gid = Number(m[2] ?? m[1])
  chownSync(path, uid, gid)
  if (lstatSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), owner)
}
