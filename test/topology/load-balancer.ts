import { Agent, request } from 'node:http'
import type { AppProcess } from '../../scripts/lib/topology-processes.ts'

// A load generator in front of the API processes that behaves as a load balancer does: it sends
// each request to the next API whose readiness probe (GET /health/ready) last answered 200,
// checked every 100 ms, and retries a connection refused before any byte was sent on another
// API. What it records is what a client behind it would see.

export interface LoadResult {
  /** Requests that got an answer, by status. */
  statuses: Map<number, number>
  /** Answers per API name. */
  servedBy: Map<string, number>
  /** Connections refused and retried elsewhere. */
  retried: number
  /** Requests that failed after their connection was taken: resets, hang-ups, truncated bodies. */
  broken: string[]
  /** Requests no API could take (none ready or all refused). */
  unplaced: number
}

export interface LoadBalancer {
  /** APIs requests may go to (a new one joins once its probe answers 200). */
  add: (api: AppProcess) => void
  /** Stops sending; resolves with the results once every request in flight ended. */
  stop: () => Promise<LoadResult>
}

interface Backend { api: AppProcess, ready: boolean }

type Outcome = { status: number } | { refused: true } | { broken: string }

function send (agent: Agent, api: AppProcess, path: string, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(`${api.url}${path}`, { agent, headers, timeout: 30_000 }, (res) => {
      let bytes = 0
      res.on('data', (chunk: Buffer) => { bytes += chunk.length })
      res.on('end', () => {
        const expected = Number(res.headers['content-length'] ?? bytes)
        resolve(res.complete && bytes === expected ? { status: res.statusCode! } : { broken: `truncated answer from ${api.name}` })
      })
      res.on('error', (err) => resolve({ broken: `${api.name}: ${err.message}` }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? { refused: true } : { broken: `${api.name}: ${err.code ?? err.message}` }))
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.end()
  })
}

/** `concurrency` loops, each sending `next()`'s request as soon as the previous one ended. */
export function startLoad (apis: AppProcess[], next: (i: number) => { path: string, headers?: Record<string, string> }, concurrency = 8): LoadBalancer {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const backends: Backend[] = []
  const result: LoadResult = { statuses: new Map(), servedBy: new Map(), retried: 0, broken: [], unplaced: 0 }
  // An object, so the loops see stop() change it.
  const state = { running: true }
  let turn = 0
  let sent = 0

  const probe = async (backend: Backend) => {
    while (state.running) {
      const outcome = await send(agent, backend.api, '/health/ready', {})
      backend.ready = 'status' in outcome && outcome.status === 200
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const add = (api: AppProcess) => {
    const backend = { api, ready: false }
    backends.push(backend)
    probe(backend).catch(() => {})
  }
  for (const api of apis) add(api)

  const loop = async () => {
    while (state.running) {
      const { path, headers = {} } = next(sent++)
      const ready = backends.filter((b) => b.ready)
      let placed = false
      for (let attempt = 0; attempt < ready.length && !placed; attempt++) {
        const backend = ready[(turn++ + attempt) % ready.length]!
        const outcome = await send(agent, backend.api, path, headers)
        if ('refused' in outcome) {
          result.retried++
          continue
        }
        placed = true
        if ('broken' in outcome) result.broken.push(outcome.broken)
        else {
          result.statuses.set(outcome.status, (result.statuses.get(outcome.status) ?? 0) + 1)
          result.servedBy.set(backend.api.name, (result.servedBy.get(backend.api.name) ?? 0) + 1)
        }
      }
      if (!placed) {
        result.unplaced++
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
  // The probes mark the first APIs ready within a moment; the loops start sending at once.
  const loops = new Promise<void>((resolve) => setTimeout(resolve, 300)).then(() => Promise.all(Array.from({ length: concurrency }, loop)))

  return {
    add,
    stop: async () => {
      state.running = false
      await loops
      agent.destroy()
      return result
    }
  }
}
