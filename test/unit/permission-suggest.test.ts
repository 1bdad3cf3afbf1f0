// Permission guidance ranking (domain/permissions/suggest-ranking.ts): the queries a GitLab user
// types for a token's job, and the permission they must find. Many of them cannot be found by a
// substring search at all (typos, "open" for create, "MR", plurals, several intents in one line).
import t from 'tap'
import { CATEGORIES, PERMISSIONS, searchPermissions } from '../../src/domain/permissions/index.js'
import { buildSuggestIndex } from '../../src/domain/permissions/suggest-index.js'
import { suggestPermissions, type SuggestOptions } from '../../src/domain/permissions/suggest-ranking.js'
import { splitClauses, stem } from '../../src/domain/permissions/suggest-text.js'

const index = buildSuggestIndex(PERMISSIONS, CATEGORIES)
const suggest = (q: string, options: Partial<SuggestOptions> = {}) => suggestPermissions(index, q, { limit: 10, ...options })
const names = (q: string, options: Partial<SuggestOptions> = {}) => suggest(q, options).suggestions.map((s) => s.permission.name)

// [query, expected permission, where it must rank: 1 = first, 3 = within the top 3]
const QUERIES: Array<[string, string, 1 | 3]> = [
  ['clone the repo', 'read_code', 1],
  ['git clone', 'read_code', 1],
  ['read the code', 'read_code', 1],
  ['push code', 'push_code', 1],
  ['commit and push changes to a branch', 'push_code', 3],
  ['open merge requests', 'create_merge_request', 1],
  ['approve merge requests', 'approve_merge_request', 1],
  ['merge MRs', 'merge_merge_request', 1],
  ['comment on MR', 'create_note', 1],
  ['comment on issues', 'create_note', 1],
  ['trigger pipeline', 'create_pipeline', 1],
  ['see pipeline status', 'read_pipeline', 1],
  ['cancel a running pipeline', 'cancel_pipeline', 1],
  ['retry failed jobs', 'retry_job', 1],
  ['read CI job logs', 'read_job_log', 1],
  ['download build artifacts', 'read_job_artifact', 1],
  ['manage runners', 'manage_runner', 1],
  ['register a runner', 'create_runner', 1],
  ['update CI variables', 'update_ci_variable', 1],
  ['publish npm package', 'publish_package', 1],
  ['install npm packages from the registry', 'read_package', 1],
  ['push docker image', 'push_container_image', 1],
  ['pull docker images', 'read_container_image', 1],
  ['read issues', 'read_issue', 1],
  ['open issues', 'create_issue', 1],
  ['close issues', 'update_issue', 1],
  ['create release', 'create_release', 1],
  ['download release assets', 'read_release', 1],
  ['create a tag', 'create_tag', 1],
  ['delete branches', 'delete_branch', 1],
  ['deploy to production', 'create_deployment', 1],
  ['approve deployments', 'approve_deployment', 1],
  ['stop review apps', 'stop_environment', 1],
  ['edit wiki pages', 'update_wiki', 1],
  ['add members to project', 'add_project_member', 1],
  ['invite user to group', 'add_group_member', 1],
  ['fork the project', 'fork_project', 1],
  ['list projects', 'read_project', 1],
  ['read vulnerabilities', 'read_vulnerability', 1],
  ['read terraform state', 'read_terraform_state', 1],
  ['add ssh key', 'create_ssh_key', 1],
  ['log time spent', 'create_timelog', 1],
  ['read audit log', 'read_audit_events', 3],
  ['create a deploy token', 'manage_deploy_token', 3],
  ['rotate my token', 'rotate_personal_access_token', 3],
  ['check build status', 'read_commit_status', 3],
  // typos
  ['merge requst', 'merge_merge_request', 3],
  ['open merge requst', 'create_merge_request', 1],
  ['pipline', 'create_pipeline', 3],
  ['run the pipline', 'create_pipeline', 1],
  ['relase notes', 'read_release', 3],
  ['comit code', 'push_code', 1],
  ['publsh packages', 'publish_package', 1],
]

t.test('realistic queries find the permission they mean', async (t) => {
  t.ok(QUERIES.length >= 25)
  for (const [query, expected, within] of QUERIES) {
    const found = names(query)
    const rank = found.indexOf(expected) + 1
    t.ok(rank >= 1 && rank <= within, `"${query}" → ${expected} ${within === 1 ? 'first' : 'in the top 3'} (got ${found.slice(0, 3).join(', ') || 'nothing'})`)
  }
})

t.test('a substring search finds none of the harder ones', async (t) => {
  for (const query of ['open merge requests', 'merge requst', 'pipline', 'clone the repo and open merge requests', 'read CI job logs', 'comit code']) {
    const substring = searchPermissions({ search: query }).map((p) => p.name)
    t.notOk(['create_merge_request', 'merge_merge_request', 'create_pipeline', 'read_job_log', 'push_code'].includes(substring[0]), `substring search misses "${query}"`)
  }
})

