// `npm test` runs the tests compiled (scripts/build-tests.mjs): every test file has its compiled
// counterpart, nothing compiled lingers without a source, the service is bundled in as tsc built it,
// and `npm test -- test/…` arguments name what tap runs.
import { readdirSync, readFileSync } from 'node:fs'
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

t.test('the service is bundled into the tests as dist/ has it, with the packages of many modules', async (t) => {
  const files = readdirSync(TEST_OUTPUT, { recursive: true }).map(String).filter((f) => f.endsWith('.js')).map((f) => join(TEST_OUTPUT, f))
  const texts = files.map((f) => readFileSync(f, 'utf8'))
  const all = texts.join('\n')
  // Each module a test process loads passes through tap's module hooks: these packages' hundreds of files are inside the bundles.
  // (esbuild writes an import on lines of its own: `import … from "x";`, or `} from "x";` ending a long one)
  const importOf = (pkg: string) => new RegExp(`^(import [^\\n]*|\\}) from "${pkg}(/[^"]*)?";$`, 'm')
  for (const pkg of ['typebox', 'kysely', 'jose']) t.notMatch(all, importOf(pkg), `no test imports ${pkg} from node_modules`)
  t.match(all, importOf('fastify'), 'the other packages stay external')
  // An entry point's "am I the main module?" check reads its own file's URL: in a bundle,
  // import.meta.url would be the test file's, which is process.argv[1], and the worker would start.
  t.ok(all.includes(JSON.stringify(pathToFileURL(join(root, 'dist', 'src', 'worker.js')).href)), 'worker.js, bundled, keeps the URL of dist/src/worker.js')
  const metaUrl = ['import', 'meta', 'url'].join('.') // not written out, or this file would read as one of them
  const readers = files.filter((f, i) => texts[i].includes(metaUrl)).map((f) => f.slice(TEST_OUTPUT.length + 1))
  t.same(readers, ['unit/tap-loaders.test.js'], 'only a test\'s own code reads the bundle\'s URL')
})

t.test('a test file named on the command line is the compiled one', async (t) => {
  t.equal(compiledTestPath('test/unit/config.test.ts'), join(root, 'dist', 'test', 'unit', 'config.test.js'))
  t.equal(compiledTestPath(join(root, 'test', 'integration', 'a', 'b.test.ts')), join(root, 'dist', 'test', 'integration', 'a', 'b.test.js'))
  t.equal(compiledTestPath('dist/test/unit/config.test.js'), 'dist/test/unit/config.test.js', 'already compiled: as given')
  t.equal(compiledTestPath('/elsewhere/test/x.test.ts'), '/elsewhere/test/x.test.ts', 'outside the repository: as given')
})
