// The flag disablePretenuring sets really turns V8's allocation-site pretenuring off in a running
// process (setFlagsFromString ignores unknown flags, so a rename in a later V8 would go unnoticed):
// a child process keeps every object one literal site makes, which V8 would weigh for pretenuring,
// and --trace-pretenuring-statistics reports each time it does.
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { NO_PRETENURING_FLAG } from '../../src/gc-tuning.js'

const child = (flag: string | undefined) => `
${flag ? `(await import('node:v8')).setFlagsFromString(${JSON.stringify(flag)})` : ''}
const keep = []
const make = (i) => ({ i, pair: [i, i + 1] })
for (let round = 0; round < 40; round++) {
  for (let i = 0; i < 20000; i++) keep.push(make(i))
  await new Promise((resolve) => setImmediate(resolve))
}`

function pretenuringReports(flag: string | undefined): number {
  const out = execFileSync(process.execPath, ['--trace-pretenuring-statistics', '--input-type=module', '-e', child(flag)], { encoding: 'utf8' })
  return out.split('\n').filter((line) => line.includes('pretenuring:')).length
}

t.test('V8 weighs pretenuring by default, and not at all once the flag is set at run time', async (t) => {
  t.ok(pretenuringReports(undefined) > 0, 'control: without it V8 weighs the site')
  t.equal(pretenuringReports(NO_PRETENURING_FLAG), 0, 'with it: no pretenuring decisions')
})
