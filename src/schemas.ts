import type { TSchema } from '@sinclair/typebox'
import { ProblemDetails } from './platform/errors.ts'
import { UserView } from './modules/users/schemas.ts'
import { SessionView } from './modules/sessions/schemas.ts'
import { Tokens } from './modules/auth/schemas.ts'
import { WorkspaceView } from './modules/workspaces/schemas.ts'
import { Money } from './platform/money.ts'

// Schemas that several domains return, registered once at the root (by $id) so every domain's
// routes can reference them and the OpenAPI document lists each once.
export const sharedSchemas: TSchema[] = [ProblemDetails, Money, UserView, SessionView, Tokens, WorkspaceView]
