import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

// CPU use of processes while a benchmark runs, read from /proc (Linux): what each process, or
// each server with its children (a Postgres postmaster and its backends), used between two
// snapshots, as a share of one core, beside the whole machine's. Where a load saturates is the
// process that reaches 100 % of a core first, or the machine when its cores are all busy.

/** Kernel clock ticks per second (the unit of /proc's CPU times). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

interface ProcEntry {
  ppid: number
  comm: string
  /** user + system ticks of the process itself (all its threads). */
  own: number
  /** user + system ticks of its children it has waited for: a backend that exited is counted here. */
  reaped: number
}

function readEntry (pid: number): ProcEntry | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const close = stat.lastIndexOf(')')
    const fields = stat.slice(close + 2).split(' ')
    return {
      ppid: Number(fields[1]),
      comm: stat.slice(stat.indexOf('(') + 1, close),
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14])
    }
  } catch {
    return null // gone, or no /proc
  }
}

function processTable (): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const entry = readEntry(Number(name))
    if (entry) table.set(Number(name), entry)
  }
  return table
}

/** CPU time (user + system, µs) a process has used so far; null where /proc is missing. */
export function cpuTimeUs (pid: number | undefined): number | null {
  const entry = pid === undefined ? null : readEntry(pid)
  return entry ? entry.own * (1e6 / CLOCK_TICKS) : null
}

/** Pids whose command line (arguments as given) or parent and name match. */
export function findProcesses (match: (p: { pid: number, ppid: number, comm: string, args: string[] }) => boolean): number[] {
  const found: number[] = []
  for (const [pid, entry] of processTable()) {
    let args: string[] = []
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    } catch {}
    if (match({ pid, ppid: entry.ppid, comm: entry.comm, args })) found.push(pid)
  }
  return found
}

/** The postmaster listening on `port` (its arguments carry `-p <port>`). */
export function postmasterOnPort (port: number): number | undefined {
  return findProcesses(({ args }) => /postgres$/.test(args[0] ?? '') && args.some((a, i) => a === '-p' && args[i + 1] === String(port)))[0]
}

/** A class of processes to account for: each pid alone, or with every descendant (`tree`). */
export interface CpuGroup { name: string, pids: number[], tree?: boolean }

export interface CpuSnapshot {
  atMs: number
  /** Machine-wide ticks: busy (user, nice, system, irq, softirq), stolen by the hypervisor, and in all. */
  machine: { busy: number, steal: number, total: number }
  /** Ticks per group, per pid (in the group's order). */
  groups: number[][]
}

function machineTicks (): CpuSnapshot['machine'] {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const busy = user! + nice! + system! + irq! + softirq!
  return { busy, steal: steal ?? 0, total: busy + idle! + iowait! + (steal ?? 0) }
}

function treeTicks (root: number, table: Map<number, ProcEntry>, children: Map<number, number[]>): number {
  const entry = table.get(root)
  if (!entry) return 0
  let ticks = entry.own + entry.reaped
  for (const child of children.get(root) ?? []) ticks += treeTicks(child, table, children)
  return ticks
}

export function cpuSnapshot (groups: readonly CpuGroup[]): CpuSnapshot {
  const table = processTable()
  const children = new Map<number, number[]>()
  for (const [pid, entry] of table) children.set(entry.ppid, [...(children.get(entry.ppid) ?? []), pid])
  return {
    atMs: performance.now(),
    machine: machineTicks(),
    groups: groups.map((g) => g.pids.map((pid) => g.tree ? treeTicks(pid, table, children) : (table.get(pid)?.own ?? 0)))
  }
}

export interface CpuUse {
  /** Per group: each process's share of one core (100 = one core busy all along), and their sum. */
  groups: Array<{ name: string, perProcess: number[], total: number }>
  /** The machine's busy time in cores × 100 (200 = both cores of a 2-core machine), and what the hypervisor took. */
  machine: number
  steal: number
}

/** CPU use between two snapshots, as percentages of one core. */
export function cpuBetween (groups: readonly CpuGroup[], before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const seconds = (after.atMs - before.atMs) / 1000
  const percent = (ticks: number) => Math.max(0, Math.round(ticks / CLOCK_TICKS / seconds * 1000) / 10)
  return {
    groups: groups.map((g, i) => {
      const perProcess = g.pids.map((_, j) => percent(after.groups[i]![j]! - before.groups[i]![j]!))
      return { name: g.name, perProcess, total: Math.round(perProcess.reduce((a, b) => a + b, 0) * 10) / 10 }
    }),
    machine: percent(after.machine.busy - before.machine.busy),
    steal: percent(after.machine.steal - before.machine.steal)
  }
}
