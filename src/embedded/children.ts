// The server processes this process starts (embedded PostgreSQL, redis-server). Whatever way this
// process exits (a graceful close, a forced exit on a timeout or a second signal, a crash, a kill -9),
// the ones still running are killed with it rather than left behind holding their data directories.
import { type ChildProcess, spawn, type SpawnOptions, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs'
import { settlesWithin } from '../shutdown.js'

/** Each running server and the signal that stops it cleanly (PostgreSQL SIGINT, Redis SIGTERM). */
const running = new Map<ChildProcess, NodeJS.Signals>()

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/** Resolves once the child has exited, including when it already had (its 'exit' event long gone). */
export function exitOf(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Why a server could not be started or signalled (its 'error' event), kept for the start's report. */
const childErrors = new WeakMap<ChildProcess, Error>()

export function track(child: ChildProcess, stopSignal: NodeJS.Signals = 'SIGTERM'): void {
  running.set(child, stopSignal)
  child.once('exit', () => running.delete(child))
  // A binary that cannot be executed (ENOENT, EACCES) is an 'error' event, and no 'exit' follows.
  // Unheard, it was an uncaught exception: this process died instead of saying which server did
  // not start and stopping the ones that had.
  child.on('error', (err) => {
    childErrors.set(child, err)
    if (!isRunning(child)) running.delete(child)
  })
}

/** Why a server never ran (its binary could not be executed), once its 'error' has come. */
export function spawnFailure(child: ChildProcess): Error | undefined {
  return child.pid === undefined ? childErrors.get(child) : undefined
}

/** How a server that is no longer running ended, for an error message: its exit, or why it never ran. */
export function howItEnded(child: ChildProcess): string {
  const err = spawnFailure(child)
  if (err) return `could not be started (${err.message})`
  return child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`
}

let pdeathsigLauncher: string | null | undefined
/**
 * util-linux's `setpriv` when it takes `--pdeathsig` (2.33 and later: Debian 10+, Ubuntu 20.04+,
 * RHEL 9; the `setpriv` of Ubuntu 18.04 or RHEL 8 refuses the option), else null. Asked once.
 */
function launcher(): string | null {
  if (pdeathsigLauncher === undefined) {
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path))
    pdeathsigLauncher = setpriv && spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0 ? setpriv : null
  }
  return pdeathsigLauncher
}

/**
 * Spawns a server and tracks it. Where util-linux's `setpriv` can set a parent-death signal, the
 * server runs in a session and process group of its own, under that signal:
 * - a terminal's Ctrl-C (a SIGINT to the foreground group) reaches only this process, which closes
 *   first (the API's last usage flush, the worker's jobs) and then stops the servers. In the same
 *   group, PostgreSQL's fast shutdown ended our connections while the close was still writing:
 *   the last flush's usage was lost and the worker's running job failed;
 * - however this process ends, a kill -9 of it or of its group included, the kernel kills the
 *   servers with it (PR_SET_PDEATHSIG), as the group's kill did. The signal survives the exec of the
 *   server because the user switch (`uid`) happens before `setpriv` sets it.
 * Without it they stay in this process's group, and a Ctrl-C reaches them as it reaches us.
 */
export function spawnServer(command: string, args: readonly string[], options: SpawnOptions, stopSignal: NodeJS.Signals): ChildProcess {
  const setpriv = launcher()
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', command, ...args], { ...options, detached: true })
    : spawn(command, args, options)
  track(child, stopSignal)
  return child
}

/** Whether spawnServer gives servers a group of their own (see there). */
export const serversHaveOwnGroup = (): boolean => launcher() !== null

/**
 * Stops every running server with its own stop signal, each within `graceMs`. For a signal that
 * comes while the servers are still being started, before the shutdown proper is in place: without
 * it the process would die of the signal and the kernel would SIGKILL the servers (see spawnServer).
 */
export async function stopRunningChildren(graceMs: number): Promise<void> {
  await Promise.all([...running].map(([child, signal]) => stopChild(child, signal, graceMs)))
}

/** Synchronous on purpose: it also runs from process.exit(), where nothing asynchronous would. */
export function killRunningChildren(): void {
  for (const child of running.keys()) if (isRunning(child)) child.kill('SIGKILL')
}
process.on('exit', killRunningChildren)

/**
 * Asks the child to stop with `signal`, waits at most `graceMs`, then kills it. Never waits on a
 * child that is already gone (killed by someone else, or by the Ctrl-C that reached its group when it
 * shares ours) — waiting for an 'exit' event that was already emitted is how a stop hangs forever.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const exited = exitOf(child)
  if (!isRunning(child)) return
  child.kill(signal)
  if (await settlesWithin(exited, graceMs)) return
  child.kill('SIGKILL')
  await settlesWithin(exited, 2000)
}

/**
 * A server of ours left running by an earlier run whose node process was killed on its own: its pid
 * file names it, and it works in our data directory (both servers chdir there). Stop it, or the new
 * server would share the data directory with it. Linux only (/proc); elsewhere the server's own
 * lock (PostgreSQL's postmaster.pid) is the guard.
 */
export async function stopLeftover(pid: number, dir: string, log: (msg: string) => void): Promise<void> {
  if (procOf(pid, 'cwd') !== realpathSync(dir)) return
  // Still the child of a node process: another run on the same data is alive, and its server is not ours to stop.
  const parent = Number(/\)\s+\S+\s+(\d+)/.exec(procOf(pid, 'stat') ?? '')?.[1] ?? 1)
  if (parent > 1 && /node/.test(procOf(parent, 'cmdline')?.split('\0')[0] ?? '')) {
    throw new Error(`another process (pid ${parent}) runs a server on ${dir}; stop it first`)
  }
  log(`stopping a server left running on ${dir} by an earlier run (pid ${pid})`)
  const alive = () => procOf(pid, 'cwd') !== undefined
  process.kill(pid, 'SIGINT')
  await waitWhile(alive, 10_000)
  if (alive()) process.kill(pid, 'SIGKILL')
  await waitWhile(alive, 5_000)
}

/** Until `pid` is no zombie (killed, but its exit not yet collected by its parent), at most `ms`. */
export async function waitUntilReaped(pid: number, ms: number): Promise<void> {
  await waitWhile(() => /\)\s+Z/.test(procOf(pid, 'stat') ?? ''), ms) // no stat: gone
}

/** A file of /proc/<pid>/ (`cwd`: where the link points), or undefined once the process is gone. */
function procOf(pid: number, what: string): string | undefined {
  try {
    return what === 'cwd' ? readlinkSync(`/proc/${pid}/cwd`) : readFileSync(`/proc/${pid}/${what}`, 'utf8')
  } catch {
    return undefined
  }
}

/** Checks every 100 ms while `busy()` holds, at most `ms`. */
async function waitWhile(busy: () => boolean, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; busy() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100))
}

/** Processes whose working directory is `dir` (PostgreSQL's postmaster and backends chdir into their data). Linux only. */
function processesIn(dir: string): number[] {
  let entries: string[]
  let real: string
  try {
    entries = readdirSync('/proc')
    real = realpathSync(dir)
  } catch {
    return []
  }
  return entries.map(Number).filter((pid) => {
    // No cwd: gone meanwhile, or a zombie.
    return Number.isInteger(pid) && pid !== process.pid && procOf(pid, 'cwd') === real
  })
}

/**
 * After a kill -9 of the postmaster its backends (session leaders of their own, outside our process
 * group) leave once they notice, and until then hold its shared memory: a new server refuses to
 * start. Waits for them, at most `ms`.
 */
export async function waitUntilNoProcessIn(dir: string, ms: number): Promise<void> {
  await waitWhile(() => processesIn(dir).length > 0, ms)
}
