import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { nodeEnvOf } from '../src/config.ts'
import { connectDeps, type Deps } from '../src/platform/deps.ts'
import { redisScripts } from '../src/redis-scripts.ts'
import { hashPassword } from '../src/platform/passwords.ts'
import { addAddress, findUserByEmail, insertUser, listAddresses } from '../src/modules/users/public.ts'
import { createWorkspace } from '../src/modules/workspaces/public.ts'
import { syncListing } from '../src/modules/products/public.ts'
import type { UserType } from '../src/platform/principal.ts'
import { sql } from 'kysely'
import { loadDevConfig } from './lib/dev-env.ts'
import { COMMON_WORD, seedCatalogs, storeSizes, type CatalogStore } from './lib/seed-catalog.ts'

// npm run seed [-- --products N]: a demo marketplace (an admin, approved and pending vendors with
// workspaces and members, customers with addresses, and a catalog of 1,240 products, or N, with
// variants and stock), created once: running it again changes nothing; a larger N adds the
// difference.

export const DEMO_PASSWORD = 'bazaar demo password'

interface DemoUser { email: string, name: string, type: UserType }

const ADMIN: DemoUser = { email: 'admin@bazaar.test', name: 'Ada Admin', type: 'admin' }
const VENDORS = [
  { user: { email: 'vendor.threads@bazaar.test', name: 'Tariq Threads', type: 'vendor' as const }, store: 'Threads & Co', slug: 'threads-and-co', review: 'approved' as const, business: 'manufacturer', country: 'IN', city: 'Jaipur', staff: { email: 'staff.threads@bazaar.test', name: 'Sana Staff', type: 'vendor' as const }, catalog: 'apparel' as const },
  { user: { email: 'vendor.kettle@bazaar.test', name: 'Kim Kettle', type: 'vendor' as const }, store: 'Kettle Kitchenware', slug: 'kettle-kitchenware', review: 'approved' as const, business: 'wholesaler', country: 'GB', city: 'Leeds', staff: { email: 'staff.kettle@bazaar.test', name: 'Ben Staff', type: 'vendor' as const }, catalog: 'kitchen' as const },
  { user: { email: 'vendor.pending@bazaar.test', name: 'Pat Pending', type: 'vendor' as const }, store: 'Pending Pottery', slug: 'pending-pottery', review: 'pending' as const, business: 'retailer', country: 'FR', city: 'Lyon', staff: null, catalog: 'kitchen' as const }
]

/** The demo catalog: 600 products in each approved store (1,200 in the public catalog), 40 in the pending one. */
export const DEMO_PRODUCTS = 1240

const CUSTOMERS = [
  { user: { email: 'customer.one@bazaar.test', name: 'Cora Customer', type: 'customer' as const }, address: { street: '1 Market Street', city: 'London', zipCode: 'E1 6AN', country: 'GB' } },
  { user: { email: 'customer.two@bazaar.test', name: 'Chen Customer', type: 'customer' as const }, address: { street: '22 Rue du Commerce', city: 'Paris', zipCode: '75015', country: 'FR' } },
  { user: { email: 'customer.three@bazaar.test', name: 'Caro Customer', type: 'customer' as const }, address: { street: '5 Main Road', city: 'Mumbai', zipCode: '400001', country: 'IN' } }
]

export interface SeedResult { created: number, products: number, users: Array<{ email: string, type: UserType, note?: string }> }
export interface SeedOptions {
  /** Products in the whole catalog, shared by the stores as in the demo one (default 1,240). */
  products?: number
}

const REFUSED = 'npm run seed refuses NODE_ENV=production: it creates demo accounts that share a published password. Seed a development or staging database instead.'

