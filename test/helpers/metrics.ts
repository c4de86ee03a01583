// Reading the Prometheus text format (version 0.0.4) back in tests: every sample line parsed,
// so a malformed line fails the test that scraped it.

export interface Sample { name: string, labels: Record<string, string>, value: number }

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g

export function parseExposition (text: string): { samples: Sample[], help: Set<string>, types: Map<string, string> } {
  const samples: Sample[] = []
  const help = new Set<string>()
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment) {
      if (comment[1] === 'HELP') help.add(comment[2]!)
      else types.set(comment[2]!, comment[3]!)
      continue
    }
    const match = SAMPLE.exec(line)
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!
    // Prometheus reads Inf and NaN in any case (prom-client writes NaN as Nan).
    const raw = match[3]!.toLowerCase()
    const value = raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : raw === 'nan' ? NaN : Number(raw)
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`not a sample value: ${line}`)
    samples.push({ name: match[1]!, labels, value })
  }
  return { samples, help, types }
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v)

/** The value of the series with exactly these labels, or undefined when it is not there. */
export function valueOf (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return parseExposition(text).samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value
}
