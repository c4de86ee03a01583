import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { nodeEnvOf } from '../src/config.ts'
import { connectDeps, type Deps } from '../src/platform/deps.ts'
import { redisScripts } from '../src/redis-scripts.ts'
import { hashPassword } from '../src/platform/passwords.ts'
import { addAddress, findUserByEmail, insertUser, listAddresses } from '../src/modules/users/public.ts'
import { createWorkspace } from '../src/modules/workspaces/public.ts'
import type { UserType } from '../src/platform/principal.ts'
import { sql, type Insertable } from 'kysely'
import type { Products, ProductVariants } from '../src/platform/db-types.ts'
import { loadDevConfig } from './lib/dev-env.ts'

// npm run seed: a demo marketplace (an admin, approved and pending vendors with workspaces and
// members, customers with addresses, and a catalog of 1,200 products with variants and stock),
// created once: running it again changes nothing.

export const DEMO_PASSWORD = 'bazaar demo password'

interface DemoUser { email: string, name: string, type: UserType }

const ADMIN: DemoUser = { email: 'admin@bazaar.test', name: 'Ada Admin', type: 'admin' }
const VENDORS = [
  { user: { email: 'vendor.threads@bazaar.test', name: 'Tariq Threads', type: 'vendor' as const }, store: 'Threads & Co', slug: 'threads-and-co', review: 'approved' as const, business: 'manufacturer', country: 'IN', city: 'Jaipur', staff: { email: 'staff.threads@bazaar.test', name: 'Sana Staff', type: 'vendor' as const }, catalog: 'apparel' as const },
  { user: { email: 'vendor.kettle@bazaar.test', name: 'Kim Kettle', type: 'vendor' as const }, store: 'Kettle Kitchenware', slug: 'kettle-kitchenware', review: 'approved' as const, business: 'wholesaler', country: 'GB', city: 'Leeds', staff: { email: 'staff.kettle@bazaar.test', name: 'Ben Staff', type: 'vendor' as const }, catalog: 'kitchen' as const },
  { user: { email: 'vendor.pending@bazaar.test', name: 'Pat Pending', type: 'vendor' as const }, store: 'Pending Pottery', slug: 'pending-pottery', review: 'pending' as const, business: 'retailer', country: 'FR', city: 'Lyon', staff: null, catalog: 'kitchen' as const }
]

/** Products per store: 600 in each approved store (1,200 in the public catalog), fewer in the pending one. */
const CATALOG_SIZE = { 'threads-and-co': 600, 'kettle-kitchenware': 600, 'pending-pottery': 40 } as Record<string, number>

const CATALOGS = {
  apparel: {
    nouns: ['shirt', 'tee', 'hoodie', 'jacket', 'dress', 'skirt', 'trousers', 'shorts', 'sweater', 'cardigan', 'scarf', 'blouse'],
    adjectives: ['linen', 'cotton', 'wool', 'denim', 'silk', 'organic', 'striped', 'relaxed', 'slim', 'vintage', 'summer', 'winter', 'indigo', 'block-printed'],
    categories: ['shirts', 'outerwear', 'dresses', 'knitwear', 'bottoms', 'accessories'],
    sized: true
  },
  kitchen: {
    nouns: ['kettle', 'teapot', 'mug', 'saucepan', 'skillet', 'knife', 'chopping board', 'colander', 'whisk', 'dutch oven', 'bowl', 'jug'],
    adjectives: ['enamel', 'cast iron', 'copper', 'stoneware', 'bamboo', 'steel', 'glazed', 'handmade', 'compact', 'heritage', 'speckled', 'matte'],
    categories: ['cookware', 'tableware', 'tea-and-coffee', 'knives', 'baking', 'storage'],
    sized: false
  }
}
const SIZES = ['S', 'M', 'L', 'XL', 'XXL'] as const

