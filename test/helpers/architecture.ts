import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, posix } from 'node:path'
import ts from 'typescript'

// The rules of ARCHITECTURE.md that code can check, as pure functions over a map of files
// (repo-relative path → text), so test/architecture.test.ts can prove each one red on planted
// violations before it runs them on the real tree.

export type Files = ReadonlyMap<string, string>

export interface Violation {
  file: string
  line?: number
  message: string
}

export const format = (v: Violation): string => `${v.file}${v.line ? `:${v.line}` : ''} ${v.message}`

const MAX_LINES = 300
/** Generated from the schema; its length is the schema's. */
const SIZE_EXEMPT = new Set(['src/platform/db-types.ts'])

const parsed = new Map<string, ts.SourceFile>()
function parse (path: string, text: string): ts.SourceFile {
  const key = `${path}\0${text}`
  let source = parsed.get(key)
  if (!source) {
    source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
    parsed.set(key, source)
  }
  return source
}

function walk (node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node)
  node.forEachChild((child) => walk(child, visit))
}

const lineOf = (source: ts.SourceFile, node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1

function stringValue (node: ts.Node | undefined): string | undefined {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined
}

const isTs = (path: string) => path.endsWith('.ts')
export const moduleOf = (path: string): string | undefined => /^src\/modules\/([^/]+)\//.exec(path)?.[1]

// ---- Tables ----

export interface CreatedTable { table: string, file: string, line: number }

/** Tables the migrations create: `createTable('<name>')`. */
export function createdTables (files: Files): CreatedTable[] {
  const found: CreatedTable[] = []
  for (const [file, text] of files) {
    if (!file.startsWith('migrations/') || !isTs(file)) continue
    const source = parse(file, text)
    walk(source, (node) => {
      if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return
      if (node.expression.name.text !== 'createTable') return
      const table = stringValue(node.arguments[0])
      if (table !== undefined) found.push({ table: table.replace(/^public\./, ''), file, line: lineOf(source, node) })
    })
  }
  return found
}

/** Every table a migration creates has exactly one owner in the map, and the map names no other table. */
export function checkTableOwners (files: Files, owners: Readonly<Record<string, string>>): Violation[] {
  const created = createdTables(files)
  const violations: Violation[] = created
    .filter((c) => !(c.table in owners))
    .map((c) => ({ file: c.file, line: c.line, message: `creates table ${c.table}, which has no owner in the architecture test's table map` }))
  const names = new Set(created.map((c) => c.table))
  for (const table of Object.keys(owners)) {
    if (!names.has(table)) violations.push({ file: 'test/architecture.test.ts', message: `the table map names ${table}, which no migration creates` })
  }
  return violations
}

const KYSELY_TABLE_METHODS = new Set([
  'selectFrom', 'insertInto', 'replaceInto', 'updateTable', 'deleteFrom', 'mergeInto', 'using',
  'innerJoin', 'leftJoin', 'rightJoin', 'fullJoin', 'crossJoin',
  'innerJoinLateral', 'leftJoinLateral', 'crossJoinLateral', 'table'
])
// Table names in raw SQL, after the keyword that introduces a table.
const RAW_TABLE = /\b(?:from|join|update|into|using|truncate(?:\s+table)?|lock\s+table)\s+(?:only\s+)?(?:"?public"?\.)?"?([a-z_][a-z0-9_]*)"?/gi

export const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

export interface TableReference { table: string, line: number, via: string, at: number }

/** Table names, snake_case, as written in Kysely calls and raw SQL of one file; only names in `tables` count. */
export function tableReferences (file: string, text: string, tables: ReadonlySet<string>): TableReference[] {
  const source = parse(file, text)
  const found: TableReference[] = []
  const add = (name: string, node: ts.Node, via: string) => {
    const table = snakeCase(name.split(/\s+as\s+/i)[0]!.trim().replace(/^public\./, ''))
    if (tables.has(table)) found.push({ table, line: lineOf(source, node), via, at: node.getStart(source) })
  }
  const addRaw = (sqlText: string, node: ts.Node, via: string) => {
    for (const match of sqlText.matchAll(RAW_TABLE)) {
      const table = match[1]!.toLowerCase()
      if (tables.has(table)) found.push({ table, line: lineOf(source, node) + (sqlText.slice(0, match.index).match(/\n/g)?.length ?? 0), via, at: node.getStart(source) + match.index })
    }
  }
  walk(source, (node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text
      const [first] = node.arguments
      if (KYSELY_TABLE_METHODS.has(method) && first) {
        const elements = ts.isArrayLiteralExpression(first) ? [...first.elements] : [first]
        for (const element of elements) {
          const name = stringValue(element)
          if (name !== undefined) add(name, element, `${method}()`)
        }
      }
      // sql.raw('...') and a driver's client.query('...').
      const raw = stringValue(first)
      if (raw !== undefined && (method === 'raw' || method === 'query')) addRaw(raw, first!, `${method}()`)
    }
    if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && node.tag.text === 'sql') {
      const template = node.template
      const sqlText = ts.isNoSubstitutionTemplateLiteral(template)
        ? template.text
        : [template.head.text, ...template.templateSpans.map((span) => span.literal.text)].join(' $ ')
      addRaw(sqlText, node, 'sql``')
    }
  })
  // In source order (a chain of calls is walked outermost first).
  return found.sort((a, b) => a.at - b.at)
}

