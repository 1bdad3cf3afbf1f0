// `npm test` runs the tests compiled (scripts/build-tests.mjs): every test file has its compiled
// counterpart, nothing compiled lingers without a source, and `npm test -- test/…` arguments name
// what tap runs.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { repoRoot } from '../../src/repo-root.js'

const root = repoRoot()

const { compiledTestPath, TEST_OUTPUT } = (await import(pathToFileURL(join(root, 'scripts', 'build-tests.mjs')).href)) as {
  compiledTestPath: (path: string) => string
  TEST_OUTPUT: string
}

const testsIn = (dir: string, ext: string) => readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(`.test.${ext}`)).map((f) => f.slice(0, -ext.length - 1)).sort()

t.test('every test file is compiled, and nothing compiled is left without its source', async (t) => {
  t.equal(TEST_OUTPUT, join(root, 'dist', 'test'))
  const sources = testsIn(join(root, 'test'), 'ts')
  t.ok(sources.length > 100, `${sources.length} test files`)
  t.same(testsIn(TEST_OUTPUT, 'js'), sources)
})

t.test('a test file named on the command line is the compiled one', async (t) => {
  t.equal(compiledTestPath('test/unit/config.test.ts'), join(root, 'dist', 'test', 'unit', 'config.test.js'))
  t.equal(compiledTestPath(join(root, 'test', 'integration', 'a', 'b.test.ts')), join(root, 'dist', 'test', 'integration', 'a', 'b.test.js'))
  t.equal(compiledTestPath('dist/test/unit/config.test.js'), 'dist/test/unit/config.test.js', 'already compiled: as given')
  t.equal(compiledTestPath('/elsewhere/test/x.test.ts'), '/elsewhere/test/x.test.ts', 'outside the repository: as given')
})
