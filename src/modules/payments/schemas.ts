import { Type } from '@sinclair/typebox'
import { Text, Uuid } from '../../platform/schema-types.ts'

export const WebhookHeaders = Type.Object({ 'stripe-signature': Type.Optional(Text()) })
export const EventReceipt = Type.Object({
  received: Type.Literal(true),
  duplicate: Type.Boolean({ description: 'true when this event was processed before (nothing changed this time)' })
}, { examples: [{ received: true, duplicate: false }] })
export const SimulatorParams = Type.Object({ checkoutId: Uuid(), outcome: Type.Union([Type.Literal('succeed'), Type.Literal('fail')]) })
export const AccountSimulatorParams = Type.Object({
  workspaceId: Uuid(),
  outcome: Type.Union([Type.Literal('enable'), Type.Literal('restrict')], { description: 'enable completes onboarding (payouts enabled); restrict marks the account past due' })
})
