// Polling for background effects (the worker, a restarted dependency), with a loud failure.

const HUNG = Symbol('hung')

function describeOutcome (value: unknown): string {
  if (value instanceof Error) return `last attempt threw: ${value.message}`
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return `last value: ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`
}

/**
 * Polls `check` until it returns a truthy value, and returns that value (assert on it). When the
 * time is up it throws, naming the last value or error: a caller never carries on as if the
 * condition held. A check that never settles is abandoned at the deadline instead of hanging
 * the test until tap's timeout.
 */
export async function eventually<T> (check: () => Promise<T> | T, timeoutMs = 10000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let outcome: unknown = new Error('no attempt finished')
  for (;;) {
    let timer: NodeJS.Timeout | undefined
    const hung = new Promise<typeof HUNG>((resolve) => { timer = setTimeout(() => resolve(HUNG), Math.max(0, deadline - Date.now())) })
    try {
      const value = await Promise.race([Promise.resolve().then(check), hung])
      if (value === HUNG) outcome = new Error(`the check did not settle within ${timeoutMs} ms`)
      else if (value) return value as NonNullable<T>
      else outcome = value
    } catch (err) {
      outcome = err instanceof Error ? err : new Error(String(err))
    } finally {
      clearTimeout(timer)
    }
    if (Date.now() >= deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms (${describeOutcome(outcome)})`, { cause: outcome })
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
