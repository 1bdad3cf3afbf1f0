// Makes a fresh clone runnable with no other command typed first: installs dependencies when
// package-lock.json changed since the last install, and compiles TypeScript when a source file is
// newer than the last build. Plain Node on purpose: it must run before node_modules exists.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildConsole } from './build-console.mjs'
import { allOf, run, runBeside } from './commands.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
export const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0)

/** The newest change under `dir`, folders included: removing or renaming a file changes its folder. */
export function newestIn(dir) {
  if (!existsSync(dir)) return 0
  let newest = statSync(dir).mtimeMs
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestIn(p) : statSync(p).mtimeMs)
  }
  return newest
}

export function ensureInstalled() {
  const installed = join(root, 'node_modules', '.package-lock.json')
  if (mtime(installed) < mtime(join(root, 'package-lock.json'))) {
    run('npm ci --no-audit --no-fund')
  }
}

/**
 * tap runs its tests with a Test class built for the configured plugins. package.json's `tap.plugin`
 * drops @tapjs/typescript (the tests run compiled, see build-tests.mjs) and the plugins no test uses
 * (@tapjs/mock's module hooks alone cost ~0.3 s of CPU per test process). An install brings the
 * default build, with all of them. `tap run` notices and rebuilds, but only after it has read the
 * old build's loaders, so that whole run still starts every test process with them (with
 * @tapjs/typescript: ts-node and TypeScript loaded in each of ~500 processes, and a first run after
 * `npm ci` took 23–26 minutes against 15–17 for the next). So the build is brought up to date
 * before tap starts.
 */
export function ensureTapBuilt() {
  const built = join(root, 'node_modules', '@tapjs', 'test', 'test-built', 'dist', 'esm', 'index.js')
  const config = Math.max(mtime(join(root, 'node_modules', '.package-lock.json')), mtime(join(root, 'package.json')))
  if (mtime(built) >= config) return
  run('npx tap build')
}

/**
 * The service (tsc) and the console (vue-tsc, Vite) are built side by side when stale: they read and
 * write different folders. On two cores, one after the other took 26 s here, side by side 22 s.
 */
export async function ensureBuilt() {
  const stamp = join(root, 'dist', '.build-stamp')
  const sources = Math.max(
    newestIn(join(root, 'src')),
    newestIn(join(root, 'migrations')),
    mtime(join(root, 'tsconfig.json')),
    mtime(join(root, 'package-lock.json')),
  )
  const consoleSources = Math.max(
    newestIn(join(root, 'console')),
    newestIn(join(root, 'client')),
    mtime(join(root, 'package-lock.json')),
  )
  await allOf([
    mtime(stamp) < sources && runBeside('npx tsc -p tsconfig.build.json').then(() => writeFileSync(stamp, new Date().toISOString())),
    mtime(join(root, 'dist', 'console', '.build-stamp')) < consoleSources && buildConsole(),
  ])
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureInstalled()
  await ensureBuilt()
}
