import type { Queryable } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'
import { NotFound } from '../../platform/errors.ts'
import type { AddressBody, AddressPatch, AddressView } from './schemas.ts'

// A user's postal addresses. Someone with addresses always has exactly one default.

const addressColumns = ['id', 'street', 'city', 'state', 'zipCode', 'country', 'isDefault', 'createdAt', 'updatedAt'] as const

export async function listAddresses (db: Queryable, userId: string): Promise<AddressView[]> {
  return db.selectFrom('addresses').select(addressColumns).where('userId', '=', userId).orderBy('isDefault', 'desc').orderBy('createdAt').execute()
}

export async function findAddress (db: Queryable, userId: string, id: string): Promise<AddressView | undefined> {
  return db.selectFrom('addresses').select(addressColumns).where('userId', '=', userId).where('id', '=', id).executeTakeFirst()
}

/** The first address is the default; a new default takes the mark from the old one. */
export async function addAddress (deps: Deps, userId: string, input: AddressBody): Promise<AddressView> {
  return deps.db.transaction().execute(async (trx) => {
    const count = await trx.selectFrom('addresses').select((eb) => eb.fn.countAll<number>().as('n')).where('userId', '=', userId).executeTakeFirstOrThrow()
    const isDefault = input.isDefault === true || Number(count.n) === 0
    if (isDefault) await trx.updateTable('addresses').set({ isDefault: false }).where('userId', '=', userId).where('isDefault', '=', true).execute()
    return trx.insertInto('addresses').values({
      id: deps.random.uuid(), userId, street: input.street, city: input.city, state: input.state ?? null, zipCode: input.zipCode, country: input.country, isDefault
    }).returning(addressColumns).executeTakeFirstOrThrow()
  })
}

export async function updateAddress (deps: Deps, userId: string, id: string, patch: AddressPatch): Promise<AddressView> {
  return deps.db.transaction().execute(async (trx) => {
    if (!await findAddress(trx, userId, id)) throw NotFound('NOT_FOUND', 'address not found')
    if (patch.isDefault === true) await trx.updateTable('addresses').set({ isDefault: false }).where('userId', '=', userId).where('id', '<>', id).where('isDefault', '=', true).execute()
    return trx.updateTable('addresses').set({
      ...(patch.street !== undefined ? { street: patch.street } : {}),
      ...(patch.city !== undefined ? { city: patch.city } : {}),
      ...(patch.state !== undefined ? { state: patch.state } : {}),
      ...(patch.zipCode !== undefined ? { zipCode: patch.zipCode } : {}),
      ...(patch.country !== undefined ? { country: patch.country } : {}),
      ...(patch.isDefault !== undefined ? { isDefault: patch.isDefault } : {}),
      updatedAt: deps.clock.now()
    }).where('id', '=', id).where('userId', '=', userId).returning(addressColumns).executeTakeFirstOrThrow()
  })
}

export async function deleteAddress (deps: Deps, userId: string, id: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom('addresses').where('id', '=', id).where('userId', '=', userId).returning('isDefault').executeTakeFirst()
    if (!removed) throw NotFound('NOT_FOUND', 'address not found')
    // The oldest remaining address takes the default mark.
    if (removed.isDefault) {
      const next = await trx.selectFrom('addresses').select('id').where('userId', '=', userId).orderBy('createdAt').limit(1).executeTakeFirst()
      if (next) await trx.updateTable('addresses').set({ isDefault: true }).where('id', '=', next.id).execute()
    }
  })
}

/**
 * A user's address as a subquery other statements fold in (checkout, the cart's totals): the one
 * with this id, or without one the default. One row or none; what an order ships to.
 */
export function addressFacts (db: Queryable, userId: string, addressId?: string) {
  const mine = db.selectFrom('addresses').select(['street', 'city', 'state', 'zipCode', 'country']).where('userId', '=', userId)
  return addressId === undefined ? mine.where('isDefault', '=', true) : mine.where('id', '=', addressId)
}
