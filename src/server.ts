// API entry: validated config, migrations (Kysely's migrator locks, so many instances may boot at
// once), listen, and a graceful shutdown on SIGINT/SIGTERM within SHUTDOWN_TIMEOUT. With WEB_CONCURRENCY > 1 this process
// becomes a node:cluster primary that migrates once and runs that many API processes on the port.
import cluster, { type Worker } from 'node:cluster'
import { buildApp } from './app.js'
import { type Config, loadConfigOrExit } from './config.js'
import { migrateDirectly } from './db/migrate.js'
import { disablePretenuring } from './gc-tuning.js'
import { stdoutLog } from './log-destination.js'
import { closeWithin } from './shutdown.js'

export { loadConfigOrExit }

const migrate = (config: Readonly<Config>) => migrateDirectly(config.databaseDirectUrl)

/**
 * Builds and serves the API. It closes on SIGINT/SIGTERM within SHUTDOWN_TIMEOUT, unless the caller
 * owns the shutdown (`handleSignals: false`: npm start closes the worker and servers alongside).
 */
export async function runServer(config: Readonly<Config>, opts: { skipMigrations?: boolean; handleSignals?: boolean } = {}) {
  disablePretenuring()
  if (!opts.skipMigrations) await migrate(config)
  const app = await buildApp(config, { logStream: stdoutLog() })
  await app.listen({ port: config.port, host: config.host })
  if (opts.handleSignals ?? true) closeWithin(config.shutdownTimeoutMs, (msg) => app.log.warn(msg), () => app.close())
  return app
}

/**
 * The cluster primary: each API process has its own L1 cache and invalidation subscriber, exactly
 * like separate instances behind a load balancer (so between them, the cross-instance guarantee
 * applies: a change reaches the others within the pub/sub delay). A process that dies is replaced.
 */
async function runPrimary(config: Readonly<Config>) {
  await migrate(config)
  let stopping = false
  const fork = () => cluster.fork()
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    console.error(`[fgpat] API process ${worker.process.pid} exited (${signal ?? code}); starting another`)
    setTimeout(fork, 1000)
  })
  for (let i = 0; i < config.webConcurrency; i++) fork()
  const running = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead())
  // However the primary exits (a forced exit included), its API processes go with it.
  process.on('exit', () => {
    for (const w of running()) w.process.kill('SIGKILL')
  })
  closeWithin(config.shutdownTimeoutMs, (msg) => console.error(`[fgpat] ${msg}`), async ({ signal }) => {
    stopping = true
    // Each closes itself within the same bound. They are sent the signal this process got: a
    // terminal's Ctrl-C reaches them directly too, and the same signal again at once is the same
    // Ctrl-C to them (shutdown.ts), where a SIGTERM after it was a second signal that forced their
    // exit, before the last usage flush.
    const forwarded = (signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM') satisfies NodeJS.Signals
    await Promise.all(running().map((w) => new Promise<void>((resolve) => {
      w.once('exit', (code, killedBy) => {
        // Said here: a process that forced its exit may not have flushed its own log.
        if (code !== 0) console.error(`[fgpat] API process ${w.process.pid} exited (${killedBy ?? code}) while stopping`)
        resolve()
      })
      if (w.isDead()) resolve()
      else w.process.kill(forwarded)
    })))
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfigOrExit(process.env)
  if (cluster.isPrimary && config.webConcurrency > 1) await runPrimary(config)
  else await runServer(config, { skipMigrations: !cluster.isPrimary })
}
