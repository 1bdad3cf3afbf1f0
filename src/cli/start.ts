// `npm start`: the embedded default. Starts PostgreSQL and Redis when no URLs are configured,
// generates development secrets once (kept under DATA_DIR), migrates, loads the demo directory and
// runs the API, then prints what a newcomer needs to try it.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { signDevJwt } from '../auth/dev-jwt.js'
import { createDb } from '../db/index.js'
import { stopRunningChildren } from '../embedded/children.js'
import { ensureDatabase, startServices } from '../embedded/services.js'
import { createDirectoryService } from '../modules/directory/service.js'
import { loadConfigOrExit, runServer } from '../server.js'
import { stdoutLog } from '../log-destination.js'
import { closeWithin, settlesWithin } from '../shutdown.js'
import { startWorker, type WorkerHandle } from '../worker.js'
import { DEMO_ADMIN_ID, DEMO_USER_ID, demoDirectory } from './demo-directory.js'

const t0 = Date.now()
const log = (msg: string) => console.error(`[fgpat] ${msg}`)
const env: Record<string, string | undefined> = { ...process.env }
const dataDir = resolve(env.DATA_DIR ?? '.data')
mkdirSync(dataDir, { recursive: true })

interface DevSecrets {
  pepper: string
  jwtSecret: string
  pgPassword: string
}
function devSecrets(): DevSecrets {
  const file = join(dataDir, 'dev-secrets.json')
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets
  const secrets = {
    pepper: randomBytes(32).toString('base64url'),
    jwtSecret: randomBytes(32).toString('base64url'),
    pgPassword: randomBytes(16).toString('hex'),
  }
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 })
  return secrets
}

// Until the shutdown below is in place (the servers starting, their database made), a Ctrl-C stops
// the servers started so far, each with its clean stop, and exits 130: dying of the signal would
// leave them to the parent-death SIGKILL (embedded/children.ts). The step under way then fails or
// finishes; either way its outcome is not reported, and a server it started meanwhile (Redis, once
// PostgreSQL is up) is stopped the same way. A second signal exits at once.
let preparing: Promise<unknown> = Promise.resolve()
let stoppingEarly: Promise<never> | undefined
const stopEarly = (signal: NodeJS.Signals) => {
  log(`stopping (${signal}) while the servers start; a second signal exits at once`)
  stoppingEarly ??= (async () => {
    await stopRunningChildren(5000)
    await settlesWithin(preparing, 5000)
    await stopRunningChildren(5000)
    process.exit(130)
  })()
}
process.once('SIGINT', stopEarly)
process.once('SIGTERM', stopEarly)

/** The servers (embedded unless configured), the database, and the configuration that uses them. */
async function prepare() {
  const secrets = devSecrets()
  const services = await startServices({
    dataDir,
    persistent: true,
    databaseUrl: env.DATABASE_URL || undefined,
    // A cluster or Sentinel configured: no embedded redis-server (REDIS_URL stays unset).
    redisUrl: env.REDIS_URL || (env.REDIS_CLUSTER_NODES || env.REDIS_SENTINELS ? 'external' : undefined),
    password: secrets.pgPassword,
    log,
  })
  if (!env.DATABASE_URL) {
    await ensureDatabase(services.databaseUrl('postgres'), 'fgpat')
    env.DATABASE_URL = services.databaseUrl('fgpat')
  }
  if (!env.REDIS_CLUSTER_NODES && !env.REDIS_SENTINELS) env.REDIS_URL ||= services.redisUrl
  env.DATA_DIR = dataDir
  // Development defaults only: real deployments set these (see README).
  env.TOKEN_PEPPERS ||= secrets.pepper
  if (!env.AUTH_JWKS_URL && !env.AUTH_JWT_KEYS) {
    env.AUTH_JWT_SECRET ||= secrets.jwtSecret
    // The console's "sign in as" picker, for this development setup only (see modules/console).
    env.CONSOLE_DEV_SIGN_IN ||= 'true'
  }
  return { services, config: loadConfigOrExit(env) }
}
const prepared = prepare()
preparing = prepared
const { services, config } = await prepared.catch(async (err: Error) => {
  if (stoppingEarly) await stoppingEarly // stopped on purpose (the database step fails once PostgreSQL stops): that exits
  console.error(`[fgpat] could not start the embedded services: ${err.message}`)
  process.exit(1)
})
if (stoppingEarly) await stoppingEarly
process.off('SIGINT', stopEarly)
process.off('SIGTERM', stopEarly)
// The jobs run in this process too (DESIGN §2). Ctrl-C closes the API and the worker, then stops
// PostgreSQL and Redis, all within SHUTDOWN_TIMEOUT: the servers keep the last part of it, so a
// close stuck on a stalled dependency still leaves them time to stop cleanly.
// A Ctrl-C can come while the start is still under way (/readyz answers before the worker has
// started and the demo directory is loaded): the close lets the step in progress finish and the
// start skips the rest, so no step runs against servers already stopped (it did: "Connection
// terminated unexpectedly", then a forced exit).
let app: FastifyInstance | undefined
let worker: WorkerHandle | undefined
let stopping = false
let starting: Promise<void> = Promise.resolve()
closeWithin(config.shutdownTimeoutMs, log, async (reason) => {
  stopping = true
  const serversShare = Math.min(5000, Math.floor(config.shutdownTimeoutMs * 0.4))
  let startFailed: Error | undefined
  const closing = starting.catch((err: Error) => void (startFailed = err)).then(() => Promise.all([app?.close(), worker?.close()]))
  const closed = await settlesWithin(closing, config.shutdownTimeoutMs - serversShare)
  if (!closed) log('the API or the worker did not close in time; stopping PostgreSQL and Redis anyway')
  await services.stop(Math.max(200, serversShare - 500))
  if (!closed) throw new Error('shutdown forced: the API or the worker did not close in time')
  if (startFailed && startFailed !== reason.err) throw startFailed // a failure during the close: logged, exit 1
})

