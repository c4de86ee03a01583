import { sql } from 'kysely'
import type { Deps } from '../../src/platform/deps.ts'

// The seed's catalog: deterministic (the nth product of a store is always the same), and written
// set-based, a thousand products (and their variants) per statement, so that 100,000 take well
// under a minute. The stores grow in turns, as real ones would, so the newest products are not
// all one store's (a filter on sizes, which one store has, would otherwise look much slower). Titles, descriptions, keywords and categories vary like a real store's; one
// word, COMMON_WORD, is in the title of about 5 % of the catalog (a broad search to measure).

export type CatalogKind = 'apparel' | 'kitchen'

const CATALOGS = {
  apparel: {
    nouns: ['shirt', 'tee', 'hoodie', 'jacket', 'dress', 'skirt', 'trousers', 'shorts', 'sweater', 'cardigan', 'scarf', 'blouse'],
    adjectives: ['linen', 'cotton', 'wool', 'denim', 'silk', 'organic', 'striped', 'relaxed', 'slim', 'vintage', 'summer', 'winter', 'indigo', 'block-printed'],
    categories: ['shirts', 'outerwear', 'dresses', 'knitwear', 'bottoms', 'accessories'],
    sized: true
  },
  kitchen: {
    // Ten nouns: each is on a tenth of a kitchen store's titles, and the kitchen stores hold
    // about half of the catalog, so "teapot" is in about 5 % of it.
    nouns: ['kettle', 'teapot', 'mug', 'saucepan', 'skillet', 'knife', 'colander', 'whisk', 'bowl', 'jug'],
    adjectives: ['enamel', 'cast iron', 'copper', 'stoneware', 'bamboo', 'steel', 'glazed', 'handmade', 'compact', 'heritage', 'speckled', 'matte'],
    categories: ['cookware', 'tableware', 'tea-and-coffee', 'knives', 'baking', 'storage'],
    sized: false
  }
} as const
/** A title word on about 5 % of the catalog (see the kitchen nouns). */
export const COMMON_WORD = 'teapot'
/** Every demo store's one currency: checkout refuses a cart in several, and the demo cart spans stores. */
export const DEMO_CURRENCY = 'usd'
/** Secondary categories a product may also carry (a few percent each). */
const EXTRA_CATEGORIES = ['gifts', 'new-in', 'sale', 'bestsellers', 'eco']
const SENTENCES = [
  'Made in small batches by a family workshop.',
  'Easy to care for and built for everyday use.',
  'Shipped in recycled, plastic-free packaging.',
  'A customer favourite since the first season.',
  'Designed to age well and be repaired, not replaced.',
  'Finished by hand, so no two are exactly alike.',
  'Sourced from suppliers we visit every year.',
  'Comes with a two-year guarantee.'
]
const SIZES = ['S', 'M', 'L', 'XL', 'XXL'] as const
const BATCH = 1000

function cap (word: string): string {
  return word[0]!.toUpperCase() + word.slice(1)
}

export interface CatalogStore { workspaceId: string, ownerId: string, slug: string, kind: CatalogKind, want: number }

/**
 * Adds products to each store until it has `want` (a store that has them adds nothing), a batch
 * per store in turn; returns how many each store got. New products are not listed: the caller
 * runs products' syncListing.
 */
export async function seedCatalogs (deps: Deps, stores: CatalogStore[]): Promise<Map<string, number>> {
  await seedCategories(deps)
  const added = new Map<string, number>()
  const next = new Map<string, number>()
  for (const store of stores) {
    const have = Number((await deps.db.selectFrom('products').select((eb) => eb.fn.countAll().as('n')).where('workspaceId', '=', store.workspaceId).executeTakeFirstOrThrow()).n)
    next.set(store.workspaceId, have)
    added.set(store.workspaceId, Math.max(0, store.want - have))
  }
  for (let more = true; more;) {
    more = false
    for (const store of stores) {
      const start = next.get(store.workspaceId)!
      if (start >= store.want) continue
      const end = Math.min(store.want, start + BATCH)
      await insertBatch(deps, store, start, end)
      next.set(store.workspaceId, end)
      more = true
    }
  }
  return added
}

/**
 * The managed categories the demo products carry (products accept only managed slugs): the
 * clothing and kitchen ones under a parent each, the extras at the top. Those already there stay.
 */
async function seedCategories (deps: Deps): Promise<void> {
  const parents = { apparel: 'clothing', kitchen: 'kitchen' } as const
  const rows: Array<{ slug: string, parent: string | null }> = [
    ...Object.values(parents).map((slug) => ({ slug, parent: null })),
    ...(Object.keys(CATALOGS) as CatalogKind[]).flatMap((kind) => CATALOGS[kind].categories.map((slug) => ({ slug, parent: parents[kind] as string | null }))),
    ...EXTRA_CATEGORIES.map((slug) => ({ slug, parent: null }))
  ]
  const name = (slug: string) => cap(slug).replaceAll('-', ' ')
  await sql`insert into categories (id, slug, name) select * from unnest(${rows.map(() => deps.random.uuid())}::uuid[], ${rows.map((r) => r.slug)}::text[], ${rows.map((r) => name(r.slug))}::text[])
    on conflict (slug) do nothing`.execute(deps.db)
  await sql`update categories c set parent_id = p.id from unnest(${rows.map((r) => r.slug)}::text[], ${rows.map((r) => r.parent)}::text[]) as x(slug, parent)
    join categories p on p.slug = x.parent where c.slug = x.slug and c.parent_id is null`.execute(deps.db)
}

