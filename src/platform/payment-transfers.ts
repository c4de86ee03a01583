import { randomBytes } from 'node:crypto'
import type Stripe from 'stripe'
import type { ConnectGateway } from './payment-connect.ts'

// The transfer half of the Connect gateway (issue 14, plan §6.1): vendor transfers and their
// reversals, for Stripe (the SDK; its network retries reuse the idempotency key) and for the
// simulator (recorded as made). Lookups by our ids serve retries made after the provider may
// have pruned an idempotency key.

export type TransferMethods = Pick<ConnectGateway, 'createTransfer' | 'findTransfer' | 'createReversal' | 'findReversal'>

export function stripeTransfers (stripe: Stripe, toError: (err: unknown) => Error): TransferMethods {
  return {
    async createTransfer ({ amount, currency, destination, transferGroup, sourceTransaction, metadata, idempotencyKey }) {
      try {
        const t = await stripe.transfers.create({
          amount, currency, destination, transfer_group: transferGroup, metadata, ...(sourceTransaction ? { source_transaction: sourceTransaction } : {})
        }, { idempotencyKey })
        return { id: t.id, amount: t.amount }
      } catch (err) {
        throw toError(err)
      }
    },
    async findTransfer (transferGroup, transferId) {
      try {
        for await (const t of stripe.transfers.list({ transfer_group: transferGroup, limit: 100 })) {
          if (t.metadata?.transferId === transferId) return { id: t.id, amount: t.amount }
        }
        return null
      } catch (err) {
        throw toError(err)
      }
    },
    async createReversal ({ transferId, amount, metadata, idempotencyKey }) {
      try {
        const r = await stripe.transfers.createReversal(transferId, { amount, metadata }, { idempotencyKey })
        return { id: r.id }
      } catch (err) {
        throw toError(err)
      }
    },
    async findReversal (stripeTransferId, reversalId) {
      try {
        for await (const r of stripe.transfers.listReversals(stripeTransferId, { limit: 100 })) {
          if (r.metadata?.reversalId === reversalId) return { id: r.id }
        }
        return null
      } catch (err) {
        throw toError(err)
      }
    }
  }
}

/** Development without Stripe: transfers and reversals are recorded as made (ids derived from our keys). */
export function simulatorTransfers (): TransferMethods {
  const simId = (prefix: string, key: string) => `${prefix}_sim_${key.replace(/[^A-Za-z0-9]/g, '').slice(-40) || randomBytes(8).toString('hex')}`
  return {
    async createTransfer ({ amount, idempotencyKey }) { return { id: simId('tr', idempotencyKey), amount } },
    async findTransfer () { return null },
    async createReversal ({ idempotencyKey }) { return { id: simId('trr', idempotencyKey) } },
    async findReversal () { return null }
  }
}