t.test('several intents: the best match of every clause comes first', async (t) => {
  const outcome = suggest('clone the repo and open merge requests')
  t.same(outcome.clauses.map((c) => [c.text, c.best]), [['clone the repo', 'read_code'], ['open merge requests', 'create_merge_request']])
  t.same(outcome.suggestions.slice(0, 2).map((s) => s.permission.name), ['read_code', 'create_merge_request'])
  t.same(outcome.suggestions[0].covers, ['clone the repo'])
  t.same(outcome.suggestions[1].covers, ['open merge requests'])

  const three = names('clone repos, run pipelines; then publish packages')
  t.same(three.slice(0, 3), ['read_code', 'create_pipeline', 'publish_package'])

  // A clause of verbs only borrows its neighbour's object: "read" means "read code" here.
  const readWrite = suggest('read and write code')
  t.same(readWrite.clauses.map((c) => c.best), ['read_code', 'push_code'])
  t.same(readWrite.clauses[0].words, ['read', 'code'])
})

t.test('read versus write', async (t) => {
  const read = names('read the code')
  t.ok(read.indexOf('read_code') < read.indexOf('push_code'), 'reading prefers Code: Read')
  const push = names('push code')
  t.equal(push[0], 'push_code')
  t.ok(push.indexOf('read_code') === -1 || push.indexOf('read_code') > push.indexOf('push_code'))
  t.equal(names('view merge requests')[0], 'read_merge_request')
  t.equal(names('edit merge requests')[0], 'update_merge_request')
  t.equal(names('download packages')[0], 'read_package')
  t.equal(names('upload packages')[0], 'publish_package')
})

t.test('every result says why it matched', async (t) => {
  const [first] = suggest('open merge requests').suggestions
  t.equal(first.permission.name, 'create_merge_request')
  t.ok(first.score > 0)
  t.equal(first.relevance, 1)
  t.match(first.matched, [{ word: String, term: String, field: String, how: String }])
  t.ok(first.matched.some((m) => m.word === 'open' && m.term === 'create' && m.how === 'verb' && m.field === 'name'), 'open → create, a verb')
  t.ok(first.matched.some((m) => m.word === 'requests' && m.term === 'request' && m.how === 'exact'), 'plural')

  const typo = suggest('merge requst').suggestions[0]
  t.ok(typo.matched.some((m) => m.word === 'requst' && m.term === 'request' && m.how === 'fuzzy'), 'a typo is fuzzy')

  const mr = suggest('merge MRs').suggestions[0]
  t.ok(mr.matched.some((m) => m.word === 'mrs' && m.how === 'synonym'), '"MR" is shorthand for merge request')

  const cloning = suggest('cloned repositories').suggestions[0]
  t.equal(cloning.permission.name, 'read_code')
  t.ok(cloning.matched.some((m) => m.word === 'cloned' && m.term === 'clone' && m.how === 'stem'), 'cloned → clone is a stem match')

  const phrase = suggest('read job logs').suggestions[0]
  t.ok(phrase.matched.some((m) => m.word === 'job logs' && m.term === 'job log'), 'adjacent words found side by side')
})

t.test('a typo counts for less than the word', async (t) => {
  const exact = suggest('pipeline').suggestions[0].score
  const typo = suggest('pipline').suggestions[0].score
  t.ok(typo < exact, `${typo} < ${exact}`)
  t.same(names('isu'), [], 'no typo tolerance below four letters ("isu" is not "issue")')
})

t.test('boundary and limit', async (t) => {
  const user = suggest('rotate my token', { boundary: 'user' })
  t.equal(user.suggestions[0].permission.name, 'rotate_personal_access_token')
  t.ok(user.suggestions.every((s) => s.permission.boundaries.includes('user')))
  t.equal(names('merge request', { limit: 3 }).length, 3)
  const none = suggest('run the pipeline', { boundary: 'instance' })
  t.ok(none.suggestions.every((s) => s.permission.boundaries.includes('instance')))
})

t.test('nothing to suggest is an empty list with a hint', async (t) => {
  const gibberish = suggest('zzqqxx')
  t.same(gibberish.suggestions, [])
  t.same(gibberish.clauses[0].unmatched, ['zzqqxx'])
  t.match(gibberish.hint, /zzqqxx/)
  const common = suggest('I want to do the thing')
  t.same(common.suggestions, [])
  t.match(common.hint, /common words/)
})

t.test('text handling', async (t) => {
  t.same(splitClauses('clone the repo and open MRs, then tag; release'), ['clone the repo', 'open MRs', 'tag', 'release'])
  t.equal(stem('requests'), stem('request'))
  t.equal(stem('cloning'), stem('clone'))
  t.equal(stem('cloned'), stem('clone'))
  t.equal(stem('branches'), stem('branch'))
  t.equal(stem('policies'), stem('policy'))
  t.equal(stem('deployments'), stem('deploy'))
  t.equal(stem('tagged'), stem('tag'))
  t.equal(stem('status'), 'status')
  t.equal(stem('access'), 'access')
  t.not(stem('comment'), stem('com'))
})
