// API entry: validated config, migrations (Kysely's migrator locks, so many instances may boot at
// once), listen, and a graceful shutdown on SIGINT/SIGTERM. With WEB_CONCURRENCY > 1 this process
// becomes a node:cluster primary that migrates once and runs that many API processes on the port.
import cluster from 'node:cluster'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { type Config, loadConfigOrExit } from './config.js'
import { createDb } from './db/index.js'
import { migrateToLatest } from './db/migrate.js'
import { disablePretenuring } from './gc-tuning.js'

export { loadConfigOrExit }

async function migrate(config: Readonly<Config>) {
  const migrationDb = createDb(config.databaseUrl, 1)
  try {
    await migrateToLatest(migrationDb)
  } finally {
    await migrationDb.destroy()
  }
}

export async function runServer(config: Readonly<Config>, opts: { onClose?: () => Promise<void>; skipMigrations?: boolean } = {}) {
  disablePretenuring()
  if (!opts.skipMigrations) await migrate(config)
  const app = await buildApp(config)
  await app.listen({ port: config.port, host: config.host })
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await opts.onClose?.()
  })
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
  closeWithGrace({ delay: 15_000 }, async () => {
    stopping = true
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined)
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      w.once('exit', () => resolve())
      w.process.kill('SIGTERM')
    })))
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfigOrExit(process.env)
  if (cluster.isPrimary && config.webConcurrency > 1) await runPrimary(config)
  else await runServer(config, { skipMigrations: !cluster.isPrimary })
}
