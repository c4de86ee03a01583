import { fileURLToPath } from 'node:url'
import t from 'tap'
import {
  checkFileSizes, checkModuleCycles, checkModuleImports, checkPlatformImports, checkTableAccess, checkTableOwners,
  format, importsOf, moduleOf, readTree, tableReferences, type Files, type Violation
} from './helpers/architecture.ts'

// ARCHITECTURE.md, checked statically (no app, no database): one owner per table, modules
// reached only through their public.ts, a platform that knows no domain, no import cycles
// between modules, files of a few hundred lines. Each check is first shown to catch planted
// violations, then run on the working tree.

/** The module that reads and writes each table (snake_case, as the migrations create them). */
const TABLE_OWNERS: Record<string, string> = {
  addresses: 'users',
  cart_items: 'cart',
  cart_promotions: 'promotions',
  categories: 'products',
  category_counts: 'products',
  checkouts: 'orders',
  order_history: 'orders',
  order_items: 'orders',
  ledger_entries: 'ledger',
  orders: 'orders',
  outbox: 'platform',
  payment_events: 'payments',
  payment_reviews: 'orders',
  payout_accounts: 'payouts',
  product_images: 'products',
  product_moderation: 'products',
  product_variants: 'products',
  products: 'products',
  promotion_customer_uses: 'promotions',
  promotion_redemptions: 'promotions',
  promotions: 'promotions',
  refunds: 'orders',
  sessions: 'sessions',
  shipping_rates: 'shipping',
  tax_rates: 'taxes',
  transfer_reversals: 'ledger',
  users: 'users',
  vendor_profiles: 'vendor-profiles',
  vendor_transfers: 'ledger',
  workspace_invitations: 'workspaces',
  workspace_members: 'workspaces',
  workspaces: 'workspaces'
}

const CHECKS: Array<[string, (files: Files) => Violation[]]> = [
  ['every table a migration creates has an owner', (files) => checkTableOwners(files, TABLE_OWNERS)],
  ['no module queries a table another module owns', (files) => checkTableAccess(files, TABLE_OWNERS)],
  ['modules reach each other only through public.ts', checkModuleImports],
  ['platform code imports no module or process', checkPlatformImports],
  ['no two modules import each other', checkModuleCycles],
  ['files stay under 300 lines; src/emails.ts is gone', checkFileSizes]
]

const migration = (tables: string[]) => `import type { Kysely } from 'kysely'
export async function up (db: Kysely<any>): Promise<void> {
${tables.map((name) => `  await db.schema.createTable('${name}').addColumn('id', 'uuid').execute()`).join('\n')}
}
`
/** Source text from lines; `#{` stands for `${` (a placeholder in a plain string is a lint error). */
const code = (...source: string[]) => source.join('\n').replaceAll('#{', '${') + '\n'
const lines = (n: number) => Array.from({ length: n }, (_, i) => `export const line${i} = ${i}`).join('\n') + '\n'

/** A small tree that keeps every rule, and the same tree with one planted violation per rule. */
function cleanTree (): Map<string, string> {
  return new Map([
    ['migrations/20260101_01_all.ts', migration(Object.keys(TABLE_OWNERS))],
    ['src/app.ts', "import cart from './modules/cart/index.ts'\nimport { listCart } from './modules/cart/public.ts'\nexport { cart, listCart }\n"],
    ['src/worker.ts', "import { orderEmails } from './modules/orders/public.ts'\nexport { orderEmails }\n"],
    ['src/jobs/order-expiry.ts', "import { expireOrders } from '../modules/orders/public.ts'\nexport { expireOrders }\n"],
    ['src/platform/outbox.ts', "import type { Config } from '../config.ts'\nimport { newId } from './clock.ts'\nexport const relay = (trx: any, c: Config) => trx.selectFrom('outbox').select(newId(c))\n"],
    ['src/platform/clock.ts', 'export const newId = (x: unknown) => String(x)\n'],
    ['src/config.ts', 'export interface Config { port: number }\n'],
    ['src/modules/cart/index.ts', "import { listCart } from './service.ts'\nexport default listCart\n"],
    ['src/modules/cart/public.ts', "export { listCart } from './service.ts'\n"],
    ['src/modules/cart/service.ts', code(
      "import { sql } from 'kysely'",
      "import { onSale } from '../products/public.ts'",
      "import type { OrderView } from '../orders/public.ts'",
      "import { addToOutbox } from '../../platform/outbox.ts'",
      'export async function listCart (db: any, userId: string): Promise<OrderView[]> {',
      "  await addToOutbox(db, 'email', 'cart-reminder', {})",
      '  await sql`select extract(epoch from now()) as at, count(*) from cart_items where user_id = #{userId}`.execute(db)',
      "  if (!userId) throw new Error('remove the item from orders first')",
      "  return db.selectFrom('cartItems as ci').where(onSale).selectAll().execute()",
      '}'
    )],
    ['src/modules/products/public.ts', "export const onSale = (eb: any) => eb.selectFrom('productVariants').select('id')\n"],
    ['src/modules/orders/public.ts', "export { orderEmails } from './emails.ts'\nexport type { OrderView } from './service.ts'\nexport { expireOrders } from './service.ts'\n"],
    ['src/modules/orders/emails.ts', 'export const orderEmails = {}\n'],
    ['src/modules/orders/service.ts', "import type { Config } from '../../config.ts'\nexport interface OrderView { id: string }\nexport const expireOrders = (db: any, c: Config) => db.updateTable('orders').set({ c }).execute()\n"],
    ['src/modules/orders/long.ts', lines(300)],
    ['src/platform/db-types.ts', lines(900)]
  ])
}

