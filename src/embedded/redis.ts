// Starts a local redis-server when no REDIS_URL is configured. Installs Debian's package when it is
// missing and we are root; otherwise stops with the command to run.
import { execSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { Redis } from 'ioredis'

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
  stop: () => Promise<void>
}

export async function startEmbeddedRedis(opts: {
  dir: string
  port: number
  log: (msg: string) => void
}): Promise<EmbeddedRedisHandle> {
  const binary = ensureRedisServerInstalled(opts.log)
  mkdirSync(resolve(opts.dir), { recursive: true })
  const child = spawn(
    binary,
    ['--port', String(opts.port), '--bind', '127.0.0.1', '--dir', resolve(opts.dir), '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const exited = new Promise<void>((res) => child.once('exit', () => res()))
  const url = `redis://127.0.0.1:${opts.port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`)
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => undefined) // refused while the server boots: expected, retried below
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      break
    } catch {
      probe.disconnect()
      if (Date.now() > deadline) throw new Error('redis-server did not answer within 15 s')
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}