/** Products `start` to `end` (exclusive) of a store, with their variants, in one transaction. */
async function insertBatch (deps: Deps, store: CatalogStore, start: number, end: number): Promise<void> {
  const { workspaceId, ownerId, slug, kind } = store
  const c = CATALOGS[kind]
  const prefix = slug.split('-').map((w) => w[0]).join('').toUpperCase()
  const storeName = slug.replace(/-/g, ' ')
  const p = { id: [] as string[], title: [] as string[], description: [] as string[], price: [] as number[], discount: [] as number[], categories: [] as string[], keywords: [] as string[], faq: [] as string[], active: [] as boolean[] }
  const v = { id: [] as string[], productId: [] as string[], size: [] as Array<string | null>, sku: [] as string[], stock: [] as number[], position: [] as number[] }
  for (let n = start; n < end; n++) {
    const adjective = c.adjectives[n % c.adjectives.length]!
    const noun = c.nouns[Math.floor(n / c.adjectives.length) % c.nouns.length]!
    const id = deps.random.uuid()
    p.id.push(id)
    p.title.push(`${cap(adjective)} ${noun} no. ${n + 1}`)
    p.description.push(`A ${adjective} ${noun} from ${storeName}. ${SENTENCES[n % SENTENCES.length]} ${SENTENCES[(n * 3 + 1) % SENTENCES.length]} Item ${n + 1} of the range.`)
    p.price.push(900 + ((n * 7919) % 120) * 100) // 9.00 to 127.00, integers in minor units
    p.discount.push(n % 5 === 0 ? 10 * ((n / 5) % 4) : 0)
    const categories: string[] = [c.categories[n % c.categories.length]!]
    if (n % 7 === 3) categories.push(EXTRA_CATEGORIES[Math.floor(n / 7) % EXTRA_CATEGORIES.length]!)
    p.categories.push(categories.join(','))
    p.keywords.push([adjective, noun, kind].join(','))
    p.faq.push(JSON.stringify(n % 3 === 0 ? [{ question: 'How do I care for it?', answer: 'Gently, by hand.' }] : []))
    p.active.push(n % 50 !== 49) // a few drafts
    const sizes = c.sized ? SIZES : [null]
    for (const [position, size] of sizes.entries()) {
      v.id.push(deps.random.uuid())
      v.productId.push(id)
      v.size.push(size)
      v.sku.push(`${prefix}-${n + 1}${size ? `-${size}` : ''}`)
      v.stock.push(5 + ((n + position * 13) % 60))
      v.position.push(position)
    }
  }
  await deps.db.transaction().execute(async (trx) => {
    await sql`insert into products (id, workspace_id, title, description, price_amount, currency, discount_percentage,
        categories, keywords, sizes, faq, is_active, created_by, updated_by)
      select x.id, ${workspaceId}, x.title, x.description, x.price, ${DEMO_CURRENCY}, x.discount,
        string_to_array(x.categories, ','), string_to_array(x.keywords, ','), ${c.sized ? [...SIZES] : []}::text[], x.faq::jsonb, x.active, ${ownerId}, ${ownerId}
      from unnest(${p.id}::uuid[], ${p.title}::text[], ${p.description}::text[], ${p.price}::int[], ${p.discount}::int[],
        ${p.categories}::text[], ${p.keywords}::text[], ${p.faq}::text[], ${p.active}::boolean[])
        as x(id, title, description, price, discount, categories, keywords, faq, active)`.execute(trx)
    await sql`insert into product_variants (id, product_id, workspace_id, size, sku, stock, position)
      select x.id, x.product_id, ${workspaceId}, x.size, x.sku, x.stock, x.position
      from unnest(${v.id}::uuid[], ${v.productId}::uuid[], ${v.size}::text[], ${v.sku}::text[], ${v.stock}::int[], ${v.position}::int[])
        as x(id, product_id, size, sku, stock, position)`.execute(trx)
  })
}

/**
 * How many products each store gets for a catalog of `total`: the stores share it like the demo
 * catalog's 600 + 600 + 40 of 1,240 (the pending store gets 40/1,240 of it, the approved stores
 * split the rest evenly).
 */
export function storeSizes (total: number, stores: Array<{ slug: string, approved: boolean }>): Map<string, number> {
  const pending = stores.filter((s) => !s.approved)
  const approved = stores.filter((s) => s.approved)
  const pendingShare = Math.round(total * 40 / 1240)
  const sizes = new Map<string, number>()
  pending.forEach((s, i) => sizes.set(s.slug, Math.floor(pendingShare / pending.length) + (i < pendingShare % pending.length ? 1 : 0)))
  const rest = total - [...sizes.values()].reduce((a, b) => a + b, 0)
  approved.forEach((s, i) => sizes.set(s.slug, Math.floor(rest / approved.length) + (i < rest % approved.length ? 1 : 0)))
  return sizes
}
