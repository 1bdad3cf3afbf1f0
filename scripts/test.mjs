// `npm test`: installs and builds when needed, starts real PostgreSQL and Redis (embedded unless
// DATABASE_URL / REDIS_URL are set), runs the whole tap suite, and ends with `N passed, N failed`.
import { spawn } from 'node:child_process'
import { ensureBuilt, ensureInstalled } from './ensure.mjs'

ensureInstalled()
ensureBuilt()
const { setUpTestServices } = await import('../dist/src/cli/test-setup.js')
const services = await setUpTestServices(process.env)

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  await services.stop()
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop().then(() => process.exit(130)))

const args = process.argv.slice(2)
const child = spawn('npx', ['tap', ...(args.length ? args : [])], {
  env: { ...process.env, ...services.env, NODE_ENV: 'test' },
  stdio: ['ignore', 'pipe', 'inherit'],
})
let tail = ''
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  tail = (tail + chunk.toString()).slice(-4000)
})
const code = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)))
await stop()

// tap ends with `# { total: N, pass: N, fail: N, ... }`; the CI counts `N passed, N failed`.
const m = /#\s*\{([^}]*)\}\s*$/m.exec(tail.trimEnd().split('\n').filter((l) => l.includes('total')).pop() ?? '')
const counts = Object.fromEntries(
  (m?.[1] ?? '').split(',').map((kv) => kv.split(':').map((s) => s.trim())).filter((kv) => kv.length === 2).map(([k, v]) => [k, Number(v)]),
)
const passed = counts.pass ?? 0
const failed = (counts.fail ?? 0) + (code !== 0 && !counts.fail ? 1 : 0)
console.log(`${passed} passed, ${failed} failed`)
process.exit(code)
