// API entry: validated config, migrations (Kysely's migrator locks, so many instances may boot at
// once), listen, and a graceful shutdown on SIGINT/SIGTERM.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { type Config, loadConfigOrExit } from './config.js'
import { createDb } from './db/index.js'
import { migrateToLatest } from './db/migrate.js'

export { loadConfigOrExit }

export async function runServer(config: Readonly<Config>, opts: { onClose?: () => Promise<void> } = {}) {
  const migrationDb = createDb(config.databaseUrl, 1)
  try {
    await migrateToLatest(migrationDb)
  } finally {
    await migrationDb.destroy()
  }
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

if (import.meta.url === `file://${process.argv[1]}`) {
  await runServer(loadConfigOrExit(process.env))
}
