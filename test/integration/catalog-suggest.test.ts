// GET /api/v4/permissions/suggest: permission guidance for a job described in plain words.
import t from 'tap'
import { build, type TestContext } from '../helpers/app.js'

interface SuggestJson {
  query: string
  clauses: Array<{ text: string; words: string[]; unmatched: string[]; best: string | null }>
  results: Array<{
    name: string; title: string; category: string; access: string; boundaries: string[]
    score: number; relevance: number; covers: string[]
    matched: Array<{ word: string; term: string; field: string; how: string }>
  }>
  hint?: string
}
interface ProblemJson {
  status: number
  code: string
  detail: string
  errors?: Array<{ path: string; message: string }>
}

const suggestUrl = (params: Record<string, string>) => `/api/v4/permissions/suggest?${new URLSearchParams(params)}`

async function get(ctx: TestContext, url: string) {
  return ctx.app.inject({ method: 'GET', url })
}

t.test('permission guidance', async (t) => {
  const ctx = await build(t)

  t.test('ranks the permissions of each intent first, without credentials, and says why', async (t) => {
    const res = await get(ctx, suggestUrl({ q: 'clone the repo and open merge requests' }))
    t.equal(res.statusCode, 200)
    const body = res.json() as SuggestJson
    t.equal(body.query, 'clone the repo and open merge requests')
    t.same(body.results.slice(0, 2).map((r) => r.name), ['read_code', 'create_merge_request'])
    t.same(body.clauses.map((c) => ({ text: c.text, best: c.best })), [
      { text: 'clone the repo', best: 'read_code' },
      { text: 'open merge requests', best: 'create_merge_request' },
    ])
    t.match(body.results[0], {
      name: 'read_code', title: 'Code: Read', category: 'repository', access: 'read', boundaries: ['project', 'group'],
      score: Number, relevance: 1, covers: ['clone the repo'],
    })
    t.ok(body.results[0].matched.some((m) => m.word === 'clone' && m.term === 'clone' && m.field === 'synonym' && m.how === 'exact'))
    t.ok(body.results[1].matched.some((m) => m.word === 'open' && m.term === 'create' && m.how === 'verb'))
    t.equal(body.results.length, 10, 'default limit')
    t.notOk('hint' in body)
  })

  t.test('typos and shorthand', async (t) => {
    const typo = (await get(ctx, suggestUrl({ q: 'trigger the pipline' }))).json() as SuggestJson
    t.equal(typo.results[0].name, 'create_pipeline')
    t.ok(typo.results[0].matched.some((m) => m.word === 'pipline' && m.how === 'fuzzy'))
    const mr = (await get(ctx, suggestUrl({ q: 'comment on MRs' }))).json() as SuggestJson
    t.equal(mr.results[0].name, 'create_note')
  })

  t.test('limit', async (t) => {
    const body = (await get(ctx, suggestUrl({ q: 'merge request', limit: '3' }))).json() as SuggestJson
    t.equal(body.results.length, 3)
    const many = (await get(ctx, suggestUrl({ q: 'merge request', limit: '50' }))).json() as SuggestJson
    t.ok(many.results.length > 3 && many.results.length <= 50)
  })

  t.test('boundary filter', async (t) => {
    const all = (await get(ctx, suggestUrl({ q: 'rotate access token' }))).json() as SuggestJson
    t.ok(all.results.some((r) => !r.boundaries.includes('user')), 'project and group tokens too without the filter')
    const res = await get(ctx, suggestUrl({ q: 'rotate access token', boundary: 'user' }))
    t.equal(res.statusCode, 200)
    const body = res.json() as SuggestJson
    t.equal(body.results[0].name, 'rotate_personal_access_token')
    t.ok(body.results.every((r) => r.boundaries.includes('user')))
  })

  t.test('nothing matching is an empty list with a hint, not an error', async (t) => {
    const res = await get(ctx, suggestUrl({ q: 'zzqqxx' }))
    t.equal(res.statusCode, 200)
    const body = res.json() as SuggestJson
    t.same(body.results, [])
    t.match(body.hint, /zzqqxx/)
    t.same(body.clauses, [{ text: 'zzqqxx', words: ['zzqqxx'], unmatched: ['zzqqxx'], best: null }])
    const common = (await get(ctx, suggestUrl({ q: 'I want to do the thing' }))).json() as SuggestJson
    t.same(common.results, [])
    t.match(common.hint, /common words/)
  })

  t.test('bad input is a 400 that says what to fix', async (t) => {
    const cases: Array<[string, string, RegExp]> = [
      ['/api/v4/permissions/suggest', 'query.q', /required/],
      [suggestUrl({ q: '' }), 'query.q', /fewer than 1|at least 1|must NOT have fewer/],
      [suggestUrl({ q: '   ' }), 'query.q', /describe what the job does/],
      [suggestUrl({ q: 'x'.repeat(201) }), 'query.q', /more than 200/],
      [suggestUrl({ q: 'clone', limit: '0' }), 'query.limit', />= 1/],
      [suggestUrl({ q: 'clone', limit: '51' }), 'query.limit', /<= 50/],
      [suggestUrl({ q: 'clone', limit: 'ten' }), 'query.limit', /integer/],
      [suggestUrl({ q: 'clone', boundary: 'planet' }), 'query.boundary', /./],
    ]
    for (const [url, path, message] of cases) {
      const res = await get(ctx, url)
      t.equal(res.statusCode, 400, url)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
      const body = res.json() as ProblemJson
      t.equal(body.status, 400)
      t.ok(body.errors?.some((e) => e.path === path && message.test(e.message)), `${url}: ${JSON.stringify(body.errors)}`)
    }
  })

  t.test('a 200-character description is fine', async (t) => {
    const q = `clone the repo and open merge requests ${'and read the pipeline '.repeat(10)}`.slice(0, 200)
    const res = await get(ctx, suggestUrl({ q }))
    t.equal(res.statusCode, 200)
  })
})
