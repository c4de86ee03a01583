import type { TSchema } from '@sinclair/typebox'
import { ProblemDetails } from './platform/errors.ts'
import { Money, SignedMoney } from './platform/money.ts'
import { Tokens } from './modules/auth/public.ts'
import { SessionView } from './modules/sessions/public.ts'
import { UserView, AddressView } from './modules/users/public.ts'
import { WorkspaceView } from './modules/workspaces/public.ts'
import { ProfileView } from './modules/vendor-profiles/public.ts'
import { ProductView } from './modules/products/public.ts'
import { CartView } from './modules/cart/public.ts'
import { OrderView, WorkspaceOrderView } from './modules/orders/public.ts'
import { TotalsView } from './modules/pricing/public.ts'

// Every schema with an $id, registered once at the root: routes reference them with typed
// Type.Ref(Schema), and the OpenAPI document lists each once under components.
export const sharedSchemas: TSchema[] = [
  ProblemDetails, Money, SignedMoney, Tokens, SessionView, UserView, AddressView, WorkspaceView, ProfileView, ProductView, TotalsView, CartView, OrderView, WorkspaceOrderView
]
