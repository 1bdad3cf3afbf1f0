// Where the embedded PostgreSQL keeps its files: DATA_DIR/postgres, unless the server runs as the
// `postgres` user (we are root) and that user cannot enter DATA_DIR — a clone in root's home or in
// a `mktemp -d` folder. The user's folders are never opened up for it (no chmod of anything we did
// not create); the files go to SYSTEM_DIR/data/<hash of DATA_DIR's real path>/postgres instead,
// with a symlink at DATA_DIR/postgres and a log line saying so, and the same DATA_DIR finds them
// there again on every run.
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { canEnter, type OsUser } from './os-user.js'
import { makeOwnDir } from './system-dir.js'

export interface PgDataDir {
  /** The folder PostgreSQL runs on. */
  path: string
  /** Set when the files were placed outside DATA_DIR: the folder made for them (removed with non-persistent data). */
  relocatedTo?: string
  /** The symlink left at the wanted place, pointing at `path`. */
  link?: string
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}

/** A folder for the server's files: owned by the user it runs as, private to it (PostgreSQL insists). */
function ownedBy(path: string, runAs: OsUser | undefined): void {
  mkdirSync(path, { recursive: true })
  if (existsSync(join(path, 'PG_VERSION'))) return
  if (runAs) chownSync(path, runAs.uid, runAs.gid)
  chmodSync(path, 0o700)
}

export function placeDataDir(opts: { wanted: string; runAs?: OsUser; systemDir: string; log: (msg: string) => void }): PgDataDir {
  const { wanted, runAs } = opts
  const dataDir = dirname(wanted)
  mkdirSync(dataDir, { recursive: true })
  // Follows a link left by an earlier run (or the user's own), wherever it points.
  const actual = existsSync(wanted) ? realpathSync(wanted) : wanted
  if (!runAs || canEnter(dirname(actual), runAs)) {
    ownedBy(actual, runAs)
    if (actual !== wanted) opts.log(`PostgreSQL data: ${actual} (linked from ${wanted})`)
    return { path: actual }
  }
  if (existsSync(join(actual, 'PG_VERSION'))) {
    throw new Error(
      `the ${runAs.name} user cannot enter a folder above ${actual}, where the PostgreSQL data is. ` +
        `Move that folder somewhere it can reach and leave a symlink at ${wanted}, or set DATABASE_URL`,
    )
  }
  const home = join(opts.systemDir, 'data', createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16))
  const path = join(home, 'postgres')
  makeOwnDir(home)
  writeFileSync(join(home, 'DATA_DIR'), `${realpathSync(dataDir)}\n`)
  ownedBy(path, runAs)
  const existing = lstatOrUndefined(wanted)
  if (existing?.isSymbolicLink() && readlinkSync(wanted) !== path) unlinkSync(wanted) // dangling
  else if (existing?.isDirectory() && readdirSync(wanted).length === 0) rmdirSync(wanted)
  if (!lstatOrUndefined(wanted)) symlinkSync(path, wanted)
  const linked = lstatOrUndefined(wanted)?.isSymbolicLink() === true
  opts.log(
    `the ${runAs.name} user cannot enter ${dataDir} (a folder above it is private), and its permissions are left as they are: ` +
      `PostgreSQL keeps its data in ${path}${linked ? ` (linked from ${wanted})` : ''}`,
  )
  return { path, relocatedTo: home, link: linked ? wanted : undefined }
}
