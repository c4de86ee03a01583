// Small helpers the benchmark commands share (scripts/bench.ts, scripts/topology-bench.ts):
// their `--name value` options and the statistics of their reports.

/** `--name value` from `args`, or `fallback` when absent. */
export function benchOption (args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback
}

/** The middle value (the upper one of an even count, as bench.ts always took it). */
export function median (values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
}

/** The `q` quantile (0-1) of values sorted ascending, rounded to 0.01; 0 when there are none. */
export function percentile (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]! * 100) / 100
}
