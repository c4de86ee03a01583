import { createHash, timingSafeEqual } from 'node:crypto'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type GaugeConfiguration } from 'prom-client'

// Prometheus metrics. Each API instance and each worker has a registry of its own (tests run
// several in one process, and counters must not mix); the Node process's own figures (event
// loop lag, heap, GC, CPU, file descriptors) are the process's, collected once and shown by
// every registry of it. Counters are defined where their fact lives (a domain's sign-ins, the
// worker's emails) and counted through `deps.metrics`; the process registers the ones it
// serves up front, so each is exported from 0 and a first event shows as an increase.

export interface CounterDefinition<L extends string = string> {
  name: string
  help: string
  labelNames?: readonly L[]
  /** Label sets exported at 0 from the start (the values known in advance). */
  initial?: ReadonlyArray<Record<L, string>>
}

export interface HistogramDefinition<L extends string = string> {
  name: string
  help: string
  labelNames: readonly L[]
  /** Upper bounds in seconds. */
  buckets: readonly number[]
}

export const defineCounter = <L extends string = never>(definition: CounterDefinition<L>): CounterDefinition<L> => definition
export const defineHistogram = <L extends string>(definition: HistogramDefinition<L>): HistogramDefinition<L> => definition

let processRegistry: Registry | undefined

/**
 * Starts collecting the process's figures (prom-client's default metrics), once per process.
 * Called by whatever serves metrics, so a process that serves none pays nothing for them.
 */
export function collectProcessMetrics (): void {
  if (processRegistry) return
  processRegistry = new Registry()
  collectDefaultMetrics({ register: processRegistry })
}

export class Metrics {
  readonly registry = new Registry()
  readonly #counters = new Map<CounterDefinition<any>, Counter<string>>()
  readonly #histograms = new Map<HistogramDefinition<any>, Histogram<string>>()

  constructor (counters: ReadonlyArray<CounterDefinition<any>> = []) {
    for (const definition of counters) this.counter(definition)
  }

  counter<L extends string> (definition: CounterDefinition<L>): Counter<L> {
    let counter = this.#counters.get(definition)
    if (counter === undefined) {
      counter = new Counter({ name: definition.name, help: definition.help, labelNames: definition.labelNames ?? [], registers: [this.registry] })
      for (const labels of definition.initial ?? []) counter.inc(labels, 0)
      this.#counters.set(definition, counter)
    }
    return counter as Counter<L>
  }

  /** Counts one event (or `by`); a definition met for the first time is registered then. */
  count<L extends string> (definition: CounterDefinition<L>, labels?: Record<L, string>, by = 1): void {
    this.counter(definition).inc(labels ?? {}, by)
  }

  histogram<L extends string> (definition: HistogramDefinition<L>): Histogram<L> {
    let histogram = this.#histograms.get(definition)
    if (histogram === undefined) {
      histogram = new Histogram({ ...definition, labelNames: [...definition.labelNames], buckets: [...definition.buckets], registers: [this.registry] })
      this.#histograms.set(definition, histogram)
    }
    return histogram as Histogram<L>
  }

  /** A gauge read at scrape time: its `collect` sets the values. */
  gauge<L extends string> (configuration: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return new Gauge({ ...configuration, registers: [this.registry] })
  }

  readonly contentType = this.registry.contentType

  /** The text a scrape gets: the process's figures, then this registry's. */
  async exposition (): Promise<string> {
    const own = await this.registry.metrics()
    return processRegistry ? `${await processRegistry.metrics()}\n${own}` : own
  }
}

/**
 * Whether an Authorization header carries the metrics token (`Bearer <token>`). Compared as
 * digests in constant time: the comparison says nothing about how much of a guess was right.
 */
export function metricsTokenCheck (token: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest()
  return (authorization) => {
    if (authorization === undefined || !/^bearer /i.test(authorization)) return false
    return timingSafeEqual(createHash('sha256').update(authorization.slice(7).trim()).digest(), expected)
  }
}

/** What a refused scrape is told, with its WWW-Authenticate challenge. */
export const METRICS_CHALLENGE = 'Bearer realm="metrics"'

/** A value, or undefined when `work` fails or takes longer than `ms` (scrapes must not hang on Redis). */
export async function within<T> (ms: number, work: () => Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      work(),
      new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms) })
    ])
  } catch {
    return undefined
  } finally {
    clearTimeout(timer)
  }
}
