// `npm run migrate`: applies the pending migrations and exits, for deployments that migrate as a
// step of their own before the new version starts. The API and the worker also migrate at boot
// (Kysely's migrator locks, so any number of them may), so nothing requires this step.
// Directly (DATABASE_DIRECT_URL, else DATABASE_URL), not through a transaction-mode pooler: the
// migrator's advisory lock is a session's.
import { loadConfigOrExit } from '../config.js'
import { migrateDirectly } from '../db/migrate.js'

const config = loadConfigOrExit(process.env)
try {
  const applied = await migrateDirectly(config.databaseDirectUrl)
  console.log(applied.length === 0 ? 'migrations: already up to date' : `migrations applied: ${applied.join(', ')}`)
} catch (err) {
  console.error(`migrations failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
}
