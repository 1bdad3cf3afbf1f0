// Makes a fresh clone runnable with no other command typed first: installs dependencies when
// package-lock.json changed since the last install, and compiles TypeScript when a source file is
// newer than the last build. Plain Node on purpose: it must run before node_modules exists.
import { execSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildConsole } from './build-console.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0)

function newestIn(dir) {
  let newest = 0
  if (!existsSync(dir)) return newest
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestIn(p) : statSync(p).mtimeMs)
  }
  return newest
}

function run(cmd) {
  console.error(`[fgpat] ${cmd}`)
  execSync(cmd, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
}

export function ensureInstalled() {
  const installed = join(root, 'node_modules', '.package-lock.json')
  if (mtime(installed) < mtime(join(root, 'package-lock.json'))) {
    run('npm ci --no-audit --no-fund')
  }
}

export function ensureBuilt() {
  const stamp = join(root, 'dist', '.build-stamp')
  const sources = Math.max(
    newestIn(join(root, 'src')),
    newestIn(join(root, 'migrations')),
    mtime(join(root, 'tsconfig.json')),
    mtime(join(root, 'package-lock.json')),
  )
  if (mtime(stamp) < sources) {
    run('npx tsc -p tsconfig.build.json')
    writeFileSync(stamp, new Date().toISOString())
  }
  const consoleSources = Math.max(
    newestIn(join(root, 'console')),
    newestIn(join(root, 'client')),
    mtime(join(root, 'package-lock.json')),
  )
  if (mtime(join(root, 'dist', 'console', '.build-stamp')) < consoleSources) buildConsole()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureInstalled()
  ensureBuilt()
}
