import type { Selectable } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Promotions } from '../../platform/db-types.ts'
import { BadRequest, Conflict, isUniqueViolation, NotFound } from '../../platform/errors.ts'
import { MAX_CHARGE, money } from '../../platform/money.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { AdminPromotionQuery, CreatePromotionBody, PromotionView, UpdatePromotionBody, WorkspacePromotionQuery } from './schemas.ts'

// Codes (plan §4 WP2): platform codes are an admin's, a workspace's codes its own (always
// vendor-funded, covering only its lines). Codes are unique among live codes whatever their
// case (the database's unique index on code_key decides a race). Deleting is soft: orders keep
// naming the code they used.

type Row = Selectable<Promotions>
/** null: platform codes; else the workspace's. */
export type Scope = string | null

/** How codes are compared: trimmed, upper case. */
export const codeKey = (code: string) => code.trim().toUpperCase()

export function toPromotionView (r: Row): PromotionView {
  return {
    id: r.id,
    code: r.code,
    scope: r.workspaceId === null ? 'platform' : 'workspace',
    workspaceId: r.workspaceId,
    kind: r.kind as 'percent' | 'fixed',
    percentBps: r.percentBps,
    amountOff: r.amountOff === null ? null : money(r.amountOff, r.currency!),
    minSubtotal: r.minSubtotal === null ? null : money(r.minSubtotal, r.currency!),
    fundedBy: r.fundedBy as 'platform' | 'vendor',
    startsAt: r.startsAt,
    endsAt: r.endsAt,
    maxUses: r.maxUses,
    maxUsesPerCustomer: r.maxUsesPerCustomer,
    usedCount: r.usedCount,
    isActive: r.isActive,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt
  }
}

const invalid = (field: string, detail: string) => BadRequest('VALIDATION_FAILED', `body/${field} ${detail}`, { field: `/body/${field}`, fieldDetail: detail })

/** The terms a kind needs, and one currency for the amounts; 400 naming the field otherwise. */
function checkTerms (body: CreatePromotionBody): string | null {
  if (body.kind === 'percent') {
    if (body.percentBps === undefined) throw invalid('percentBps', 'is required for a percent code')
    if (body.amountOff !== undefined) throw invalid('amountOff', 'is for fixed codes only')
  } else {
    if (body.amountOff === undefined) throw invalid('amountOff', 'is required for a fixed code')
    if (body.percentBps !== undefined) throw invalid('percentBps', 'is for percent codes only')
    if (body.amountOff.amount === 0) throw invalid('amountOff/amount', 'must be more than 0')
  }
  // Money takes amounts up to 1e11; no cart can charge more than MAX_CHARGE (nor an int4 hold it).
  if (body.amountOff && body.amountOff.amount > MAX_CHARGE) throw invalid('amountOff/amount', `must be at most ${MAX_CHARGE}`)
  if (body.minSubtotal && body.minSubtotal.amount > MAX_CHARGE) throw invalid('minSubtotal/amount', `must be at most ${MAX_CHARGE}`)
  if (body.amountOff && body.minSubtotal && body.minSubtotal.currency !== body.amountOff.currency) {
    throw invalid('minSubtotal/currency', 'must be the currency of amountOff')
  }
  if (body.startsAt !== undefined && body.endsAt !== undefined && Date.parse(body.endsAt) <= Date.parse(body.startsAt)) {
    throw invalid('endsAt', 'must be after startsAt')
  }
  return body.amountOff?.currency ?? body.minSubtotal?.currency ?? null
}

