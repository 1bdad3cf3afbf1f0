// What `npm test` and `npm run fuzz` share: install and build when needed, start real PostgreSQL and
// Redis (embedded unless DATABASE_URL / REDIS_URL are set), and stop them again, also on Ctrl-C.
import { execSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureBuilt, ensureInstalled } from './ensure.mjs'
import { ensureChromium, ensurePythonGitlab } from './test-clients.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0)

/**
 * tap runs its tests with a Test class built for the configured plugins (package.json's `tap.plugin`
 * drops @tapjs/typescript: tsx compiles instead). An install brings the default build, with the
 * plugin. `tap run` notices and rebuilds, but only after it has read the old build's loaders, so
 * that whole run still starts every test process with @tapjs/typescript's import (ts-node and
 * TypeScript loaded in each of ~500 processes): a first run after `npm ci` took 23–26 minutes
 * against 15–17 for the next. So the build is brought up to date before tap starts.
 */
function ensureTapBuilt() {
  const built = join(root, 'node_modules', '@tapjs', 'test', 'test-built', 'dist', 'esm', 'index.js')
  const config = Math.max(mtime(join(root, 'node_modules', '.package-lock.json')), mtime(join(root, 'package.json')))
  if (mtime(built) >= config) return
  console.error('[fgpat] npx tap build')
  execSync('npx tap build', { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
}

/** Runs `run(env)` with the services up; `env` is what a tap child needs to reach them. */
export async function withTestServices(run) {
  ensureInstalled()
  ensureTapBuilt()
  ensureBuilt()
  ensurePythonGitlab()
  ensureChromium()
  const { setUpTestServices } = await import('../dist/src/cli/test-setup.js')
  const services = await setUpTestServices(process.env)
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await services.stop()
  }
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop().then(() => process.exit(130)))
  try {
    return await run({ ...process.env, ...services.env, NODE_ENV: 'test' })
  } finally {
    await stop()
  }
}
