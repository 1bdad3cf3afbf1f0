// The flag disablePretenuring sets really turns V8's allocation-site pretenuring off in a running
// process (setFlagsFromString ignores unknown flags, so a rename in a later V8 would go unnoticed):
// a child process keeps every object one literal site makes, which V8 would weigh for pretenuring,
// and --trace-pretenuring-statistics reports each time it does.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { NO_PRETENURING_FLAG, YOUNG_GENERATION_FLAGS } from '../../src/gc-tuning.js'
import { repoRoot } from '../../src/repo-root.js'

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

// The young generation's size can only be set on node's command line, so each launcher carries
// the flags itself: this is where they would drift apart.
t.test('the launchers give node the young generation flags', async (t) => {
  const pkg = JSON.parse(readFileSync(`${repoRoot()}/package.json`, 'utf8')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts.start, `node ${YOUNG_GENERATION_FLAGS.join(' ')} scripts/start.mjs`, 'npm start')
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(`${repoRoot()}/Dockerfile`, 'utf8'))?.[1]
  t.same(JSON.parse(cmd ?? 'null'), ['node', ...YOUNG_GENERATION_FLAGS, 'dist/src/server.js'], "the Dockerfile's CMD")
})

t.test('node accepts the young generation flags, and they take', async (t) => {
  const newSpaceMb = (flags: readonly string[]) => Number(execFileSync(process.execPath, [...flags, '-e',
    "console.log(require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576)"], { encoding: 'utf8' }))
  const sized = newSpaceMb(YOUNG_GENERATION_FLAGS)
  t.ok(sized >= 32, `new space ${sized} MiB at start-up with them (a 32 MiB semi-space from the start)`)
  const unset = newSpaceMb([])
  t.ok(unset < sized, `${unset} MiB without them`)
})
