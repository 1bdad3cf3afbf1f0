// `npm run openapi`: writes openapi/openapi.json from the route schemas. The document is built from a
// fixed configuration, so it depends only on the code: the same source always gives the same bytes,
// and test/integration/openapi.test.ts fails when the committed file has drifted from the routes.
// Nothing is reached: the PostgreSQL pool opens connections on first query only, the Redis client
// given is lazy, and the cache's listeners (started by ready()) try the placeholder port 1 until the
// close right after, silently (LOG_LEVEL silent).
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import { repoRoot } from '../repo-root.js'

/** The `servers` URL in the committed document: the default local address, not the deployment's. */
export const OPENAPI_SERVER_URL = 'http://localhost:3000'

// Dummy values: generation never reaches a database, a Redis or a key source.
const GENERATION_ENV = {
  NODE_ENV: 'development',
  DATABASE_URL: 'postgres://openapi:openapi@127.0.0.1:1/openapi',
  REDIS_URL: 'redis://127.0.0.1:1',
  TOKEN_PEPPERS: 'openapi-generation-pepper-not-a-secret-0000',
  AUTH_JWT_SECRET: 'openapi-generation-jwt-secret-not-a-secret-00',
  PUBLIC_URL: OPENAPI_SERVER_URL,
  LOG_LEVEL: 'silent',
  SEED_DEMO: 'false',
}

/** The OpenAPI document as committed: pretty-printed JSON with a trailing newline. */
export async function generateOpenApi(): Promise<string> {
  const config = loadConfig(GENERATION_ENV)
  const redis = new Redis(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
  const app = await buildApp(config, { redis })
  try {
    await app.ready()
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
    redis.disconnect()
  }
}

export { repoRoot }

export const OPENAPI_FILE = 'openapi/openapi.json'

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const target = join(repoRoot(), OPENAPI_FILE)
  mkdirSync(dirname(target), { recursive: true })
  writeFileSync(target, await generateOpenApi())
  console.error(`[fgpat] wrote ${OPENAPI_FILE}`)
}