/** Runs every check over `files`: their violations, formatted, by check. */
function run (files: Files): Record<string, string[]> {
  return Object.fromEntries(CHECKS.map(([name, check]) => [name, check(files).map(format)]))
}

t.test('the clean synthetic tree passes every check (so the planted cases below are not noise)', async (t) => {
  t.same(run(cleanTree()), Object.fromEntries(CHECKS.map(([name]) => [name, []])))
})

t.test('planted violations are each reported', async (t) => {
  const planted = (change: (files: Map<string, string>) => void) => {
    const files = cleanTree()
    change(files)
    return run(files)
  }
  const only = (result: Record<string, string[]>, check: string) =>
    Object.fromEntries(Object.entries(result).filter(([name, found]) => name !== check && found.length > 0))

  t.test('a migration creates a table the map does not know', async (t) => {
    const result = planted((files) => files.set('migrations/20260102_01_wishlists.ts', migration(['wishlists'])))
    t.same(result['every table a migration creates has an owner'], [
      'migrations/20260102_01_wishlists.ts:3 creates table wishlists, which has no owner in the architecture test\'s table map'
    ])
    t.same(only(result, 'every table a migration creates has an owner'), {}, 'and nothing else')
  })

  t.test('the map names a table no migration creates', async (t) => {
    const result = planted((files) => files.set('migrations/20260101_01_all.ts', migration(Object.keys(TABLE_OWNERS).filter((name) => name !== 'refunds'))))
    t.same(result['every table a migration creates has an owner'], ['test/architecture.test.ts the table map names refunds, which no migration creates'])
  })

  t.test('a module queries other modules\' tables, in every form', async (t) => {
    const result = planted((files) => files.set('src/modules/cart/service.ts', code(
      "import { sql } from 'kysely'",
      'export async function peek (db: any, trx: any) {',
      "  await db.selectFrom('users').selectAll().execute()",
      "  await db.selectFrom('cartItems as ci').innerJoin('productVariants as v', 'v.id', 'ci.variantId').selectAll().execute()",
      "  await db.selectFrom(['orders', 'cartItems']).selectAll().execute()",
      "  await trx.insertInto('outbox').values({}).execute()",
      "  await trx.updateTable('workspaceMembers').set({}).execute()",
      "  await trx.deleteFrom('sessions').execute()",
      "  await db.selectFrom('cartItems').leftJoin('vendorProfiles', 'a', 'b').rightJoin('orderItems as oi', 'c', 'd').fullJoin('payment_events', 'e', 'f').execute()",
      "  await db.with('mine', (qb: any) => qb.selectFrom('refunds').select('id')).selectFrom('mine').selectAll().execute()",
      '  await sql`',
      '    update checkouts set status = #{1}',
      '    from order_history h join "addresses" a on true',
      '    where exists (select 1 from public.workspace_invitations)`.execute(db)',
      '  await sql`insert into payment_reviews (id) values (#{2})`.execute(db)',
      "  await db.executeQuery(sql.raw('select * from product_images'))",
      '}'
    )))
    t.same(result['no module queries a table another module owns'], [
      'src/modules/cart/service.ts:3 queries users (owned by users) via selectFrom()',
      'src/modules/cart/service.ts:4 queries product_variants (owned by products) via innerJoin()',
      'src/modules/cart/service.ts:5 queries orders (owned by orders) via selectFrom()',
      'src/modules/cart/service.ts:6 queries outbox (owned by platform) via insertInto()',
      'src/modules/cart/service.ts:7 queries workspace_members (owned by workspaces) via updateTable()',
      'src/modules/cart/service.ts:8 queries sessions (owned by sessions) via deleteFrom()',
      'src/modules/cart/service.ts:9 queries vendor_profiles (owned by vendor-profiles) via leftJoin()',
      'src/modules/cart/service.ts:9 queries order_items (owned by orders) via rightJoin()',
      'src/modules/cart/service.ts:9 queries payment_events (owned by payments) via fullJoin()',
      'src/modules/cart/service.ts:10 queries refunds (owned by orders) via selectFrom()',
      'src/modules/cart/service.ts:12 queries checkouts (owned by orders) via sql``',
      'src/modules/cart/service.ts:13 queries order_history (owned by orders) via sql``',
      'src/modules/cart/service.ts:13 queries addresses (owned by users) via sql``',
      'src/modules/cart/service.ts:14 queries workspace_invitations (owned by workspaces) via sql``',
      'src/modules/cart/service.ts:15 queries payment_reviews (owned by orders) via sql``',
      'src/modules/cart/service.ts:16 queries product_images (owned by products) via raw()'
    ])
    t.same(only(result, 'no module queries a table another module owns'), {}, 'and nothing else')
  })

  t.test('a module imports another module\'s internals or plugin, or a process', async (t) => {
    const result = planted((files) => {
      files.set('src/modules/cart/extra.ts', [
        "import { onSale } from '../products/service.ts'",
        "import type { ProductView } from '../products/schemas.ts'",
        "import products from '../products/index.ts'",
        "export { orderEmails } from '../orders/emails.ts'",
        "import { onSale as again } from '../products/public.ts'",
        "import { listCart } from './service.ts'",
        "import { buildApp } from '../../app.ts'",
        "import { expireOrders } from '../../jobs/order-expiry.ts'",
        "export const later = () => import('../products/catalog.ts')",
        'export { onSale, products, again, listCart, buildApp, expireOrders }',
        'export type { ProductView }'
      ].join('\n') + '\n')
      files.set('src/worker.ts', "import { orderEmails } from './modules/orders/emails.ts'\nimport orders from './modules/orders/index.ts'\nexport { orderEmails, orders }\n")
      files.set('src/redis-scripts.ts', "export { sessionScripts } from './modules/sessions/store.ts'\n")
    })
    t.same([...result['modules reach each other only through public.ts']!].sort(), [
      'src/worker.ts:1 imports src/modules/orders/emails.ts: only src/modules/orders/public.ts is orders\'s public surface',
      'src/worker.ts:2 imports src/modules/orders/index.ts: orders\'s plugin is registered by src/app.ts only',
      'src/modules/cart/extra.ts:1 imports src/modules/products/service.ts: only src/modules/products/public.ts is products\'s public surface',
      'src/modules/cart/extra.ts:2 imports types from src/modules/products/schemas.ts: only src/modules/products/public.ts is products\'s public surface',
      'src/modules/cart/extra.ts:3 imports src/modules/products/index.ts: products\'s plugin is registered by src/app.ts only',
      'src/modules/cart/extra.ts:4 imports src/modules/orders/emails.ts: only src/modules/orders/public.ts is orders\'s public surface',
      'src/modules/cart/extra.ts:7 imports src/app.ts: a module does not depend on the processes that compose it',
      'src/modules/cart/extra.ts:8 imports src/jobs/order-expiry.ts: a module does not depend on the processes that compose it',
      'src/modules/cart/extra.ts:9 imports src/modules/products/catalog.ts: only src/modules/products/public.ts is products\'s public surface',
      'src/redis-scripts.ts:1 imports src/modules/sessions/store.ts: only src/modules/sessions/public.ts is sessions\'s public surface'
    ].sort())
  })

  t.test('platform code imports a module or a process', async (t) => {
    const result = planted((files) => {
      files.set('src/platform/mail.ts', "import { orderEmails } from '../modules/orders/public.ts'\nimport type { App } from '../app.ts'\nimport '../jobs/order-expiry.ts'\nimport { w } from '../worker.ts'\nimport { s } from '../schemas.ts'\nimport { c } from '../config.ts'\nimport { newId } from './clock.ts'\nexport { orderEmails, w, s, c, newId }\nexport type { App }\n")
    })
    t.same(result['platform code imports no module or process'], [
      'src/platform/mail.ts:1 imports src/modules/orders/public.ts: platform code depends on no module or process',
      'src/platform/mail.ts:2 imports types from src/app.ts: platform code depends on no module or process',
      'src/platform/mail.ts:3 imports src/jobs/order-expiry.ts: platform code depends on no module or process',
      'src/platform/mail.ts:4 imports src/worker.ts: platform code depends on no module or process',
      'src/platform/mail.ts:5 imports src/schemas.ts: platform code depends on no module or process'
    ])
    t.same(only(result, 'platform code imports no module or process'), {}, 'and nothing else')
  })

  t.test('two modules import each other through public.ts, or three in a ring', async (t) => {
    const pair = planted((files) => files.set('src/modules/orders/service.ts', "import { listCart } from '../cart/public.ts'\nexport interface OrderView { id: string }\nexport const expireOrders = () => listCart\n"))
    t.same(pair['no two modules import each other'], [
      'src/modules/cart and src/modules/orders import each other: src/modules/cart/service.ts:3 imports src/modules/orders/public.ts; src/modules/orders/service.ts:1 imports src/modules/cart/public.ts'
    ])
    t.same(only(pair, 'no two modules import each other'), {}, 'and nothing else')
    const ring = planted((files) => {
      files.set('src/modules/products/public.ts', "import type { OrderView } from '../orders/public.ts'\nexport const onSale = (v: OrderView) => v\n")
      files.set('src/modules/orders/public.ts', "import '../users/public.ts'\nexport { orderEmails } from './emails.ts'\nexport type { OrderView } from './service.ts'\nexport { expireOrders } from './service.ts'\n")
      files.set('src/modules/users/public.ts', "import { listCart } from '../cart/public.ts'\nexport const users = listCart\n")
    })
    t.same(ring['no two modules import each other'], [
      'src/modules/cart is in an import cycle cart -> orders -> users -> cart: src/modules/cart/service.ts:3 imports src/modules/orders/public.ts; src/modules/orders/public.ts:1 imports src/modules/users/public.ts; src/modules/users/public.ts:1 imports src/modules/cart/public.ts',
      // products is in a longer ring through the same modules: reported from where it starts.
      'src/modules/products is in an import cycle products -> orders -> users -> cart -> products: src/modules/products/public.ts:1 imports src/modules/orders/public.ts; src/modules/orders/public.ts:1 imports src/modules/users/public.ts; src/modules/users/public.ts:1 imports src/modules/cart/public.ts; src/modules/cart/service.ts:2 imports src/modules/products/public.ts'
    ])
  })

  t.test('a file over 300 lines, and src/emails.ts', async (t) => {
    const result = planted((files) => {
      files.set('src/modules/orders/long.ts', lines(301))
      files.set('src/platform/big.ts', lines(450))
      files.set('src/emails.ts', 'export const emailTemplates = {}\n')
    })
    t.same(result['files stay under 300 lines; src/emails.ts is gone'], [
      'src/modules/orders/long.ts has 301 lines (at most 300): split it along its concepts',
      'src/platform/big.ts has 450 lines (at most 300): split it along its concepts',
      'src/emails.ts exists: each domain defines its templates and exports them through its public.ts'
    ])
    t.same(only(result, 'files stay under 300 lines; src/emails.ts is gone'), {}, 'and nothing else')
  })
})

