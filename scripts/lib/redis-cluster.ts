import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { installDebianPackages } from './debian-packages.ts'
import { freePort } from './local-services.ts'

// A real Redis Cluster from Debian's redis-server (N masters, no replicas), for the cluster tests
// and the topology: each node on a free port with its own directory, joined with
// `redis-cli --cluster create`; stop() kills them, and so does a watchdog if the caller dies.

const run = promisify(execFile)

export interface RedisClusterOptions {
  /** Number of masters (at least 3: redis-cli refuses fewer). */
  masters?: number
  /** Where each node keeps nodes.conf (a temp dir, removed on stop, when omitted). */
  dataDir?: string
  /** Client port of the first node; the others follow (free ports when omitted). */
  basePort?: number
  host?: string
}

export interface RedisCluster {
  /** `host:port` of every master: REDIS_CLUSTER_NODES is `nodes.join(',')`. */
  nodes: string[]
  stop: () => Promise<void>
}

async function which (binary: string): Promise<string | null> {
  return run('sh', ['-c', `command -v ${binary}`]).then(({ stdout }) => stdout.trim() || null, () => null)
}

async function redisBinaries (log: (msg: string) => void): Promise<{ server: string, cli: string }> {
  let [server, cli] = await Promise.all([which('redis-server'), which('redis-cli')])
  if (!server || !cli) {
    await installDebianPackages(['redis-server', 'redis-tools'], 'redis-server or redis-cli not found: install redis-server and redis-tools', log)
    ;[server, cli] = await Promise.all([which('redis-server'), which('redis-cli')])
  }
  if (!server || !cli) throw new Error('redis-server/redis-cli were installed but not found on PATH')
  return { server, cli }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function cli (bin: string, host: string, port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(bin, ['-h', host, '-p', String(port), ...args], { maxBuffer: 4 * 1024 * 1024 })
  return stdout
}

async function waitFor (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`)
    await sleep(100)
  }
}

export async function startRedisCluster (options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  if (masters < 3) throw new Error('a Redis Cluster needs at least 3 masters')
  const host = options.host ?? '127.0.0.1'
  const bins = await redisBinaries((msg) => console.error(msg))
  const ownDir = options.dataDir === undefined
  const root = options.dataDir ?? await mkdtemp(join(tmpdir(), 'bazaar-redis-cluster-'))
  const children: ChildProcess[] = []
  const ports: number[] = []
  // The cluster bus normally sits at port + 10000, which may be taken or above 65535; Redis 7
  // lets us pick it (cluster-port).
  for (let i = 0; i < masters; i++) {
    const port = options.basePort !== undefined ? options.basePort + i : await freePort()
    const busPort = options.basePort !== undefined ? port + 10000 : await freePort()
    const dir = join(root, `node-${port}`)
    await mkdir(dir, { recursive: true })
    children.push(spawn(bins.server, [
      '--port', String(port), '--bind', host, '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
      '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000',
      '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--logfile', join(dir, 'redis.log')
    ], { stdio: 'ignore' }))
    ports.push(port)
  }
  const pids = children.map((child) => child.pid).filter(Boolean).join(' ')
  // Kills the nodes when this process dies without stop() (SIGKILL, crash): nothing else would.
  const watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${pids} 2>/dev/null${ownDir ? `; sleep 1; rm -rf '${root}'` : ''}`], { stdio: 'ignore', detached: true })
  watchdog.unref()
  const onExit = () => { for (const child of children) child.kill('SIGKILL') }
  process.once('exit', onExit)

  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    process.off('exit', onExit)
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }))
    try { process.kill(watchdog.pid!, 'SIGKILL') } catch {}
    if (ownDir) await rm(root, { recursive: true, force: true })
  }

  try {
    for (const port of ports) await waitFor(`node ${port} to start`, async () => (await cli(bins.cli, host, port, 'ping')).trim() === 'PONG', 15000)
    const nodes = ports.map((port) => `${host}:${port}`)
    await run(bins.cli, ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { maxBuffer: 4 * 1024 * 1024 })
    // Every node must agree the cluster is ok before a client may rely on its slot map.
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, async () => {
        const info = await cli(bins.cli, host, port, 'cluster', 'info')
        return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes(`cluster_known_nodes:${masters}`)
      }, 30000)
    }
    return { nodes, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
