// The tests run as JavaScript compiled beforehand, not through a TypeScript loader. tsx's module
// hooks (with tap's own, off the main thread) sat on every one of the ~870 ES modules each test
// process loads: ~2 s of CPU per test process, and in a CPU-bound run on two cores, a fifth of the
// suite's time (bench/README.md, "How long npm test takes").
//
// esbuild transpiles file by file, as tsx did (types are stripped, not checked; `npm run typecheck`
// checks them), into dist/test, next to the compiled service: a test's `../../src/app.js` is then
// dist/src/app.js, the same module that spawned entry points run. Only when something under test/
// changed since the last build (a deletion changes its folder's time), so a second `npm test`
// running beside the first does not rewrite its files; output whose source is gone is removed.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mtime, newestIn } from './ensure.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
export const TEST_SOURCES = join(root, 'test')
export const TEST_OUTPUT = join(root, 'dist', 'test')
const STAMP = join(TEST_OUTPUT, '.build-stamp')

/** `test/unit/x.test.ts` (relative to the working folder, or absolute) → `dist/test/unit/x.test.js`; any other path as given. */
export function compiledTestPath(path) {
  const inRepo = relative(root, resolve(path)).split(sep).join('/')
  if (!inRepo.startsWith('test/') || !inRepo.endsWith('.ts')) return path
  return join(root, 'dist', inRepo.replace(/\.ts$/, '.js'))
}

/** What an output file was made from: x.js and x.js.map from x.ts, a copied x.mjs from itself. */
const sourceOf = (output) => output.replace(/\.js(\.map)?$/, '.ts')

export async function buildTests() {
  if (mtime(STAMP) >= newestIn(TEST_SOURCES)) return
  console.error('[fgpat] esbuild test/ → dist/test/')
  const { build } = await import('esbuild')
  const files = readdirSync(TEST_SOURCES, { recursive: true }).map(String)
  await build({
    entryPoints: files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => join(TEST_SOURCES, f)),
    outdir: TEST_OUTPUT,
    outbase: TEST_SOURCES,
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  })
  // Plain-JavaScript helpers that compiled tests import by a relative path.
  for (const f of files.filter((f) => f.endsWith('.mjs'))) {
    mkdirSync(dirname(join(TEST_OUTPUT, f)), { recursive: true })
    copyFileSync(join(TEST_SOURCES, f), join(TEST_OUTPUT, f))
  }
  for (const f of readdirSync(TEST_OUTPUT, { recursive: true }).map(String)) {
    const output = join(TEST_OUTPUT, f)
    if (f !== '.build-stamp' && statSync(output).isFile() && !existsSync(join(TEST_SOURCES, sourceOf(f)))) rmSync(output)
  }
  writeFileSync(STAMP, new Date().toISOString())
}
