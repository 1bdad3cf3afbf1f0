import { Migrator } from 'kysely'
import { migrations } from '../../migrations/index.js'
import { createDb, type Db } from './index.js'

export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error instanceof Error ? error : new Error(String(error))
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/**
 * Migrates through its own one-connection pool on `directUrl` and closes it: the API's and the
 * worker's boot and `npm run migrate`. Directly, not through a transaction-mode pooler: the
 * migrator's advisory lock is a session's.
 */
export async function migrateDirectly(directUrl: string): Promise<string[]> {
  const db = createDb(directUrl, 1)
  try {
    return await migrateToLatest(db)
  } finally {
    await db.destroy()
  }
}
