// Real processes for the tests that start an entry point (npm start's start.js, the API, the
// worker), stall or kill what it depends on, and watch how it ends. Everything started here is
// killed in teardown, stopped processes are continued first.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../../src/repo-root.js'

interface Tap {
  teardown: (fn: () => unknown) => void
}

export const entry = (path: string) => join(repoRoot(), 'dist', 'src', path)

/**
 * The command that runs `node args` as production would, without tap's coverage hooks: tap adds
 * @tapjs/processinfo to NODE_OPTIONS of every process a test spawns, even one given an environment
 * of its own. In each Node process it costs ~1.6 s of CPU at start (its module hooks run on a thread
 * of their own and see every module loaded) and writes a record at exit. `env -u` drops it and then
 * execs node, so the pid (and the process group) is node's.
 */
export function plainNode(args: string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...args]]
}

/**
 * A data folder of the test's own, removed in teardown. Mode 0711: as root, embedded PostgreSQL runs
 * as the postgres user, which must enter it (npm start would otherwise place its data elsewhere).
 */
export function dataFolder(t: Tap, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fgpat-${name}-`))
  chmodSync(dir, 0o711)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface RunningEntry {
  child: ChildProcess
  pid: number
  /** stdout and stderr so far. */
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

/**
 * Runs a compiled entry point in its own process group (as a shell runs a command: a Ctrl-C is
 * a SIGINT to that whole group), with only the environment given (plus PATH and HOME).
 */
export function runEntry(t: Tap, path: string, env: Record<string, string>, opts: { readStdout?: boolean } = {}): RunningEntry {
  const child = spawn(...plainNode([entry(path)]), {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  // Not reading it leaves stdout a pipe that fills up and stays full, as with a reader that stopped.
  if (opts.readStdout ?? true) child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  )
  const pid = child.pid ?? 0
  t.teardown(() => killGroup(pid))
  return { child, pid, output: () => output, exited }
}

/** Is the process there and not a zombie (a killed child whose parent is gone may linger as one)? */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return /\)\s+(\S)/.exec(stat)?.[1] !== 'Z'
  } catch {
    return false
  }
}

/** SIGCONT then SIGKILL to a whole process group, ignoring one that is gone. */
export function killGroup(pgid: number): void {
  for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
    try {
      process.kill(-pgid, signal)
    } catch {
      // already gone
    }
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

/** Direct children of `pid` with their command names (postgres, redis-server, node…). */
export function childrenOf(pid: number): { pid: number; comm: string }[] {
  let out = ''
  try {
    out = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
  } catch {
    return [] // pgrep exits 1 when there are none
  }
  // A child may exit between pgrep and the read: it is no longer a child, so it is left out.
  return out.split('\n').filter(Boolean).map(Number).flatMap((p) => {
    try {
      return [{ pid: p, comm: readFileSync(`/proc/${p}/comm`, 'utf8').trim() }]
    } catch {
      return []
    }
  })
}

export async function waitUntil(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number, details = () => '', everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${details().slice(-3000)}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export const answers = (url: string) => fetch(url).then((r) => r.ok, () => false)

/** Start-up of the exit path, the final log flush, a loaded machine. */
const EXIT_SLACK_MS = 2500

/** Sends `send` (a signal) and asserts `app` exits within `boundMs` plus slack; its outcome, or undefined if it never did. */
export async function exitsWithin(t: { ok: (v: boolean, m: string) => void; fail: (m: string) => void }, app: RunningEntry, send: () => void, label: string, boundMs: number) {
  const sent = Date.now()
  send()
  const outcome = await Promise.race([app.exited, new Promise<undefined>((r) => setTimeout(r, boundMs + EXIT_SLACK_MS + 5000))])
  if (!outcome) {
    t.fail(`${label}: still running ${boundMs + EXIT_SLACK_MS + 5000} ms after the signal\n${app.output().slice(-2000)}`)
    return undefined
  }
  t.ok(outcome.at - sent <= boundMs + EXIT_SLACK_MS, `${label}: exited ${outcome.at - sent} ms after the signal (bound ${boundMs} ms)`)
  return outcome
}
