import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../../platform/errors.ts'
import { commissionReport, listReversals, listTransfers, transferById, workspaceBalance, workspaceLedger } from './queries.ts'
import { AdminReversalQuery, AdminTransferQuery, Balance, CommissionQuery, CommissionReport, LedgerPage, LedgerQuery, ReversalPage, TransferPage, TransferParams, TransferView, WorkspaceParams } from './schemas.ts'
import { retryTransfer } from './transfers.ts'

// The ledger's routes (issue 14): a vendor's balance and entries (orders:refund level: the
// people who may move the workspace's money), the platform's commission, the transfers and
// reversals for operators (admins), and an operator's retry of a failed transfer.

const ledger: FastifyPluginAsyncTypebox = async (app) => {
  const deps = app.deps
  const tags = ['ledger']

  app.get('/workspaces/:id/balance', {
    config: { auth: 'user', workspace: 'orders:refund' },
    schema: {
      operationId: 'getWorkspaceBalance',
      tags,
      summary: 'The workspace\'s balance per currency: pending, in transit, paid out',
      description: 'From the ledger: pending is what the workspace earned (sales − refunds − commission + platform-funded discounts) and was not yet transferred, minus transfers in transit; paid out is what was transferred to its connected Stripe account, net of reversals. "Paid out" means transferred to the connected account, not yet to the vendor\'s bank. Needs the orders:refund permission (403); a non-member gets 404.',
      params: WorkspaceParams,
      response: { 200: Balance, ...problems(403, 404) }
    }
  }, async (request) => workspaceBalance(deps, request.params.id))

  app.get('/workspaces/:id/ledger', {
    config: { auth: 'user', workspace: 'orders:refund' },
    schema: {
      operationId: 'listWorkspaceLedger',
      tags,
      summary: 'The workspace\'s ledger entries, newest first',
      description: 'Immutable entries with signed amounts, as the workspace sees them: sale, commission, discount_funding, refund, commission_refund, funding_refund and adjustment in the pending bucket; transfer and transfer_reversal move money between pending and paid_out. Optionally of one currency, type or order. Keyset pagination: pass nextCursor back with the same filters. Needs the orders:refund permission.',
      params: WorkspaceParams,
      querystring: LedgerQuery,
      response: { 200: LedgerPage, ...problems(400, 403, 404) }
    }
  }, async (request) => workspaceLedger(deps, request.params.id, request.query))

  app.get('/admin/commission', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'getPlatformCommission',
      tags: ['admin', ...tags],
      summary: 'The platform\'s commission per currency (platform admins)',
      description: 'Commission earned, commission returned with refunds, platform-funded discounts (net of those taken back) and the net kept, from the platform\'s ledger rows, optionally within [from, to).',
      querystring: CommissionQuery,
      response: { 200: CommissionReport, ...problems(400) }
    }
  }, async (request) => commissionReport(deps, request.query))

  app.get('/admin/transfers', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'listVendorTransfers',
      tags: ['admin', ...tags],
      summary: 'Vendor transfers, newest first (platform admins, operations)',
      description: 'Optionally of one status (failed ones need an operator: the provider refused them) or one workspace, with attempts and the last error. Keyset pagination: pass nextCursor back with the same filters.',
      querystring: AdminTransferQuery,
      response: { 200: TransferPage, ...problems(400) }
    }
  }, async (request) => listTransfers(deps, request.query))

  app.post('/admin/transfers/:id/retry', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'retryVendorTransfer',
      tags: ['admin', ...tags],
      summary: 'Queue a failed transfer again (platform admins, operations)',
      description: 'For a transfer the provider refused for good (status failed), once its cause is dealt with: it is queued again with what the vendor is owed now (refunds since lowered it) under a new idempotency key, and made by the payouts job (or waits, if the vendor cannot receive transfers now). 404 for an unknown transfer, 409 TRANSFER_NOT_FAILED for any other status.',
      params: TransferParams,
      response: { 200: TransferView, ...problems(404, 409) }
    }
  }, async (request) => {
    await retryTransfer(deps, request.params.id)
    return transferById(deps, request.params.id)
  })

  app.get('/admin/reversals', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'listTransferReversals',
      tags: ['admin', ...tags],
      summary: 'Transfer reversals, newest first (platform admins, operations)',
      description: 'Optionally of one status or workspace. A failed reversal (the provider refused it, e.g. the vendor\'s Stripe balance was too low) means the platform funded that vendor part of a refund: an operator must act. Keyset pagination: pass nextCursor back with the same filters.',
      querystring: AdminReversalQuery,
      response: { 200: ReversalPage, ...problems(400) }
    }
  }, async (request) => listReversals(deps, request.query))
}

export default ledger