export async function seed (deps: Deps, options: SeedOptions = {}): Promise<SeedResult> {
  if (deps.config.env === 'production') throw new Error(REFUSED)
  const catalogSize = storeSizes(options.products ?? DEMO_PRODUCTS, VENDORS.map((v) => ({ slug: v.slug, approved: v.review === 'approved' })))
  const passwordHash = await hashPassword(DEMO_PASSWORD)
  let created = 0
  const ensureUser = async (u: DemoUser) => {
    const existing = await findUserByEmail(deps.db, u.email)
    if (existing) return existing
    created++
    return insertUser(deps.db, { ...u, status: 'active', passwordHash, verifiedAt: deps.clock.now() }, deps.random)
  }

  await ensureUser(ADMIN)
  const stores: CatalogStore[] = []
  for (const vendor of VENDORS) {
    const owner = await ensureUser(vendor.user)
    const staff = vendor.staff ? await ensureUser(vendor.staff) : null
    let workspace = await deps.db.selectFrom('workspaces').select('id').where('slug', '=', vendor.slug).where('deletedAt', 'is', null).executeTakeFirst()
    if (!workspace) {
      created++
      workspace = await deps.db.transaction().execute(async (trx) => {
        const ws = await createWorkspace(trx, { name: vendor.store, slug: vendor.slug, ownerId: owner.id }, deps.random)
        if (staff) await trx.insertInto('workspaceMembers').values({ workspaceId: ws.id, userId: staff.id, role: 'member' }).execute()
        return ws
      })
    }
    const profile = await deps.db.selectFrom('vendorProfiles').select('id').where('userId', '=', owner.id).where('deletedAt', 'is', null).executeTakeFirst()
    if (!profile) {
      created++
      await deps.db.insertInto('vendorProfiles').values({
        id: deps.random.uuid(),
        userId: owner.id,
        businessType: vendor.business,
        businessName: vendor.store,
        companyName: `${vendor.store} Ltd`,
        contactPerson: vendor.user.name,
        country: vendor.country,
        city: vendor.city,
        workingDays: ['mon', 'tue', 'wed', 'thu', 'fri'],
        paymentMode: ['bank_transfer'],
        establishment: 2015,
        reviewStatus: vendor.review,
        reviewedAt: vendor.review === 'approved' ? deps.clock.now() : null,
        createdBy: owner.id,
        updatedBy: owner.id
      }).execute()
    }
    stores.push({ workspaceId: workspace.id, ownerId: owner.id, slug: vendor.slug, kind: vendor.catalog, want: catalogSize.get(vendor.slug) ?? 0 })
  }
  let products = 0
  for (const [workspaceId, added] of await seedCatalogs(deps, stores)) {
    // The new products join the public catalog (or not) by the one rule, with their category counts.
    // Every store, not only those that grew this run: an interrupted run left committed batches
    // unlisted, and the sync is a no-op where nothing differs.
    await deps.db.transaction().execute((trx) => syncListing(trx, { workspaceId }))
    products += added
  }
  for (const customer of CUSTOMERS) {
    const user = await ensureUser(customer.user)
    if ((await listAddresses(deps.db, user.id)).length === 0) {
      created++
      await addAddress(deps, user.id, { ...customer.address, isDefault: true })
    }
  }
  // Listing the new products rewrote their rows: compacted, the catalog is as large as one grown
  // by hand (a bulk load is the one time that is worth an exclusive lock for a few seconds).
  if (products > 0) await sql`vacuum full products`.execute(deps.db)
  // Fresh statistics: without them the planner guesses the catalog's size and shape, and the
  // first page of the catalog joined every product before taking twenty.
  if (created + products > 0) await sql`vacuum analyze`.execute(deps.db)
  return {
    created: created + products,
    products,
    users: [
      { email: ADMIN.email, type: 'admin' },
      ...VENDORS.flatMap((v) => [
        { email: v.user.email, type: 'vendor' as const, note: `owner of ${v.store} (profile ${v.review})` },
        ...(v.staff ? [{ email: v.staff.email, type: 'vendor' as const, note: `member of ${v.store}` }] : [])
      ]),
      ...CUSTOMERS.map((c) => ({ email: c.user.email, type: 'customer' as const }))
    ]
  }
}

/** `--products N` (or `--products=N`): a whole number of products, at most 10 million. */
export function productsOption (args: string[]): number | undefined {
  const i = args.findIndex((a) => a === '--products' || a.startsWith('--products='))
  if (i < 0) return undefined
  const value = args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1]
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) throw new Error(`--products needs a whole number of products (0 to 10,000,000), not ${JSON.stringify(value)}`)
  return n
}

async function main (): Promise<void> {
  // Checked before the configuration is even loaded, so the refusal is the one thing said.
  if (nodeEnvOf() === 'production') {
    process.stderr.write(REFUSED + '\n')
    process.exitCode = 1
    return
  }
  let products: number | undefined
  try {
    products = productsOption(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exitCode = 2
    return
  }
  const config = loadDevConfig()
  const { deps, close } = await connectDeps(config, { log: pino({ level: 'warn' }), scripts: redisScripts })
  try {
    const result = await seed(deps, { products })
    console.log(result.created === 0 ? 'The demo marketplace is already there; nothing to add.' : `Seeded the demo marketplace (${result.created} records, ${result.products} of them products).`)
    console.log(`A broad search: GET /products?q=${COMMON_WORD} matches about 5 % of the catalog.`)
    console.log(`\nSign in with POST ${config.publicUrl}/auth/login and the password "${DEMO_PASSWORD}":`)
    for (const u of result.users) console.log(`  ${u.type.padEnd(9)} ${u.email}${u.note ? `  (${u.note})` : ''}`)
  } finally {
    await close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
