import { fileURLToPath } from 'node:url'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { loadConfigOrExit } from '../src/config.ts'
import { connectDeps, type Deps } from '../src/platform/deps.ts'
import { hashPassword } from '../src/modules/auth/passwords.ts'
import { addAddress, findUserByEmail, insertUser, listAddresses } from '../src/modules/users/service.ts'
import { createWorkspace } from '../src/modules/workspaces/service.ts'
import type { UserType } from '../src/platform/principal.ts'

// npm run seed: a demo marketplace (an admin, approved and pending vendors with workspaces and
// members, customers with addresses), created once: running it again changes nothing.

export const DEMO_PASSWORD = 'bazaar demo password'

interface DemoUser { email: string, name: string, type: UserType }

const ADMIN: DemoUser = { email: 'admin@bazaar.test', name: 'Ada Admin', type: 'admin' }
const VENDORS = [
  { user: { email: 'vendor.threads@bazaar.test', name: 'Tariq Threads', type: 'vendor' as const }, store: 'Threads & Co', slug: 'threads-and-co', review: 'approved' as const, business: 'manufacturer', country: 'IN', city: 'Jaipur', staff: { email: 'staff.threads@bazaar.test', name: 'Sana Staff', type: 'vendor' as const } },
  { user: { email: 'vendor.kettle@bazaar.test', name: 'Kim Kettle', type: 'vendor' as const }, store: 'Kettle Kitchenware', slug: 'kettle-kitchenware', review: 'approved' as const, business: 'wholesaler', country: 'GB', city: 'Leeds', staff: { email: 'staff.kettle@bazaar.test', name: 'Ben Staff', type: 'vendor' as const } },
  { user: { email: 'vendor.pending@bazaar.test', name: 'Pat Pending', type: 'vendor' as const }, store: 'Pending Pottery', slug: 'pending-pottery', review: 'pending' as const, business: 'retailer', country: 'FR', city: 'Lyon', staff: null }
]
const CUSTOMERS = [
  { user: { email: 'customer.one@bazaar.test', name: 'Cora Customer', type: 'customer' as const }, address: { street: '1 Market Street', city: 'London', zipCode: 'E1 6AN', country: 'GB' } },
  { user: { email: 'customer.two@bazaar.test', name: 'Chen Customer', type: 'customer' as const }, address: { street: '22 Rue du Commerce', city: 'Paris', zipCode: '75015', country: 'FR' } },
  { user: { email: 'customer.three@bazaar.test', name: 'Caro Customer', type: 'customer' as const }, address: { street: '5 Main Road', city: 'Mumbai', zipCode: '400001', country: 'IN' } }
]

export interface SeedResult { created: number, users: Array<{ email: string, type: UserType, note?: string }> }

export async function seed (deps: Deps): Promise<SeedResult> {
  const passwordHash = await hashPassword(DEMO_PASSWORD)
  let created = 0
  const ensureUser = async (u: DemoUser) => {
    const existing = await findUserByEmail(deps.db, u.email)
    if (existing) return existing
    created++
    return insertUser(deps.db, { ...u, status: 'active', passwordHash, verifiedAt: deps.clock.now() })
  }

  await ensureUser(ADMIN)
  for (const vendor of VENDORS) {
    const owner = await ensureUser(vendor.user)
    const staff = vendor.staff ? await ensureUser(vendor.staff) : null
    const workspace = await deps.db.selectFrom('workspaces').select('id').where('slug', '=', vendor.slug).where('deletedAt', 'is', null).executeTakeFirst()
    if (!workspace) {
      created++
      await deps.db.transaction().execute(async (trx) => {
        const ws = await createWorkspace(trx, { name: vendor.store, slug: vendor.slug, ownerId: owner.id })
        if (staff) await trx.insertInto('workspaceMembers').values({ workspaceId: ws.id, userId: staff.id, role: 'member' }).execute()
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
  }
  for (const customer of CUSTOMERS) {
    const user = await ensureUser(customer.user)
    if ((await listAddresses(deps.db, user.id)).length === 0) {
      created++
      await addAddress(deps, user.id, { ...customer.address, isDefault: true })
    }
  }
  return {
    created,
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
  const config = loadConfigOrExit()
  const { deps, close } = await connectDeps(config, { log: pino({ level: 'warn' }) as unknown as FastifyBaseLogger })
  try {
    const result = await seed(deps)
    console.log(result.created === 0 ? 'The demo marketplace is already there; nothing to add.' : `Seeded the demo marketplace (${result.created} records).`)
    console.log(`\nSign in with POST ${config.publicUrl}/auth/login and the password "${DEMO_PASSWORD}":`)
    for (const u of result.users) console.log(`  ${u.type.padEnd(9)} ${u.email}${u.note ? `  (${u.note})` : ''}`)
  } finally {
    await close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
