import { randomBytes } from 'node:crypto'

// The transfers part of the Stripe double (issue 14, plan §6.2): Connect transfers to connected
// accounts and their reversals, with Stripe's rules where our money depends on them — a
// destination must be able to receive transfers; a transfer from a charge never takes more
// than the charge captured, in its currency; a reversal never exceeds what is left of its
// transfer. Each one made is announced as Stripe would (transfer.created, transfer.reversed).

export interface DoubleTransfer {
  id: string
  object: 'transfer'
  amount: number
  amount_reversed: number
  currency: string
  destination: string
  transfer_group: string | null
  source_transaction: string | null
  metadata: Record<string, string>
  reversed: boolean
  created: number
}
export interface DoubleReversal { id: string, object: 'transfer_reversal', amount: number, currency: string, transfer: string, metadata: Record<string, string>, created: number }

interface Charge { id: string, amount_captured: number, currency: string }
interface Needs {
  charges: Map<string, Charge>
  /** Whether the account exists and its transfers capability is active. */
  canReceive: (accountId: string) => boolean | 'missing'
  emit: (type: string, object: object) => unknown
  metadataOf: (body: Record<string, string>) => Record<string, string>
  fail: (status: number, code: string, message: string) => Error
}

export function transfersPart (needs: Needs) {
  const transfers = new Map<string, DoubleTransfer>()
  const reversals: DoubleReversal[] = []
  const now = () => Math.floor(Date.now() / 1000)

  function create (body: Record<string, string>): DoubleTransfer {
    const amount = Number(body.amount)
    if (!Number.isInteger(amount) || amount < 1) throw needs.fail(400, 'parameter_invalid_integer', 'Invalid integer: amount')
    if (!body.currency) throw needs.fail(400, 'parameter_missing', 'Missing required param: currency.')
    const destination = body.destination ?? ''
    const can = needs.canReceive(destination)
    if (can === 'missing') throw needs.fail(400, 'account_invalid', `No such destination: '${destination}'`)
    if (!can) throw needs.fail(400, 'insufficient_capabilities_for_transfer', 'Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments')
    const source = body.source_transaction ?? null
    if (source) {
      const charge = needs.charges.get(source)
      if (!charge) throw needs.fail(400, 'resource_missing', `No such charge: '${source}'`)
      if (charge.currency !== body.currency) throw needs.fail(400, 'transfer_source_currency_mismatch', 'The currency of source_transaction\'s balance transaction must match the transfer currency.')
      const taken = [...transfers.values()].filter((t) => t.source_transaction === source).reduce((sum, t) => sum + t.amount, 0)
      if (taken + amount > charge.amount_captured) throw needs.fail(400, 'amount_too_large', `Transfers from ${source} would exceed what it captured.`)
    }
    const transfer: DoubleTransfer = {
      id: `tr_${randomBytes(10).toString('hex')}`,
      object: 'transfer',
      amount,
      amount_reversed: 0,
      currency: body.currency,
      destination,
      transfer_group: body.transfer_group ?? null,
      source_transaction: source,
      metadata: needs.metadataOf(body),
      reversed: false,
      created: now()
    }
    transfers.set(transfer.id, transfer)
    needs.emit('transfer.created', transfer)
    return transfer
  }

  function transferOf (id: string): DoubleTransfer {
    const t = transfers.get(id)
    if (!t) throw needs.fail(404, 'resource_missing', `No such transfer: '${id}'`)
    return t
  }

  function reverse (t: DoubleTransfer, body: Record<string, string>): DoubleReversal {
    const left = t.amount - t.amount_reversed
    const amount = body.amount === undefined ? left : Number(body.amount)
    if (!Number.isInteger(amount) || amount < 1 || amount > left) throw needs.fail(400, 'amount_too_large', `Reversal amount (${amount}) is greater than what is left of the transfer (${left}).`)
    const reversal: DoubleReversal = { id: `trr_${randomBytes(10).toString('hex')}`, object: 'transfer_reversal', amount, currency: t.currency, transfer: t.id, metadata: needs.metadataOf(body), created: now() }
    reversals.push(reversal)
    t.amount_reversed += amount
    t.reversed = t.amount_reversed === t.amount
    needs.emit('transfer.reversed', t)
    return reversal
  }

  /** Answers a transfers request, or undefined when the path is not a transfers one. */
  function handle (method: string, path: string, query: URLSearchParams, body: Record<string, string>): unknown {
    if (path === '/v1/transfers') {
      if (method === 'POST') return create(body)
      const group = query.get('transfer_group')
      const data = [...transfers.values()].filter((t) => !group || t.transfer_group === group).reverse()
      return { object: 'list', data, has_more: false, url: '/v1/transfers' }
    }
    const m = /^\/v1\/transfers\/([^/]+)(\/reversals)?$/.exec(path)
    if (!m) return undefined
    const t = transferOf(m[1]!)
    if (!m[2]) return t
    if (method === 'POST') return reverse(t, body)
    return { object: 'list', data: reversals.filter((r) => r.transfer === t.id).reverse(), has_more: false, url: `/v1/transfers/${t.id}/reversals` }
  }

  return {
    transfers,
    reversals,
    handle,
    /** What an account received, net of reversals. */
    transfersTo: (accountId: string) => [...transfers.values()].filter((t) => t.destination === accountId).reduce((sum, t) => sum + t.amount - t.amount_reversed, 0)
  }
}
