// The tests run as JavaScript compiled beforehand, not through a TypeScript loader. tsx's module
// hooks (with tap's own, off the main thread) sat on every one of the ~870 ES modules each test
// process loads: ~2 s of CPU per test process, and in a CPU-bound run on two cores, a fifth of the
// suite's time (bench/README.md, "How long npm test takes").
//
// esbuild bundles each test file (types are stripped, not checked; `npm run typecheck` checks
// them) into dist/test, with the service's modules as tsc built them in dist/src (the same
// JavaScript that spawned entry points run) and three packages of many modules; shared code goes
// into dist/test/chunks. A test process then loads ~190 modules, not ~870, each of which tap's own
// module hooks would see (bench/README.md, "How long npm test takes"). It builds again only when
// something under test/ changed (a deletion changes its folder's time) or the service was built
// again, so a second `npm test` running beside the first does not rewrite its files; output of an
// earlier build that this one did not write is removed.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { mtime, newestIn } from './ensure.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
export const TEST_SOURCES = join(root, 'test')
export const TEST_OUTPUT = join(root, 'dist', 'test')
const STAMP = join(TEST_OUTPUT, '.build-stamp')

const BUILT = join(root, 'dist')
/** Sources tsc compiles into dist/ (tsconfig.build.json): a test imports them as dist/ has them. */
const COMPILED = ['src', 'migrations'].map((d) => join(root, d) + sep)

// Bundled into each test file with the tests' own modules: the ES-module packages of many files.
// Each module a test process loads passes through tap's module hooks (@tapjs/processinfo), on
// another thread, even with coverage off: these three are ~680 of the ~870 modules the app loads.
// Every other package stays external and is loaded from node_modules as the service loads it.
const INLINED_PACKAGES = /^(typebox|kysely|jose)(\/|$)/

/**
 * The service's modules go into a test as tsc compiled them (dist/src, dist/migrations), the same
 * JavaScript that `npm start` and the spawned entry points run, not transpiled again from TypeScript.
 * A module that reads `import.meta.url` gets its own file's URL, not the bundle's: the entry points'
 * "am I the main module?" checks compare it with process.argv[1], which in a test is the test file.
 */
const serviceAsBuilt = {
  name: 'service-as-built',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) => (INLINED_PACKAGES.test(a.path) ? undefined : { path: a.path, external: true }))
    b.onResolve({ filter: /^\./ }, (a) => {
      const target = resolve(a.resolveDir, a.path)
      if (!COMPILED.some((d) => target.startsWith(d)) || a.resolveDir.startsWith(BUILT + sep)) return undefined
      return { path: join(BUILT, relative(root, target)) }
    })
    b.onLoad({ filter: /\.js$/ }, (a) => {
      if (!a.path.startsWith(BUILT + sep)) return undefined
      const text = readFileSync(a.path, 'utf8')
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(a.path).href)), loader: 'js', resolveDir: dirname(a.path) }
    })
  },
}

/** `test/unit/x.test.ts` (relative to the working folder, or absolute) → `dist/test/unit/x.test.js`; any other path as given. */
export function compiledTestPath(path) {
  const inRepo = relative(root, resolve(path)).split(sep).join('/')
  if (!inRepo.startsWith('test/') || !inRepo.endsWith('.ts')) return path
  return join(root, 'dist', inRepo.replace(/\.ts$/, '.js'))
}

/**
 * Up to date when built after the last change under test/, under dist/src and dist/migrations (the
 * tests contain the service as built there, also by a `tsc` run by hand) and of this script, and in
 * this folder: the service's `import.meta.url`s are absolute.
 */
function upToDate() {
  if (!existsSync(STAMP) || readFileSync(STAMP, 'utf8') !== root) return false
  const inputs = [newestIn(TEST_SOURCES), ...COMPILED.map((d) => newestIn(join(BUILT, relative(root, d)))), mtime(fileURLToPath(import.meta.url))]
  return mtime(STAMP) >= Math.max(...inputs)
}

export async function buildTests() {
  if (upToDate()) return
  console.error('[fgpat] esbuild test/ → dist/test/')
  const { build } = await import('esbuild')
  const files = readdirSync(TEST_SOURCES, { recursive: true }).map(String)
  const { metafile } = await build({
    entryPoints: files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => join(TEST_SOURCES, f)),
    outdir: TEST_OUTPUT,
    outbase: TEST_SOURCES,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [serviceAsBuilt],
    metafile: true,
  })
  // (Plain-JavaScript helpers a test imports are in its bundle; one a test starts as a process,
  // maximal-bulk.mjs, runs from test/.) Anything else is left from an earlier build: a deleted test
  // must not keep running, and the shared chunks' names change with their contents.
  const current = new Set([...Object.keys(metafile.outputs).map((f) => resolve(f)), STAMP])
  for (const f of readdirSync(TEST_OUTPUT, { recursive: true }).map(String)) {
    const output = join(TEST_OUTPUT, f)
    if (statSync(output).isFile() && !current.has(output)) rmSync(output)
  }
  writeFileSync(STAMP, root)
}
