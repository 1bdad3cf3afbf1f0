// The committed openapi/openapi.json is generated from the route schemas; this fails when it drifts,
// and checks what every integrator relies on: ids and summaries for codegen, a documented success.
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { generateOpenApi, OPENAPI_FILE, OPENAPI_SERVER_URL } from '../../src/cli/openapi.js'
import { build } from '../helpers/app.js'
import { repoRoot } from '../../src/repo-root.js'

const committedPath = join(repoRoot(), OPENAPI_FILE)
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']

interface Operation {
  operationId?: string
  summary?: string
  deprecated?: boolean
  responses?: Record<string, unknown>
}
interface Document {
  openapi: string
  servers: Array<{ url: string }>
  paths: Record<string, Record<string, Operation>>
}

function operations(doc: Document): Array<{ where: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })),
  )
}

t.test('the committed openapi/openapi.json matches the routes', async (t) => {
  const generated = await generateOpenApi()
  let committed = ''
  try {
    committed = readFileSync(committedPath, 'utf8')
  } catch {
    t.fail(`${OPENAPI_FILE} is missing: run \`npm run openapi\` and commit it`)
    return
  }
  // Compare whole texts but report a short message: a diff of 100 kB helps nobody.
  t.ok(generated === committed, `${OPENAPI_FILE} is out of date with the route schemas: run \`npm run openapi\` and commit the result`)
  t.equal(generated, generated.trimEnd() + '\n', 'ends with exactly one newline')
  t.equal(await generateOpenApi(), generated, 'generation is deterministic')
})

t.test('the document is OpenAPI 3.1 and every operation is complete', async (t) => {
  const doc = JSON.parse(await generateOpenApi()) as Document
  t.match(doc.openapi, /^3\.1\./)
  t.same(doc.servers, [{ url: OPENAPI_SERVER_URL }], 'the servers URL does not depend on the environment')
  const ops = operations(doc)
  t.ok(ops.length >= 15, `documents the API (${ops.length} operations)`)

  const noId = ops.filter(({ op }) => !op.operationId).map(({ where }) => where)
  t.same(noId, [], 'every operation has an operationId')
  const ids = ops.flatMap(({ op }) => (op.operationId ? [op.operationId] : []))
  t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'operationIds are unique')
  t.same(ops.filter(({ op }) => !op.summary?.trim()).map(({ where }) => where), [], 'every operation has a summary')
  // A deprecated operation kept only to explain its refusal (a group owner's rotate) has none.
  t.same(
    ops.filter(({ op }) => !op.deprecated && !Object.keys(op.responses ?? {}).some((status) => /^2\d\d$/.test(status))).map(({ where }) => where),
    [],
    'every operation declares a 2xx response',
  )
  t.same(
    ops.filter(({ op }) => op.deprecated && !Object.keys(op.responses ?? {}).some((status) => /^4\d\d$/.test(status))).map(({ where }) => where),
    [],
    'a refused deprecated operation declares its refusal',
  )
  t.notOk('/openapi.json' in doc.paths, 'the document does not describe itself')
  t.notOk(Object.keys(doc.paths).some((p) => p.startsWith('/docs')), 'the docs UI routes are hidden')
})

t.test('GET /openapi.json serves the document and /docs answers', async (t) => {
  const ctx = await build(t)
  const res = await ctx.app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /application\/json/)
  const served = res.json() as Document
  const committed = JSON.parse(readFileSync(committedPath, 'utf8')) as Document
  t.match(served.openapi, /^3\.1\./)
  t.same(Object.keys(served.paths).sort(), Object.keys(committed.paths).sort(), 'serves the same paths as the committed file')
  t.same(served.servers, [{ url: ctx.config.publicUrl }], 'a running instance names its own URL')

  const docs = await ctx.app.inject({ method: 'GET', url: '/docs' })
  t.ok([200, 302].includes(docs.statusCode), `/docs answers (${docs.statusCode})`)
  const page = await ctx.app.inject({ method: 'GET', url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /swagger/i, 'the docs page is Swagger UI')
})
