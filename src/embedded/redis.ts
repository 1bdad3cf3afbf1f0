// Starts a local redis-server when no REDIS_URL is configured. Installs Debian's package when it is
// missing and we are root; otherwise stops with the command to run.
import { execSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Redis } from 'ioredis'
import { howItEnded, isRunning, spawnServer, stopChild, stopLeftover } from './children.js'

function findRedisServer(): string | undefined {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']) {
    if (existsSync(p)) return p
  }
  try {
    return execSync('command -v redis-server', { encoding: 'utf8', shell: '/bin/sh' }).trim() || undefined
  } catch {
    return undefined
  }
}

export function ensureRedisServerInstalled(log: (msg: string) => void): string {
  const found = findRedisServer()
  if (found) return found
  if (process.getuid?.() !== 0) {
    throw new Error(
      'redis-server is not installed. Install it with `sudo apt-get install -y redis-server` ' +
        '(or set REDIS_URL to an existing Redis) and run the command again.',
    )
  }
  log('redis-server not found; installing it from the OS packages (apt-get install redis-server)')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execSync('apt-get update -qq && apt-get install -y -qq redis-server >/dev/null', { stdio: 'inherit', env, shell: '/bin/sh' })
  const installed = findRedisServer()
  if (!installed) throw new Error('apt-get reported success but redis-server is still missing')
  return installed
}

export interface EmbeddedRedisHandle {
  url: string
  pid: number
  /** SIGTERM (Redis then writes what its append-only file still lacks), killed after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
}

export async function startEmbeddedRedis(opts: {
  dir: string
  port: number
  /**
   * An append-only file, fsynced every second: the mail queue's jobs survive a crash or a restart
   * (at most the last second is lost, and the outbox reconciler re-sends that from PostgreSQL).
   * Tests that throw their data away run without it (the default).
   */
  persistent?: boolean
  log: (msg: string) => void
}): Promise<EmbeddedRedisHandle> {
  const binary = ensureRedisServerInstalled(opts.log)
  const dir = resolve(opts.dir)
  mkdirSync(dir, { recursive: true })
  const pidFile = join(dir, 'redis-server.pid')
  if (existsSync(pidFile)) await stopLeftover(Number(readFileSync(pidFile, 'utf8').trim()), dir, opts.log)
  const persistence = opts.persistent ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']
  const child = spawnServer(
    binary,
    ['--port', String(opts.port), '--bind', '127.0.0.1', '--dir', dir, '--pidfile', pidFile, '--save', '', ...persistence, '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
    'SIGTERM', // Redis writes what its append-only file still lacks, then exits
  )
  const url = `redis://127.0.0.1:${opts.port}`
  // Loading a large append-only file after a restart takes a while before the first answer.
  const deadline = Date.now() + 60_000
  for (;;) {
    if (!isRunning(child)) throw new Error(`redis-server ${howItEnded(child)}`)
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => undefined) // refused while the server boots: expected, retried below
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      break
    } catch {
      probe.disconnect()
      if (Date.now() > deadline) {
        await stopChild(child, 'SIGKILL', 1000)
        throw new Error('redis-server did not answer within 60 s')
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url,
    pid: child.pid ?? 0,
    stop: (graceMs = 10_000) => stopChild(child, 'SIGTERM', graceMs),
  }
}