t.test('the working tree keeps the architecture', async (t) => {
  const files = readTree(fileURLToPath(new URL('..', import.meta.url)))
  t.ok([...files.keys()].some((f) => f.startsWith('migrations/')), 'the migrations were read')
  t.ok([...files.keys()].some((f) => f.startsWith('src/modules/')), 'the modules were read')
  // A clean result means something only if the checks see the tree's queries and imports.
  const tables = new Set(Object.keys(TABLE_OWNERS))
  const moduleFiles = [...files].filter(([f]) => moduleOf(f) && f.endsWith('.ts'))
  const references = moduleFiles.flatMap(([f, text]) => tableReferences(f, text, tables))
  t.ok(references.some((r) => r.via !== 'sql``'), `the Kysely queries of the modules are seen (${references.length} table references)`)
  t.ok(references.some((r) => r.via === 'sql``'), 'and their raw SQL')
  const crossModule = moduleFiles.flatMap(([f, text]) => importsOf(f, text, files).filter((i) => moduleOf(i.target) && moduleOf(i.target) !== moduleOf(f)))
  t.ok(crossModule.length > 0, `and their imports of other modules (${crossModule.length})`)
  for (const [name, check] of CHECKS) {
    const found = check(files).map(format)
    if (found.length) t.comment(`${name}: ${found.length} violation(s)\n${found.join('\n')}`)
    t.same(found, [], name)
  }
})
