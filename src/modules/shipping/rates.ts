import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Selectable } from 'kysely'
import type { ShippingRates } from '../../platform/db-types.ts'
import { BadRequest, Conflict, NotFound } from '../../platform/errors.ts'
import { money } from '../../platform/money.ts'
import { MAX_RATES_PER_WORKSPACE, type CreateShippingRateBody, type ShippingRateView, type UpdateShippingRateBody } from './schemas.ts'

// A workspace's shipping rates (plan §3.2): flat, or free over a threshold, for every country or
// a list of them. Checkout and the cart read the live ones through public.ts; deleting is soft
// (orders keep the rate's name and amount as they were charged).

type Row = Selectable<ShippingRates>

export function toShippingRateView (r: Row): ShippingRateView {
  return {
    id: r.id,
    workspaceId: r.workspaceId,
    name: r.name,
    kind: r.kind as 'flat' | 'free_over',
    amount: money(r.amount, r.currency),
    freeOver: r.freeOverAmount === null ? null : money(r.freeOverAmount, r.currency),
    countries: r.countries,
    isActive: r.isActive,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt
  }
}

/** What is stored for a rate, checked as a whole: the threshold goes with free_over only, in the rate's currency; countries once each. */
interface RateTerms { name: string, kind: 'flat' | 'free_over', amount: number, currency: string, freeOverAmount: number | null, countries: string[], isActive: boolean }

function checkedTerms (terms: { name: string, kind: 'flat' | 'free_over', amount: { amount: number, currency: string }, freeOver: { amount: number, currency: string } | null, countries: string[], isActive: boolean }): RateTerms {
  const currency = terms.amount.currency.toLowerCase()
  if (terms.kind === 'flat' && terms.freeOver !== null) {
    throw BadRequest('VALIDATION_FAILED', 'body/freeOver goes with kind free_over only', { field: '/body/freeOver', fieldDetail: 'must be left out (or null) for kind flat' })
  }
  if (terms.kind === 'free_over' && terms.freeOver === null) {
    throw BadRequest('VALIDATION_FAILED', 'body/freeOver is required for kind free_over', { field: '/body/freeOver', fieldDetail: 'is required for kind free_over' })
  }
  if (terms.freeOver !== null && terms.freeOver.currency.toLowerCase() !== currency) {
    throw BadRequest('VALIDATION_FAILED', 'body/freeOver/currency must be the currency of amount', { field: '/body/freeOver/currency', fieldDetail: `must be ${currency}, the currency of amount` })
  }
  const countries = terms.countries.map((c) => c.toUpperCase())
  const twice = countries.findIndex((c, i) => countries.indexOf(c) !== i)
  if (twice >= 0) throw BadRequest('VALIDATION_FAILED', `body/countries lists ${countries[twice]} twice`, { field: `/body/countries/${twice}`, fieldDetail: 'is listed twice' })
  return { name: terms.name, kind: terms.kind, amount: terms.amount.amount, currency, freeOverAmount: terms.freeOver?.amount ?? null, countries, isActive: terms.isActive }
}

/** Rates of one workspace are created one at a time (a transaction lock on the workspace's rates), so the cap holds under a burst. */
const lockRates = (workspaceId: string) => sql`select pg_advisory_xact_lock(hashtextextended(${`shipping_rates:${workspaceId}`}, 0))`

export async function createShippingRate (deps: Deps, workspaceId: string, body: CreateShippingRateBody): Promise<ShippingRateView> {
  const terms = checkedTerms({ ...body, freeOver: body.freeOver ?? null, countries: body.countries ?? [], isActive: body.isActive ?? true })
  const now = deps.clock.now()
  const row = await deps.db.transaction().execute(async (trx) => {
    await lockRates(workspaceId).execute(trx)
    return trx.insertInto('shippingRates')
      .columns(['id', 'workspaceId', 'name', 'kind', 'currency', 'amount', 'freeOverAmount', 'countries', 'isActive', 'createdAt', 'updatedAt'])
      .expression(trx.selectNoFrom([
        sql<string>`${deps.random.uuid()}::uuid`.as('id'), sql<string>`${workspaceId}::uuid`.as('workspaceId'), sql<string>`${terms.name}::text`.as('name'),
        sql<string>`${terms.kind}::text`.as('kind'), sql<string>`${terms.currency}::text`.as('currency'), sql<number>`${terms.amount}::int`.as('amount'),
        sql<number | null>`${terms.freeOverAmount}::int`.as('freeOverAmount'), sql<string[]>`${terms.countries}::text[]`.as('countries'),
        sql<boolean>`${terms.isActive}::boolean`.as('isActive'), sql<Date>`${now}::timestamptz`.as('createdAt'), sql<Date>`${now}::timestamptz`.as('updatedAt')
      ]).where(({ eb, selectFrom, fn }) => eb(
        selectFrom('shippingRates').select(fn.countAll<number>().as('n')).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null),
        '<', MAX_RATES_PER_WORKSPACE
      )))
      .returningAll()
      .executeTakeFirst()
  })
  if (!row) throw Conflict('TOO_MANY_RATES', `A workspace keeps at most ${MAX_RATES_PER_WORKSPACE} shipping rates: delete one first.`)
  return toShippingRateView(row)
}

export async function listShippingRates (deps: Deps, workspaceId: string): Promise<{ items: ShippingRateView[] }> {
  const rows = await deps.db.selectFrom('shippingRates').selectAll().where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).orderBy('id').execute()
  return { items: rows.map(toShippingRateView) }
}

const notFound = () => NotFound('NOT_FOUND', 'shipping rate not found')

export async function updateShippingRate (deps: Deps, workspaceId: string, id: string, patch: UpdateShippingRateBody): Promise<ShippingRateView> {
  return deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('shippingRates').selectAll().where('id', '=', id).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null)
      .forUpdate().executeTakeFirst()
    if (!current) throw notFound()
    const kind = patch.kind ?? current.kind as 'flat' | 'free_over'
    const amount = patch.amount ?? money(current.amount, current.currency)
    // Turning a rate flat drops its threshold unless one is sent (which is then refused).
    const keptThreshold = kind === 'free_over' && current.freeOverAmount !== null ? money(current.freeOverAmount, current.currency) : null
    const terms = checkedTerms({
      name: patch.name ?? current.name,
      kind,
      amount,
      freeOver: patch.freeOver !== undefined ? patch.freeOver : keptThreshold,
      countries: patch.countries ?? current.countries,
      isActive: patch.isActive ?? current.isActive
    })
    const row = await trx.updateTable('shippingRates')
      .set({ ...terms, updatedAt: deps.clock.now() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow()
    return toShippingRateView(row)
  })
}

export async function deleteShippingRate (deps: Deps, workspaceId: string, id: string): Promise<void> {
  const now = deps.clock.now()
  const row = await deps.db.updateTable('shippingRates').set({ deletedAt: now, updatedAt: now })
    .where('id', '=', id).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null)
    .returning('id').executeTakeFirst()
  if (!row) throw notFound()
}