export async function createPromotion (deps: Deps, userId: string, scope: Scope, body: CreatePromotionBody): Promise<PromotionView> {
  const currency = checkTerms(body)
  const now = deps.clock.now()
  try {
    const row = await deps.db.insertInto('promotions').values({
      id: deps.random.uuid(),
      code: body.code,
      codeKey: codeKey(body.code),
      workspaceId: scope,
      kind: body.kind,
      percentBps: body.percentBps ?? null,
      amountOff: body.amountOff?.amount ?? null,
      currency,
      minSubtotal: body.minSubtotal?.amount ?? null,
      fundedBy: scope === null ? body.fundedBy ?? 'platform' : 'vendor',
      startsAt: body.startsAt ? new Date(body.startsAt) : null,
      endsAt: body.endsAt ? new Date(body.endsAt) : null,
      maxUses: body.maxUses ?? null,
      maxUsesPerCustomer: body.maxUsesPerCustomer ?? null,
      createdBy: userId,
      createdAt: now,
      updatedAt: now
    }).returningAll().executeTakeFirstOrThrow()
    return toPromotionView(row)
  } catch (err) {
    if (isUniqueViolation(err, 'promotions_code_key')) throw Conflict('CODE_TAKEN', 'A live code with this name exists (codes are compared ignoring case).', { field: '/body/code', fieldDetail: 'is taken' })
    throw err
  }
}

function inScope<Q extends { where: (...args: any[]) => Q }> (q: Q, scope: Scope): Q {
  return scope === null ? q.where('workspaceId', 'is', null) : q.where('workspaceId', '=', scope)
}

export async function listPromotions (deps: Deps, scope: Scope, query: AdminPromotionQuery | WorkspacePromotionQuery): Promise<PageOf<PromotionView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = inScope(deps.db.selectFrom('promotions').selectAll().where('deletedAt', 'is', null), scope)
  if ('q' in query && query.q) q = q.where('codeKey', 'like', `%${codeKey(query.q).replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
  if ('active' in query && query.active !== undefined) q = q.where('isActive', '=', query.active)
  if (after) q = q.where('id', '<', after[0])
  const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, toPromotionView, (r) => [r.id])
}

const notFound = () => NotFound('NOT_FOUND', 'promotion not found')

/** Changes a live code of the scope under its row lock: maxUses below the uses made is 409 BELOW_USAGE. */
export async function updatePromotion (deps: Deps, scope: Scope, id: string, body: UpdatePromotionBody): Promise<PromotionView> {
  return deps.db.transaction().execute(async (trx) => {
    const row = await inScope(trx.selectFrom('promotions').selectAll().where('id', '=', id).where('deletedAt', 'is', null), scope).forUpdate().executeTakeFirst()
    if (!row) throw notFound()
    if (body.maxUses !== undefined && body.maxUses !== null && body.maxUses < row.usedCount) {
      throw Conflict('BELOW_USAGE', `The code was used ${row.usedCount} times already: maxUses cannot be lower.`, { field: '/body/maxUses', fieldDetail: `must be at least ${row.usedCount}`, extra: { usedCount: row.usedCount } })
    }
    if (body.endsAt && row.startsAt && Date.parse(body.endsAt) <= row.startsAt.getTime()) throw invalid('endsAt', 'must be after startsAt')
    const updated = await trx.updateTable('promotions').set({
      ...(body.isActive !== undefined ? { isActive: body.isActive } : {}),
      ...(body.endsAt !== undefined ? { endsAt: body.endsAt === null ? null : new Date(body.endsAt) } : {}),
      ...(body.maxUses !== undefined ? { maxUses: body.maxUses } : {}),
      ...(body.maxUsesPerCustomer !== undefined ? { maxUsesPerCustomer: body.maxUsesPerCustomer } : {}),
      updatedAt: deps.clock.now()
    }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    return toPromotionView(updated)
  })
}

/** Soft delete: the code stops applying (carts holding it see it unavailable); its name is free again. */
export async function deletePromotion (deps: Deps, scope: Scope, id: string): Promise<void> {
  const now = deps.clock.now()
  const done = await inScope(deps.db.updateTable('promotions').set({ deletedAt: now, updatedAt: now, isActive: false })
    .where('id', '=', id).where('deletedAt', 'is', null), scope).executeTakeFirst()
  if (Number(done.numUpdatedRows) === 0) throw notFound()
}
