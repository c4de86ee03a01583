import { Type } from '@sinclair/typebox'
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'

// Phone numbers that receive codes: E.164 only (a plus, the country code, the number; no
// spaces), and a number libphonenumber's full metadata knows as valid for its country, so a
// code is never sent to a number that cannot exist.

const E164 = /^\+[1-9][0-9]{6,14}$/

/** The ajv format `e164` (platform/validation.ts): a schema's field fails with a 400 naming it. */
export function isE164Phone (value: string): boolean {
  if (!E164.test(value)) return false
  const parsed = parsePhoneNumberFromString(value)
  return parsed !== undefined && parsed.number === value && parsed.isValid()
}

export const E164Phone = (options: { description?: string } = {}) => Type.String({
  format: 'e164',
  maxLength: 16,
  description: options.description ?? 'an E.164 phone number: +, country code and number, digits only',
  examples: ['+33612345678']
})
