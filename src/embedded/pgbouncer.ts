// A local PgBouncer (Debian's `pgbouncer`) in front of a PostgreSQL, for the tests that prove the
// service works through a transaction-mode pooler. Installs the package when it is missing and we
// are root, like redis-server (redis.ts); PgBouncer refuses to run as root, so it then drops to the
// `postgres` OS user (-u) after reading its files.
import { execSync, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { taskClient } from '../db/task-client.js'
import { howItEnded, isRunning, stopChild, track } from './children.js'
import { ensurePostgresUser, isRoot } from './os-user.js'

const CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']

export function ensurePgBouncerInstalled(log: (msg: string) => void): string {
  const found = CANDIDATES.find((p) => existsSync(p))
  if (found) return found
  if (!isRoot()) throw new Error('pgbouncer is not installed. Install it with `sudo apt-get install -y pgbouncer` and run the command again.')
  log('pgbouncer not found; installing it from the OS packages (apt-get install pgbouncer)')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execSync('apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null', { stdio: 'inherit', env, shell: '/bin/sh' })
  const installed = CANDIDATES.find((p) => existsSync(p))
  if (!installed) throw new Error('apt-get reported success but pgbouncer is still missing')
  return installed
}

export interface PgBouncerHandle {
  /** `database` through PgBouncer, with the upstream's user and password. */
  url: (database: string) => string
  /** PgBouncer's admin console (SHOW POOLS, SHOW CONFIG, …). */
  adminUrl: string
  pid: number
  stop: () => Promise<void>
}

/**
 * Starts PgBouncer on 127.0.0.1:`port` in transaction mode in front of `upstream` (a PostgreSQL URL
 * with user and password), `poolSize` server connections per database and user. The settings are
 * the README's ("Behind PgBouncer").
 */
export async function startPgBouncer(opts: { dir: string; port: number; upstream: string; poolSize: number; log: (msg: string) => void }): Promise<PgBouncerHandle> {
  const binary = ensurePgBouncerInstalled(opts.log)
  const dir = resolve(opts.dir)
  mkdirSync(dir, { recursive: true })
  const up = new URL(opts.upstream)
  const user = decodeURIComponent(up.username)
  const password = decodeURIComponent(up.password)
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`
  const userlist = join(dir, 'userlist.txt')
  writeFileSync(userlist, `${quote(user)} ${quote(password)}\n`)
  const ini = join(dir, 'pgbouncer.ini')
  writeFileSync(ini, [
    '[databases]',
    `* = host=${up.hostname} port=${up.port || 5432}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${opts.port}`,
    'unix_socket_dir =',
    'auth_type = md5',
    `auth_file = ${userlist}`,
    `admin_users = ${user}`,
    'pool_mode = transaction',
    `default_pool_size = ${opts.poolSize}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    'max_client_conn = 500',
    // node-postgres sends the pool's statement_timeout as a startup parameter; 1.18 refuses any it
    // does not know unless it is listed here.
    'ignore_startup_parameters = statement_timeout',
    'server_reset_query =',
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n'))
  const args = [ini]
  if (isRoot()) {
    const runAs = ensurePostgresUser(opts.log)
    chmodSync(dir, 0o755)
    chmodSync(userlist, 0o644)
    chmodSync(ini, 0o644)
    args.unshift('-u', runAs.name)
  }
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  track(child)
  const base = new URL(opts.upstream)
  base.hostname = '127.0.0.1'
  base.port = String(opts.port)
  const url = (database: string) => {
    const u = new URL(base)
    u.pathname = `/${database}`
    return u.toString()
  }
  const adminUrl = url('pgbouncer')
  const deadline = Date.now() + 15_000
  for (;;) {
    if (!isRunning(child)) throw new Error(`pgbouncer ${howItEnded(child)}: ${stderr.trim()}`)
    const probe = taskClient(adminUrl, 1000)
    try {
      await probe.connect()
      await probe.query('SHOW VERSION')
      await probe.end()
      break
    } catch {
      await probe.end().catch(() => undefined)
      if (Date.now() > deadline) {
        await stopChild(child, 'SIGKILL', 1000)
        throw new Error(`pgbouncer did not answer within 15 s: ${stderr.trim()}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return { url, adminUrl, pid: child.pid ?? 0, stop: () => stopChild(child, 'SIGTERM', 5000) }
}