async function startAll(): Promise<void> {
  app = await runServer(config, { handleSignals: false })
  if (stopping) return
  worker = await startWorker(config, { logStream: stdoutLog() })
  if (stopping) return
  if (config.seedDemo) {
    const db = createDb(config.databaseUrl, 1)
    try {
      await createDirectoryService(db).bulkLoad(demoDirectory, { actor: { type: 'system', id: 'demo-seed' }, ip: null, requestId: null })
    } finally {
      await db.destroy()
    }
  }
  if (!stopping) await welcome(app, worker)
}
starting = startAll()
// A start that fails is a crash (the close runs, exit 1); once a close is under way, the close
// reports the failure and owns the exit.
await starting.catch((err: unknown) => {
  if (!stopping) throw err
})

/** What a newcomer needs to try it: where it runs, development JWTs, a first request. */
async function welcome(app: FastifyInstance, worker: WorkerHandle): Promise<void> {
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`
  const lines = [``, `fgpat is running at ${url}  (started in ${((Date.now() - t0) / 1000).toFixed(1)} s)`, `  Console:    ${url}/console/`, `  API docs:   ${url}/docs`, `  OpenAPI:    ${url}/openapi.json`]
  if (config.auth.jwtSecret) {
    const admin = await signDevJwt({ secret: config.auth.jwtSecret, sub: String(DEMO_ADMIN_ID), issuer: config.auth.issuer || undefined, audience: config.auth.audience || undefined })
    const user = await signDevJwt({ secret: config.auth.jwtSecret, sub: String(DEMO_USER_ID), issuer: config.auth.issuer || undefined, audience: config.auth.audience || undefined })
    const service = await signDevJwt({ secret: config.auth.jwtSecret, sub: 'service:backend', scopes: ['authorize', 'directory:write'], issuer: config.auth.issuer || undefined, audience: config.auth.audience || undefined })
    lines.push(
      ``,
      `Development JWTs (valid 30 days; signed with the secret in ${join(dataDir, 'dev-secrets.json')}):`,
      `  admin (root, id ${DEMO_ADMIN_ID}):   ${admin}`,
      `  user (alice, id ${DEMO_USER_ID}):   ${user}`,
      `  service (authorize, directory:write): ${service}`,
      ``,
      `Try it:`,
      `  curl -s -H "Authorization: Bearer <user JWT>" -H 'Content-Type: application/json' \\`,
      `    -d '{"name":"ci","expires_at":"<YYYY-MM-DD>","granular_scopes":[{"access":"selected_memberships","project_ids":[102],"permissions":["read_code"]}]}' \\`,
      `    ${url}/api/v4/user/personal_access_tokens`,
    )
  }
  lines.push(``, config.smtpUrl ? `Mail goes to ${worker.transport.description}.` : `Mail is written as .eml files to ${worker.transport.description} (set SMTP_URL to send it).`)
  lines.push(``, `Data lives in ${dataDir}. Press Ctrl-C to stop.`, ``)
  if (stopping) return // a Ctrl-C came while the JWTs were signed
  console.log(lines.join('\n'))
  app.log.info('ready')
}
