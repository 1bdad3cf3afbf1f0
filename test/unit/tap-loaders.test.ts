// Test processes run TypeScript through tsx only (package.json's tap config drops @tapjs/typescript).
// A fresh install brings tap's default plugin build, with that plugin; `tap run` rebuilds it, but
// only after it has read the old build's loaders, so without scripts/ensure.mjs'
// ensureTapBuilt a fresh clone's first `npm test` started every test process with ts-node and
// TypeScript loaded besides tsx (~0.55 s of CPU each, 23–26 minutes for the suite instead of ~18).
// In that run this file fails.
import t from 'tap'

t.test('no TypeScript loader besides tsx in a test process', async (t) => {
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? '']
  t.notOk(flags.some((f) => f.includes('@tapjs/typescript')), `node flags: ${flags.join(' ')}`)
  t.ok(flags.some((f) => f === '--import=tsx'), 'tsx compiles the tests')
})
