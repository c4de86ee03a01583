import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'fastify/types/logger.js'

// Fastify makes a pino child logger for every request. Most requests log one line, but probes
// and requests whose log lines are below the level log none; the child is created on the first
// line that is actually written, so those requests do not pay for one.

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

export class LazyChildLogger {
  #parent: FastifyBaseLogger & { isLevelEnabled: (level: string) => boolean }
  #bindings: Bindings
  #options: ChildLoggerOptions
  #child: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent as never
    this.#bindings = bindings
    this.#options = options
  }

  get child (): (bindings: Bindings, options?: ChildLoggerOptions) => FastifyBaseLogger {
    return (bindings, options) => this.#real().child(bindings, options)
  }

  get level (): string {
    return this.#child ? this.#child.level : (this.#options.level ?? this.#parent.level)
  }

  set level (level: string) {
    this.#real().level = level
  }

  silent (): void {}

  /** Asked before a log line is built, so a request whose lines are below the level builds none. */
  isLevelEnabled (level: string): boolean {
    if (!this.#child && this.#options.level === undefined) return this.#parent.isLevelEnabled(level)
    return (this.#real() as unknown as { isLevelEnabled: (l: string) => boolean }).isLevelEnabled(level)
  }

  #real (): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  #write (level: Level, args: unknown[]): void {
    // Without a level of its own, the child writes exactly what the parent would.
    if (!this.#child && this.#options.level === undefined && !this.#parent.isLevelEnabled(level)) return
    ;(this.#real()[level] as (...a: unknown[]) => void)(...args)
  }

  fatal (...args: unknown[]): void { this.#write('fatal', args) }
  error (...args: unknown[]): void { this.#write('error', args) }
  warn (...args: unknown[]): void { this.#write('warn', args) }
  info (...args: unknown[]): void { this.#write('info', args) }
  debug (...args: unknown[]): void { this.#write('debug', args) }
  trace (...args: unknown[]): void { this.#write('trace', args) }
}

export function lazyChildLoggerFactory (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger
}
