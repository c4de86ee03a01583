import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../../platform/errors.ts'
import { commissionReport, listTransfers, workspaceBalance, workspaceLedger } from './queries.ts'
import { AdminTransferQuery, Balance, CommissionQuery, CommissionReport, LedgerPage, LedgerQuery, TransferPage, WorkspaceParams } from './schemas.ts'

// The ledger's routes (issue 14): a vendor's balance and entries (orders:refund level: the
// people who may move the workspace's money), the platform's commission and the transfers
// for operators (admins).

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
}

export default ledger
