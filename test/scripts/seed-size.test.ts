import { spawn } from 'node:child_process'
import { sql } from 'kysely'
import t from 'tap'
import { createTestEnv, type TestEnv } from '../helpers/app.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'
import { productsOption, seed } from '../../scripts/seed.ts'
import { COMMON_WORD } from '../../scripts/lib/seed-catalog.ts'
import { onSale } from '../../src/modules/products/public.ts'

// `npm run seed -- --products N`: a catalog of N products (100,000 for the performance bench),
// shared by the demo stores like the demo catalog, listed by the one on-sale rule, idempotent,
// and searchable for a common word.

const count = async (env: TestEnv, where: ReturnType<typeof sql<boolean>> = sql<boolean>`true`) =>
  (await sql<{ n: number }>`select count(*)::int as n from products p where ${where}`.execute(env.app.db)).rows[0]!.n

t.test('--products N seeds N products over the demo stores, listed by the on-sale rule, counted per category; again, nothing', async (t) => {
  const env = await createTestEnv(t)
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--products', '300'], {
    env: { ...process.env, ...WITHOUT_COVERAGE, NODE_ENV: 'test', DATABASE_URL: env.config.databaseUrl, REDIS_URL: env.config.redisUrl, REDIS_PREFIX: env.config.redisPrefix, DATA_DIR: env.config.dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  t.equal(await new Promise<number | null>((resolve) => child.on('exit', resolve)), 0, output)
  t.match(output, /Seeded the demo marketplace \(\d+ records, 300 of them products\)/)
  t.match(output, `GET /products?q=${COMMON_WORD}`, 'names the common word')

  t.equal(await count(env), 300, '300 products')
  const perStore = await env.app.db.selectFrom('products').innerJoin('workspaces', 'workspaces.id', 'products.workspaceId')
    .select(['workspaces.slug', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('workspaces.slug').orderBy('workspaces.slug').execute()
  t.same(perStore.map((r) => [r.slug, Number(r.n)]), [['kettle-kitchenware', 145], ['pending-pottery', 10], ['threads-and-co', 145]], 'shared like 600 + 600 + 40 of 1,240')
  t.equal(await count(env, sql<boolean>`p.listed <> ${onSale('p')}`), 0, 'every listed flag is the on-sale rule')
  t.equal(await count(env, sql<boolean>`p.listed`), 286, 'the approved stores\' products less their drafts')
  const variants = await env.app.db.selectFrom('productVariants').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(variants.n), 145 * 5 + 145 + 10, 'five sizes per garment, one variant per kitchen item')

  const { rows: recounted } = await sql<{ name: string, count: number }>`select c.name, count(*)::int as count from products p
    cross join unnest(p.categories) as c(name) where p.listed group by c.name order by count desc, c.name`.execute(env.app.db)
  t.same((await env.app.inject({ method: 'GET', url: '/categories' })).json().items.map((c: { slug: string, count: number }) => ({ name: c.slug, count: c.count })), recounted, 'GET /categories counts the listed products')
  const common = await count(env, sql<boolean>`p.listed and p.search @@ websearch_to_tsquery('english', ${COMMON_WORD})`)
  t.ok(common > 0.03 * 286 && common < 0.1 * 286, `"${COMMON_WORD}" matches a few percent of the catalog (${common} of 286; 5.0 % at 100,000)`)
  const stats = await sql<{ reltuples: number }>`select reltuples from pg_class where relname = 'products'`.execute(env.app.db)
  t.equal(Number(stats.rows[0]!.reltuples), 300, 'analyzed')

  const again = await seed(env.app.deps, { products: 300 })
  t.equal(again.products, 0, 'a second run adds nothing')
  const more = await seed(env.app.deps, { products: 600 })
  t.equal(more.products, 300, 'a larger N adds the difference')
  t.equal(await count(env), 600)
  t.equal(await count(env, sql<boolean>`p.listed <> ${onSale('p')}`), 0, 'and lists them by the rule')
})

t.test('--products takes a whole number', async (t) => {
  t.equal(productsOption([]), undefined, 'absent: the demo catalog')
  t.equal(productsOption(['--products', '100000']), 100000)
  t.equal(productsOption(['--products=250']), 250)
  for (const bad of [['--products'], ['--products', 'many'], ['--products', '1.5'], ['--products', '-3'], ['--products=1e9']]) {
    t.throws(() => productsOption(bad), /--products needs a whole number/, `refuses ${bad.join(' ')}`)
  }
})
