// A redis-server of the test's own, so a test can stall (SIGSTOP) or kill it without touching the
// Redis every other test file shares. Always resumed and killed when the test ends.
import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { Redis } from 'ioredis'
import { freePort } from '../../src/embedded/ports.js'

interface Tap {
  teardown: (fn: () => unknown) => void
}

export interface DedicatedRedis {
  url: string
  /** SIGSTOP: the socket stays open, nothing answers (the worst case for a client). */
  stall: () => void
  resume: () => void
  /** SIGKILL: connections are refused from now on. */
  kill: () => Promise<void>
}

function redisServerBinary(): string {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']) if (existsSync(p)) return p
  return execSync('command -v redis-server', { encoding: 'utf8', shell: '/bin/sh' }).trim()
}

export async function startDedicatedRedis(t: Tap): Promise<DedicatedRedis> {
  const port = await freePort()
  const child: ChildProcess = spawn(redisServerBinary(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const signal = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig)
  }
  t.teardown(async () => {
    signal('SIGCONT')
    signal('SIGKILL')
    await exited
  })
  const url = `redis://127.0.0.1:${port}`
  for (let tries = 0; ; tries++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => undefined) // refused while the server starts: retried below
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      break
    } catch (err) {
      probe.disconnect()
      if (tries > 100) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return {
    url,
    stall: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    kill: async () => {
      signal('SIGCONT')
      signal('SIGKILL')
      await exited
    },
  }
}
