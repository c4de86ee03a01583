import type AjvCompiler from '@fastify/ajv-compiler'

// IANA time zone names (Europe/Paris), checked against the zones Node's ICU knows: no pattern
// can tell a zone from a typo. The ajv keyword lets a request schema say so (validation.ts).

export const TIME_ZONE_KEYWORD = 'x-time-zone'

const known = new Map<string, boolean>()

/** Whether `name` is a time zone name (offsets such as +01:00 are not). */
export function isTimeZone (name: string): boolean {
  let answer = known.get(name)
  if (answer === undefined) {
    answer = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(name) && accepted(name)
    // Bounded: only names that pass are remembered, and there are a few hundred of them.
    if (answer) known.set(name, answer)
  }
  return answer
}

function accepted (name: string): boolean {
  try {
    // eslint-disable-next-line no-new
    new Intl.DateTimeFormat('en-US', { timeZone: name })
    return true
  } catch {
    return false
  }
}

/** The ajv plugin that defines the keyword; validation.ts passes it in the validator's options. */
export function timeZoneAjvPlugin (ajv: AjvCompiler.Ajv): AjvCompiler.Ajv {
  const validate = (check: boolean, data: string): boolean => {
    const ok = !check || isTimeZone(data)
    validate.errors = ok ? undefined : [{ keyword: TIME_ZONE_KEYWORD, message: 'must be an IANA time zone name, e.g. Europe/Paris', params: {} }]
    return ok
  }
  validate.errors = undefined as undefined | Array<{ keyword: string, message: string, params: object }>
  return ajv.addKeyword({ keyword: TIME_ZONE_KEYWORD, schemaType: 'boolean', type: 'string', errors: true, validate })
}
