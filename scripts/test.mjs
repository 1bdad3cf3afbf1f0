// `npm test`: installs and builds when needed, starts real PostgreSQL and Redis (embedded unless
// DATABASE_URL / REDIS_URL are set), runs the whole tap suite, and ends with `N passed, N failed`.
import { spawn } from 'node:child_process'
import { withTestServices } from './test-services.mjs'

const args = process.argv.slice(2)
let tail = ''
const code = await withTestServices((env) => {
  const child = spawn('npx', ['tap', ...(args.length ? args : [])], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk)
    tail = (tail + chunk.toString()).slice(-4000)
  })
  return new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)))
})

// tap ends with `# { total: N, pass: N, fail: N, ... }`; the CI counts `N passed, N failed`.
const m = /#\s*\{([^}]*)\}\s*$/m.exec(tail.trimEnd().split('\n').filter((l) => l.includes('total')).pop() ?? '')
const counts = Object.fromEntries(
  (m?.[1] ?? '').split(',').map((kv) => kv.split(':').map((s) => s.trim())).filter((kv) => kv.length === 2).map(([k, v]) => [k, Number(v)]),
)
const passed = counts.pass ?? 0
const failed = (counts.fail ?? 0) + (code !== 0 && !counts.fail ? 1 : 0)
console.log(`${passed} passed, ${failed} failed`)
process.exit(code)
