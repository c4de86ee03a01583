import AjvCompiler from '@fastify/ajv-compiler'
import { isCountryCode } from './country-code.ts'
import { isE164Phone } from './phone.ts'
import { jsonLimitsAjvPlugin } from './schema-types.ts'
import { timeZoneAjvPlugin } from './time-zone.ts'

/**
 * Query strings, params and headers arrive as text and are coerced to their schema's types;
 * JSON bodies are typed already and are not: `{"quantity": "2"}`, `true` or `[3]` for an integer
 * is a 400 naming the field, never silently read as a number.
 */
const coercingCompiler = AjvCompiler()
const strictCompiler = AjvCompiler()
export const buildBodyStrictValidator: AjvCompiler.BuildCompilerFromPool = (externalSchemas, options) => {
  const coercing = coercingCompiler(externalSchemas, options)
  const strict = strictCompiler(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options)
  // At run time Fastify passes { schema, method, url, httpPart } (the package's types say a schema).
  type Route = Parameters<typeof strict>[0]
  return ((route: Route & { httpPart?: string }) => route.httpPart === 'body' ? strict(route) : coercing(route)) as typeof strict
}

/** Ajv options for every route: defaults applied, arrays coerced in query strings, x-json-limits, x-time-zone and the e164 and iso-country formats known. */
export const ajvOptions = {
  customOptions: { removeAdditional: false as const, coerceTypes: 'array' as const, useDefaults: true, formats: { e164: { type: 'string' as const, validate: isE164Phone }, 'iso-country': { type: 'string' as const, validate: isCountryCode } } },
  plugins: [jsonLimitsAjvPlugin, timeZoneAjvPlugin]
}
