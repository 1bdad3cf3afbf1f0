// The typed client in client/ (shipped for integrators, used by the console) is generated from the
// committed OpenAPI document; this fails when it drifts, i.e. when `npm run openapi` was not re-run
// after a route changed. The console's build type-checks against it (scripts/build-console.mjs).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { repoRoot } from '../../src/repo-root.js'

t.test('client/schema.d.ts matches openapi/openapi.json', async (t) => {
  const root = repoRoot()
  const dir = mkdtempSync(join(tmpdir(), 'fgpat-client-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'schema.d.ts')
  execFileSync(join(root, 'node_modules', '.bin', 'openapi-typescript'), [join(root, 'openapi', 'openapi.json'), '-o', out], { cwd: root, stdio: 'ignore' })
  const same = readFileSync(out, 'utf8') === readFileSync(join(root, 'client', 'schema.d.ts'), 'utf8')
  t.ok(same, 'client/schema.d.ts is what openapi-typescript makes of openapi/openapi.json (run `npm run openapi` and commit both)')
})
