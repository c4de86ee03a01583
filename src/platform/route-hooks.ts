/** Adds a hook to a route's own list of hooks (route options take one hook or an array). */
export function appendHook<T> (existing: T | T[] | undefined, hook: T): T[] {
  return existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook]
}

/** A preValidation hook for routes whose body is optional: no body means an empty object. */
export async function bodyDefaultsToEmpty (request: { body: unknown }): Promise<void> {
  request.body ??= {}
}
