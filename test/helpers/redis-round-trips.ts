import type { RedisClient } from '../../src/platform/redis.ts'

// Redis round trips of the app's own client, for budget tests. Every command goes through
// `sendCommand`; the commands of one pipeline (a MULTI, or ioredis's auto-pipelining) share the
// pipeline's stream and go out in one write, so they count once.

export interface RoundTrips {
  /** Round trips since the last reset. */
  readonly count: number
  /** The commands sent since the last reset, grouped by round trip. */
  readonly trips: string[][]
  reset: () => void
}

export function countRoundTrips (redis: RedisClient): RoundTrips {
  let trips: string[][] = []
  const pipelines = new Map<object, string[]>()
  const send = redis.sendCommand.bind(redis)
  redis.sendCommand = ((command: { name: string }, stream?: { isPipeline?: boolean }, ...rest: unknown[]) => {
    if (stream?.isPipeline) {
      let trip = pipelines.get(stream)
      if (!trip) {
        trip = []
        pipelines.set(stream, trip)
        trips.push(trip)
      }
      trip.push(command.name)
    } else {
      trips.push([command.name])
    }
    return (send as (...args: unknown[]) => unknown)(command, stream, ...rest)
  }) as typeof redis.sendCommand
  return {
    get count () { return trips.length },
    get trips () { return trips },
    reset () {
      trips = []
      pipelines.clear()
    }
  }
}
