// A folder of our own, outside the user's tree, for what the `postgres` user must reach when the
// clone sits in a private folder: a copy of the PostgreSQL binaries and, when DATA_DIR itself is
// private, the database files. Only root needs it (only root runs the server as another user).
import { chmodSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export const SYSTEM_DIR = '/var/lib/fgpat'

/**
 * Creates `dir` and any missing folder above it as 0755, or leaves an existing one as it is: only
 * folders this project creates get their mode set, and the mode is explicit because a private
 * umask (077) would otherwise make them unreachable too.
 */
export function makeOwnDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true })
  if (first === undefined) return
  for (let d = dir; ; d = dirname(d)) {
    chmodSync(d, 0o755)
    if (d === first || d === dirname(d)) return
  }
}
