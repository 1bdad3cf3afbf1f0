// `npm run fuzz`: the fuzz harness at length. Starts PostgreSQL and Redis as `npm test` does, then
// runs test/integration/fuzz.test.ts with FUZZ_RUNS (default 100,000) generated requests from
// FUZZ_SEED (default: a fixed seed; `FUZZ_SEED=$RANDOM npm run fuzz` explores). Prints the counts by
// status and every 5xx with its reproducer; exits non-zero on any 5xx or stack trace in the log.
import { spawn } from 'node:child_process'
import { compiledTestPath } from './build-tests.mjs'
import { withTestServices } from './test-services.mjs'

let tap = ''
const code = await withTestServices((services) => {
  const env = { ...services, FUZZ_RUNS: process.env.FUZZ_RUNS || '100000' }
  console.error(`[fuzz] ${env.FUZZ_RUNS} requests, seed ${env.FUZZ_SEED || 'default'}`)
  // The report comes on the test's stderr, which the tap reporter passes through; its TAP (stdout) is
  // kept aside and shown only when the run fails (it names a failed assertion or a crash).
  const child = spawn('npx', ['tap', '--reporter=tap', '--timeout=0', compiledTestPath('test/integration/fuzz.test.ts')], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  child.stdout.on('data', (chunk) => (tap = (tap + chunk.toString()).slice(-20_000)))
  return new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)))
})
if (code !== 0) console.error(tap.split('\n').filter((line) => /not ok|message|stack|at:|fileName|lineNumber|diff|^\s+[-+]/.test(line)).join('\n'))
console.error(code === 0 ? '[fuzz] passed: no 5xx, no stack trace in the log' : '[fuzz] FAILED: see the 5xx and log lines above')
process.exit(code)
