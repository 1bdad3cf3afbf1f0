// Test processes load no TypeScript loader: `npm test` bundles the tests first (scripts/build-tests.mjs)
// and tap runs the JavaScript. A loader's module hooks see each module a test process loads (~1.3 s
// of CPU per process with tsx, when the app still came as ~870 modules). package.json's tap config drops @tapjs/typescript,
// whose import would bring ts-node and TypeScript; a fresh install brings tap's default plugin build
// with it, and without scripts/ensure.mjs' ensureTapBuilt a fresh clone's first `npm test` started
// every test process with it (23–26 minutes for the suite instead of ~18). In that run this file fails.
import { fileURLToPath } from 'node:url'
import t from 'tap'

t.test('no TypeScript loader in a test process: it runs compiled', async (t) => {
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? '']
  t.notOk(flags.some((f) => f.includes('@tapjs/typescript')), `node flags: ${flags.join(' ')}`)
  t.notOk(flags.some((f) => /\btsx\b|ts-node/.test(f)), `no tsx or ts-node: ${flags.join(' ')}`)
  t.match(fileURLToPath(import.meta.url), /[\\/]dist[\\/]test[\\/]unit[\\/]tap-loaders\.test\.js$/, 'this file runs as dist/test/…/*.js')
})
