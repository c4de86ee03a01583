import { sql } from 'kysely'
import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { seed } from '../../scripts/seed.ts'
import { onSale } from '../../src/modules/products/public.ts'

// A seed interrupted after one store's catalog committed (Ctrl-C, a lost connection: each batch
// is its own transaction) is resumed by running it again, and the re-run lists every store.
t.test('a seed interrupted after a store\'s catalog committed lists that store on the re-run', async (t) => {
  const env = await createTestEnv(t)
  const db = env.app.db
  // The interruption: the second store's insert fails.
  await sql`create function fail_kettle() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from workspaces w where w.id = new.workspace_id and w.slug = 'kettle-kitchenware') then
        raise exception 'simulated interruption';
      end if;
      return new;
    end $$`.execute(db)
  await sql`create trigger fail_kettle before insert on products for each row execute function fail_kettle()`.execute(db)
  await t.rejects(seed(env.app.deps), /simulated interruption/, 'the first run is interrupted')
  await sql`drop trigger fail_kettle on products`.execute(db)

  await seed(env.app.deps)
  const { rows: [drift] } = await sql<{ n: number }>`select count(*)::int as n from products p where p.listed <> ${onSale('p')}`.execute(db)
  t.equal(drift!.n, 0, 'every product listed by the on-sale rule after the re-run')
  const first = await db.selectFrom('workspaces').select('id').where('slug', '=', 'threads-and-co').executeTakeFirstOrThrow()
  const page = (await env.app.inject({ method: 'GET', url: `/products?workspaceId=${first.id}&limit=5` })).json()
  t.equal(page.items.length, 5, 'the store whose catalog the interrupted run committed (Threads & Co) is in the public catalog')
})
