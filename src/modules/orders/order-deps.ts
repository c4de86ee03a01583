import type { Deps } from '../../platform/deps.ts'
import type { PaymentGateway } from '../../platform/payment-provider.ts'

/** What order services work with: the shared deps plus the payment provider they charge and refund through. */
export interface OrderDeps extends Deps { gateway: PaymentGateway }
