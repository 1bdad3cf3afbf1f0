// What `npm test` and `npm run fuzz` share: install and build when needed, start real PostgreSQL and
// Redis (embedded unless DATABASE_URL / REDIS_URL are set), and stop them again, also on Ctrl-C.
import { buildTests } from './build-tests.mjs'
import { ensureBuilt, ensureInstalled, ensureTapBuilt } from './ensure.mjs'
import { ensureChromium, ensurePythonGitlab } from './test-clients.mjs'

/** Runs `run(env)` with the services up; `env` is what a tap child needs to reach them. */
export async function withTestServices(run) {
  ensureInstalled()
  ensureTapBuilt()
  await ensureBuilt()
  await buildTests()
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
