import type { LightMyRequestResponse } from 'fastify'

// Parallel requests with one Idempotency-Key end in one of three ways: the one that ran, a replay of
// its stored response (a request that arrived after it finished; on a slow machine that can be all
// of the others), or 409 IDEMPOTENCY_IN_PROGRESS. Tests of real routes count runs, never 2xx responses;
// test/platform/idempotency.test.ts holds its route open to assert the in-progress answer itself.
export function sortBurst (responses: LightMyRequestResponse[]) {
  const replayed = (r: LightMyRequestResponse) => r.headers['idempotent-replayed'] === 'true'
  const inProgress = (r: LightMyRequestResponse) => r.statusCode === 409 && r.json().code === 'IDEMPOTENCY_IN_PROGRESS'
  const ran = responses.filter((r) => !replayed(r) && !inProgress(r))
  const replays = responses.filter(replayed)
  return { ran, replays, unexplained: responses.length - ran.length - replays.length - responses.filter(inProgress).length }
}
