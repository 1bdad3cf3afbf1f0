// Used by scripts/test.mjs: starts the services the suite needs and migrates a template database
// that each test file clones (CREATE DATABASE ... TEMPLATE takes ~50 ms, migrations don't re-run).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDb } from '../db/index.js'
import { migrateToLatest } from '../db/migrate.js'
import { ensureDatabase, startServices } from '../embedded/services.js'
import { ensureDockerComposeInstalled } from '../embedded/docker-compose.js'
import { ensurePgBouncerInstalled } from '../embedded/pgbouncer.js'
import { taskClient } from '../db/task-client.js'

export const TEMPLATE_DB = 'fgpat_test_template'

export async function setUpTestServices(env: NodeJS.ProcessEnv) {
  const dataDir = mkdtempSync(join(tmpdir(), 'fgpat-test-'))
  // Our own folder (mkdtemp makes it 0700): as root, the `postgres` user that runs the server must
  // enter it. When a folder above it is private too, the server's files go elsewhere (pg-data-dir).
  chmodSync(dataDir, 0o711)
  const services = await startServices({
    dataDir,
    persistent: false,
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    password: 'fgpat-test',
    log: (msg) => console.error(`[test-setup] ${msg}`),
  })
  // The PgBouncer test starts its own pgbouncer, and the compose test runs `docker-compose config`:
  // install them now, like redis-server (a failure here is reported by those tests, not fatal).
  for (const ensure of [ensurePgBouncerInstalled, ensureDockerComposeInstalled]) {
    try {
      ensure((msg) => console.error(`[test-setup] ${msg}`))
    } catch (err) {
      console.error(`[test-setup] ${(err as Error).message}`)
    }
  }
  const adminUrl = services.databaseUrl('postgres')
  // A fresh template every run, so a changed migration is always what the tests see.
  const admin = taskClient(adminUrl)
  await admin.connect()
  await admin.query(`drop database if exists ${TEMPLATE_DB} with (force)`)
  await admin.end()
  await ensureDatabase(adminUrl, TEMPLATE_DB)
  const db = createDb(services.databaseUrl(TEMPLATE_DB), 1)
  await migrateToLatest(db)
  await db.destroy()
  return {
    env: {
      FGPAT_TEST_PG_ADMIN_URL: adminUrl,
      FGPAT_TEST_TEMPLATE: TEMPLATE_DB,
      FGPAT_TEST_REDIS_URL: services.redisUrl,
    },
    stop: async () => {
      await services.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
