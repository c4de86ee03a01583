import type { Selectable } from 'kysely'
import type { TaxRates } from '../../platform/db-types.ts'
import type { Deps } from '../../platform/deps.ts'
import { Conflict, isUniqueViolation, NotFound } from '../../platform/errors.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Principal } from '../../platform/principal.ts'
import type { CreateTaxRateBody, TaxRateQuery, TaxRateView, UpdateTaxRateBody } from './schemas.ts'

// The platform's tax rates (plan §3.3), kept by admins: one live rate per country and region
// (the database's unique index decides, so two concurrent creates give one 201 and one 409).
// Checkout looks a destination up as region first, then the country without a region.

type Row = Selectable<TaxRates>

const toView = (r: Row): TaxRateView => ({
  id: r.id, country: r.country, region: r.region, name: r.name, rateBps: r.rateBps, inclusive: r.inclusive, createdAt: r.createdAt, updatedAt: r.updatedAt
})

const placeTaken = (err: unknown, place: { country?: string, region?: string | null }): Error => isUniqueViolation(err, 'tax_rates_place')
  ? Conflict('TAX_RATE_EXISTS', `${place.country ? `${place.country}${place.region ? `-${place.region}` : ''}` : 'That country and region'} has a tax rate already: change that one.`, {
    field: place.region ? '/body/region' : '/body/country', fieldDetail: 'has a rate already'
  })
  : err as Error

const regionOf = (region: string | null | undefined) => region ? region.toUpperCase() : null

export async function createTaxRate (deps: Deps, actor: Principal, body: CreateTaxRateBody): Promise<TaxRateView> {
  const now = deps.clock.now()
  const country = body.country.toUpperCase()
  const region = regionOf(body.region)
  try {
    const row = await deps.db.insertInto('taxRates').values({
      id: deps.random.uuid(), country, region, name: body.name, rateBps: body.rateBps, inclusive: body.inclusive ?? false, createdBy: actor.userId, createdAt: now, updatedAt: now
    }).returningAll().executeTakeFirstOrThrow()
    return toView(row)
  } catch (err) {
    throw placeTaken(err, { country, region })
  }
}

export async function listTaxRates (deps: Deps, query: TaxRateQuery): Promise<PageOf<TaxRateView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = deps.db.selectFrom('taxRates').selectAll().where('deletedAt', 'is', null)
  if (query.country) q = q.where('country', '=', query.country.toUpperCase())
  if (after) q = q.where('id', '>', after[0])
  const rows = await q.orderBy('id').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, toView, (r) => [r.id])
}

const notFound = () => NotFound('NOT_FOUND', 'tax rate not found')

export async function updateTaxRate (deps: Deps, id: string, patch: UpdateTaxRateBody): Promise<TaxRateView> {
  const country = patch.country?.toUpperCase()
  const region = patch.region === undefined ? undefined : regionOf(patch.region)
  try {
    const row = await deps.db.updateTable('taxRates')
      .set({
        ...(country !== undefined ? { country } : {}),
        ...(region !== undefined ? { region } : {}),
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.rateBps !== undefined ? { rateBps: patch.rateBps } : {}),
        ...(patch.inclusive !== undefined ? { inclusive: patch.inclusive } : {}),
        updatedAt: deps.clock.now()
      })
      .where('id', '=', id).where('deletedAt', 'is', null)
      .returningAll().executeTakeFirst()
    if (!row) throw notFound()
    return toView(row)
  } catch (err) {
    throw placeTaken(err, { country, region })
  }
}

export async function deleteTaxRate (deps: Deps, id: string): Promise<void> {
  const now = deps.clock.now()
  const row = await deps.db.updateTable('taxRates').set({ deletedAt: now, updatedAt: now }).where('id', '=', id).where('deletedAt', 'is', null).returning('id').executeTakeFirst()
  if (!row) throw notFound()
}