/** A file in src/modules/<m>/ queries only the tables <m> owns. */
export function checkTableAccess (files: Files, owners: Readonly<Record<string, string>>): Violation[] {
  const tables = new Set(Object.keys(owners))
  const violations: Violation[] = []
  for (const [file, text] of files) {
    const module = moduleOf(file)
    if (!module || !isTs(file)) continue
    for (const ref of tableReferences(file, text, tables)) {
      const owner = owners[ref.table]!
      if (owner !== module) violations.push({ file, line: ref.line, message: `queries ${ref.table} (owned by ${owner}) via ${ref.via}` })
    }
  }
  return violations
}

// ---- Imports ----

export interface Import { target: string, line: number, typeOnly: boolean }

/** Resolves a relative specifier against the importing file, the way `allowImportingTsExtensions` code writes them. */
export function resolveImport (from: string, specifier: string, files: Files): string {
  const base = posix.normalize(posix.join(posix.dirname(from), specifier))
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`]
  return candidates.find((c) => files.has(c)) ?? base
}

/** Relative imports of one file (static, re-exports, dynamic, type-only), resolved to repo paths. */
export function importsOf (file: string, text: string, files: Files): Import[] {
  const source = parse(file, text)
  const found: Import[] = []
  const add = (specifierNode: ts.Node | undefined, node: ts.Node, typeOnly: boolean) => {
    const specifier = stringValue(specifierNode)
    if (specifier === undefined || !specifier.startsWith('.')) return
    found.push({ target: resolveImport(file, specifier, files), line: lineOf(source, node), typeOnly })
  }
  walk(source, (node) => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node, node.importClause?.isTypeOnly ?? false)
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node, node.isTypeOnly)
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression, node, node.isTypeOnly)
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], node, false)
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, node, true)
  })
  return found
}

function allImports (files: Files): Array<Import & { file: string }> {
  const all: Array<Import & { file: string }> = []
  for (const [file, text] of files) {
    if (file.startsWith('src/') && isTs(file)) all.push(...importsOf(file, text, files).map((i) => ({ ...i, file })))
  }
  return all
}

/** The plugin of a module is registered by the app and nobody else. */
const MAY_IMPORT_PLUGINS = new Set(['src/app.ts'])
const isCompositionLayer = (path: string) => ['src/app.ts', 'src/server.ts', 'src/worker.ts'].includes(path) || path.startsWith('src/jobs/')

/**
 * Another module is reached through its public.ts only (its index.ts, the plugin, only from
 * src/app.ts); a module never imports the processes that compose it (app, server, worker, jobs).
 */
export function checkModuleImports (files: Files): Violation[] {
  const violations: Violation[] = []
  for (const { file, target, line, typeOnly } of allImports(files)) {
    const from = moduleOf(file)
    const to = moduleOf(target)
    const kind = typeOnly ? 'imports types from' : 'imports'
    if (from && isCompositionLayer(target)) {
      violations.push({ file, line, message: `${kind} ${target}: a module does not depend on the processes that compose it` })
    }
    if (!to || to === from) continue
    const inside = target.slice(`src/modules/${to}/`.length)
    if (inside === 'public.ts') continue
    if (inside === 'index.ts' && MAY_IMPORT_PLUGINS.has(file)) continue
    const why = inside === 'index.ts' ? `${to}'s plugin is registered by src/app.ts only` : `only src/modules/${to}/public.ts is ${to}'s public surface`
    violations.push({ file, line, message: `${kind} ${target}: ${why}` })
  }
  return violations
}

/** src/platform/ knows nothing of domains or processes: it imports only itself and src/config.ts. */
export function checkPlatformImports (files: Files): Violation[] {
  return allImports(files)
    .filter(({ file, target }) => file.startsWith('src/platform/') && target.startsWith('src/') && !target.startsWith('src/platform/') && target !== 'src/config.ts')
    .map(({ file, line, target, typeOnly }) => ({ file, line, message: `${typeOnly ? 'imports types from' : 'imports'} ${target}: platform code depends on no module or process` }))
}

/** Modules depend on each other in one direction: no two (or more) modules import each other. */
export function checkModuleCycles (files: Files): Violation[] {
  const edges = new Map<string, Map<string, string>>() // from → to → an example import
  for (const { file, target, line } of allImports(files)) {
    const from = moduleOf(file)
    const to = moduleOf(target)
    if (!from || !to || from === to) continue
    const out = edges.get(from) ?? new Map<string, string>()
    if (!out.has(to)) out.set(to, `${file}:${line} imports ${target}`)
    edges.set(from, out)
  }
  const violations: Violation[] = []
  const modules = [...new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])])].sort()
  // Pairs first: the common case, and the clearest message.
  for (const a of modules) {
    for (const b of modules) {
      if (a < b && edges.get(a)?.has(b) && edges.get(b)?.has(a)) {
        violations.push({ file: `src/modules/${a}`, message: `and src/modules/${b} import each other: ${edges.get(a)!.get(b)}; ${edges.get(b)!.get(a)}` })
      }
    }
  }
  // Longer cycles: for each module, the shortest way back to itself through two or more others.
  const reported = new Set<string>()
  for (const start of modules) {
    const previous = new Map<string, string>()
    const queue = [...(edges.get(start)?.keys() ?? [])]
    for (const next of queue) previous.set(next, start)
    while (queue.length) {
      const at = queue.shift()!
      for (const next of edges.get(at)?.keys() ?? []) {
        if (next === start) {
          const path = [at]
          while (path[0] !== start) path.unshift(previous.get(path[0]!)!)
          if (path.length < 3) continue
          const key = [...path].sort().join(',')
          if (!reported.has(key)) {
            reported.add(key)
            const steps = path.map((m, i) => edges.get(m)!.get(path[(i + 1) % path.length]!)!)
            violations.push({ file: `src/modules/${start}`, message: `is in an import cycle ${[...path, start].join(' -> ')}: ${steps.join('; ')}` })
          }
          queue.length = 0
          break
        }
        if (!previous.has(next) && next !== start) {
          previous.set(next, at)
          queue.push(next)
        }
      }
    }
  }
  return violations
}

// ---- Size ----

export const lineCount = (text: string) => text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0)

/** Files stay a few hundred lines at most; the email hub is gone for good (templates live in their domains). */
export function checkFileSizes (files: Files): Violation[] {
  const violations: Violation[] = []
  for (const [file, text] of files) {
    if (!file.startsWith('src/') || SIZE_EXEMPT.has(file)) continue
    const lines = lineCount(text)
    if (lines > MAX_LINES) violations.push({ file, message: `has ${lines} lines (at most ${MAX_LINES}): split it along its concepts` })
  }
  if (files.has('src/emails.ts')) violations.push({ file: 'src/emails.ts', message: 'exists: each domain defines its templates and exports them through its public.ts' })
  return violations
}

// ---- The real tree ----

/** src/ and migrations/ of the working tree; a file moved away while being read is skipped. */
export function readTree (root: string, dirs = ['src', 'migrations']): Map<string, string> {
  const files = new Map<string, string>()
  for (const dir of dirs) {
    let entries: string[]
    try {
      entries = readdirSync(join(root, dir), { recursive: true }) as string[]
    } catch {
      continue
    }
    for (const entry of entries.sort()) {
      const path = posix.join(dir, entry.split('\\').join('/'))
      try {
        if (statSync(join(root, path)).isFile()) files.set(path, readFileSync(join(root, path), 'utf8'))
      } catch {}
    }
  }
  return files
}
