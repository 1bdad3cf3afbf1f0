// `npm test`: installs and builds when needed, starts real PostgreSQL and Redis (embedded unless
// DATABASE_URL / REDIS_URL are set), runs the whole tap suite, and ends with `N passed, N failed`.
// `npm test -- test/unit test/integration/faults/redis.test.ts` runs chosen folders or files.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { compiledTestPath } from './build-tests.mjs'
import { withTestServices } from './test-services.mjs'

/**
 * A folder argument stands for the *.test.ts files under it, and a test file for what it compiles
 * to (build-tests.mjs): tap runs dist/test/**\/*.test.js.
 */
const expand = (arg) => {
  if (arg.startsWith('-')) return [arg]
  if (!statSync(arg, { throwIfNoEntry: false })?.isDirectory()) return [compiledTestPath(arg)]
  return readdirSync(arg, { recursive: true }).map(String).filter((f) => f.endsWith('.test.ts')).sort().map((f) => compiledTestPath(join(arg, f)))
}
const args = process.argv.slice(2).flatMap(expand)

let output = ''
let signal = null
const code = await withTestServices((env) => {
  const child = spawn('npx', ['tap', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk)
    output += chunk.toString()
  })
  return new Promise((resolve) => child.on('close', (c, s) => {
    signal = s
    resolve(c ?? 1)
  }))
})

// tap ends with `# { total: N, pass: N, fail: N, ... }`; the CI counts `N passed, N failed`.
const summary = /^#\s*\{([^}]*)\}\s*$/m.exec(output.split('\n').filter((l) => /^#\s*\{.*total/.test(l)).pop() ?? '')
const counts = Object.fromEntries(
  (summary?.[1] ?? '').split(',').map((kv) => kv.split(':').map((s) => s.trim())).filter((kv) => kv.length === 2).map(([k, v]) => [k, Number(v)]),
)
let passed = counts.pass ?? 0
let failed = counts.fail ?? 0
if (!summary) {
  // tap stopped before its summary (killed, or crashed): count what its reporter said per file,
  // ` PASS  file 12 OK 3s` and ` FAIL  file 1 failed of 41 1m`, and count the stop as a failure.
  for (const [, n] of output.matchAll(/^\s*PASS\s+\S+\s+(\d+) OK/gm)) passed += Number(n)
  for (const [, f, of] of output.matchAll(/^\s*FAIL\s+\S+\s+(\d+) failed of (\d+)/gm)) {
    failed += Number(f)
    passed += Number(of) - Number(f)
  }
  failed += 1
  console.log(`tap ended without its summary (${signal ? `signal ${signal}` : `exit code ${code}`}); the counts below are per file`)
} else if (code !== 0 && failed === 0) failed = 1 // e.g. a file that crashed before any assertion
console.log(`${passed} passed, ${failed} failed`)
process.exit(code)