/** A store's catalog: deterministic (the nth product is always the same), bulk-inserted. */
async function seedCatalog (deps: Deps, workspaceId: string, ownerId: string, slug: string, kind: keyof typeof CATALOGS): Promise<number> {
  const want = CATALOG_SIZE[slug] ?? 0
  const have = Number((await deps.db.selectFrom('products').select((eb) => eb.fn.countAll().as('n')).where('workspaceId', '=', workspaceId).executeTakeFirstOrThrow()).n)
  if (have >= want) return 0
  const c = CATALOGS[kind]
  const prefix = slug.split('-').map((w) => w[0]).join('').toUpperCase()
  const BATCH = 200
  for (let start = have; start < want; start += BATCH) {
    const products: Insertable<Products>[] = []
    const variants: Insertable<ProductVariants>[] = []
    for (let n = start; n < Math.min(want, start + BATCH); n++) {
      const adjective = c.adjectives[n % c.adjectives.length]!
      const noun = c.nouns[Math.floor(n / c.adjectives.length) % c.nouns.length]!
      const id = deps.random.uuid()
      const price = 900 + ((n * 7919) % 120) * 100 // 9.00 to 127.00, integers in minor units
      products.push({
        id,
        workspaceId,
        title: `${adjective[0]!.toUpperCase()}${adjective.slice(1)} ${noun} no. ${n + 1}`,
        description: `A ${adjective} ${noun} from ${slug.replace(/-/g, ' ')}, made to last. Item ${n + 1} of the range.`,
        priceAmount: price,
        currency: kind === 'apparel' ? 'usd' : 'gbp',
        discountPercentage: n % 5 === 0 ? 10 * ((n / 5) % 4) : 0,
        categories: [c.categories[n % c.categories.length]!],
        keywords: [adjective, noun, kind],
        faq: JSON.stringify(n % 3 === 0 ? [{ question: 'How do I care for it?', answer: 'Gently, by hand.' }] : []),
        isActive: n % 50 !== 49, // a few drafts
        sizes: c.sized ? [...SIZES] : [],
        createdBy: ownerId,
        updatedBy: ownerId
      })
      const sizes = c.sized ? SIZES : [null]
      for (const [position, size] of sizes.entries()) {
        variants.push({ id: deps.random.uuid(), productId: id, workspaceId, size, sku: `${prefix}-${n + 1}${size ? `-${size}` : ''}`, stock: 5 + ((n + position * 13) % 60), position })
      }
    }
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('products').values(products).execute()
      await trx.insertInto('productVariants').values(variants).execute()
    })
  }
  return want - have
}
const CUSTOMERS = [
  { user: { email: 'customer.one@bazaar.test', name: 'Cora Customer', type: 'customer' as const }, address: { street: '1 Market Street', city: 'London', zipCode: 'E1 6AN', country: 'GB' } },
  { user: { email: 'customer.two@bazaar.test', name: 'Chen Customer', type: 'customer' as const }, address: { street: '22 Rue du Commerce', city: 'Paris', zipCode: '75015', country: 'FR' } },
  { user: { email: 'customer.three@bazaar.test', name: 'Caro Customer', type: 'customer' as const }, address: { street: '5 Main Road', city: 'Mumbai', zipCode: '400001', country: 'IN' } }
]

export interface SeedResult { created: number, products: number, users: Array<{ email: string, type: UserType, note?: string }> }

const REFUSED = 'npm run seed refuses NODE_ENV=production: it creates demo accounts that share a published password. Seed a development or staging database instead.'

export async function seed (deps: Deps): Promise<SeedResult> {
  if (deps.config.env === 'production') throw new Error(REFUSED)
  const passwordHash = await hashPassword(DEMO_PASSWORD)
  let created = 0
  const ensureUser = async (u: DemoUser) => {
    const existing = await findUserByEmail(deps.db, u.email)
    if (existing) return existing
    created++
    return insertUser(deps.db, { ...u, status: 'active', passwordHash, verifiedAt: deps.clock.now() }, deps.random)
  }

  let products = 0
  await ensureUser(ADMIN)
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
    products += await seedCatalog(deps, workspace.id, owner.id, vendor.slug, vendor.catalog)
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
  }
  for (const customer of CUSTOMERS) {
    const user = await ensureUser(customer.user)
    if ((await listAddresses(deps.db, user.id)).length === 0) {
      created++
      await addAddress(deps, user.id, { ...customer.address, isDefault: true })
    }
  }
  // Fresh statistics: without them the planner guesses the catalog's size and shape, and the
  // first page of the catalog joined every product before taking twenty.
  if (created > 0) await sql`analyze`.execute(deps.db)
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

async function main (): Promise<void> {
  // Checked before the configuration is even loaded, so the refusal is the one thing said.
  if (nodeEnvOf() === 'production') {
    process.stderr.write(REFUSED + '\n')
    process.exitCode = 1
    return
  }
  const config = loadDevConfig()
  const { deps, close } = await connectDeps(config, { log: pino({ level: 'warn' }), scripts: redisScripts })
  try {
    const result = await seed(deps)
    console.log(result.created === 0 ? 'The demo marketplace is already there; nothing to add.' : `Seeded the demo marketplace (${result.created} records, ${result.products} of them products).`)
    console.log(`\nSign in with POST ${config.publicUrl}/auth/login and the password "${DEMO_PASSWORD}":`)
    for (const u of result.users) console.log(`  ${u.type.padEnd(9)} ${u.email}${u.note ? `  (${u.note})` : ''}`)
  } finally {
    await close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
