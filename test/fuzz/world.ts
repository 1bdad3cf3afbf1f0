// The data the fuzzed requests run against: the test directory plus a blocked user, tokens of every
// kind and state, templates and group policies, so that ids and names in generated requests often
// hit real rows. The fuzz revokes, rotates, blocks and moves things, so `refresh` puts the callers
// and the directory back every few hundred requests, through the API (caches stay coherent).
import type { TestContext } from '../helpers/app.js'
import { ACME, ADMIN, ALICE, API_PROJECT, BOB, CAROL, fixtureDirectory, inDays, OPENSOURCE, PLATFORM } from '../helpers/fixtures.js'

export const CALLERS = ['admin', 'user', 'owner', 'service', 'pat', 'legacy_pat', 'none', 'garbage', 'unsigned_jwt', 'basic'] as const
export type CallerName = (typeof CALLERS)[number]

const MALLORY = 5 // blocked
const directory = {
  ...fixtureDirectory,
  users: [...fixtureDirectory.users, { id: MALLORY, username: 'mallory', name: 'Mallory', email: 'mallory@example.com', state: 'blocked' }],
  memberships: [...fixtureDirectory.memberships, { user_id: CAROL, namespace_id: PLATFORM, access_level: 10, expires_at: inDays(30) }],
}

/** id → lower-case full path of each test namespace. */
const FIXTURE_PATHS = new Map<number, string>()
for (const n of directory.namespaces) {
  const parent = 'parent_id' in n && n.parent_id !== undefined ? FIXTURE_PATHS.get(n.parent_id) : undefined
  FIXTURE_PATHS.set(n.id, (parent ? `${parent}/${n.path}` : n.path).toLowerCase())
}

const INSTANCE_BASELINE = {
  require_expiry: true, max_lifetime_days: 365, default_lifetime_days: null, allow_legacy_tokens: true, legacy_tokens_blocked_from: null,
  blocked_permissions: [], allowed_ip_ranges: [], auto_revoke_unused_days: null, token_prefix: null,
}
// Whole policies: a PUT changes only the fields it names, and the fuzz names any of them.
const POLICY_DEFAULTS = {
  require_expiry: true, max_lifetime_days: null, default_lifetime_days: null, allow_legacy_tokens: true, enforce_fine_grained_from: null,
  blocked_permissions: [], allowed_ip_ranges: [], auto_revoke_unused_days: null,
}
const OPENSOURCE_BASELINE = { ...POLICY_DEFAULTS, auto_revoke_unused_days: 90 }
const GROUP_BASELINE = { ...POLICY_DEFAULTS, blocked_permissions: ['delete_project'], allowed_ip_ranges: ['10.0.0.0/8', '127.0.0.1/32', '::1/128'], max_lifetime_days: 200 }

const TOKEN_ADMIN = ['read_personal_access_token', 'create_personal_access_token', 'rotate_personal_access_token', 'revoke_personal_access_token']

/** Values generated requests draw from; arrays filled in place, so generators built once see new rows. */
export interface Pools {
  userIds: number[]
  namespaceIds: number[]
  /** Groups, top-level ones (where policies live) most often. */
  groupIds: number[]
  tokenIds: number[]
  templateIds: number[]
  instanceWebhookIds: number[]
  groupWebhookIds: number[]
  serviceAccountIds: number[]
  serviceAccountTokenIds: number[]
  requestIds: number[]
  secrets: string[]
  paths: string[]
  usernames: string[]
}

export interface World {
  pools: Pools
  headers: (caller: CallerName) => Record<string, string>
  refresh: () => Promise<string[]>
}

export async function createWorld(ctx: TestContext): Promise<World> {
  const jwt = {
    admin: await ctx.jwt.user(ADMIN),
    user: await ctx.jwt.user(ALICE),
    owner: await ctx.jwt.user(BOB),
    service: await ctx.jwt.service('fuzz', ['authorize', 'directory:write', 'tokens:admin', 'leaks:report']),
  }
  const pat = { fine: '', legacy: '' }
  const pools: Pools = {
    userIds: [ADMIN, ALICE, BOB, CAROL, MALLORY, 99],
    namespaceIds: [...directory.namespaces.map((n) => n.id), 4242],
    groupIds: [ACME, ACME, OPENSOURCE, OPENSOURCE, PLATFORM, 104, 4242],
    tokenIds: [],
    templateIds: [1, 2, 3, 4, 5, 6, 999],
    instanceWebhookIds: [999],
    groupWebhookIds: [998],
    serviceAccountIds: [ALICE],
    serviceAccountTokenIds: [1000],
    requestIds: [999],
    secrets: [],
    paths: ['acme', 'acme/platform', 'acme/platform/api', 'acme/website', 'acme/platform/infra/terraform', 'opensource', 'opensource/cli', 'alice', 'alice/dotfiles', 'bob', 'nope/nothing'],
    usernames: [...directory.users.map((u) => u.username), 'nobody'],
  }

  const headers = (caller: CallerName): Record<string, string> => {
    switch (caller) {
      case 'admin': return { authorization: `Bearer ${jwt.admin}` }
      case 'user': return { authorization: `Bearer ${jwt.user}` }
      case 'owner': return { authorization: `Bearer ${jwt.owner}` }
      case 'service': return { authorization: `Bearer ${jwt.service}` }
      case 'pat': return { 'private-token': pat.fine }
      case 'legacy_pat': return { 'private-token': pat.legacy }
      case 'none': return {}
      case 'garbage': return { authorization: 'Bearer fgpat-notarealtokenatall000000000000000000000000000', 'private-token': 'lgpat-\u00ff%00' }
      // alg "none", claiming to be the admin with every scope
      case 'unsigned_jwt': return { authorization: 'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwic2NvcGUiOiJhdXRob3JpemUgZGlyZWN0b3J5OndyaXRlIHRva2VuczphZG1pbiIsImV4cCI6OTk5OTk5OTk5OX0.' }
      case 'basic': return { authorization: 'Basic YWRtaW46YWRtaW4=' }
    }
  }

  async function call(problems: string[], what: string, method: 'POST' | 'PUT' | 'DELETE', url: string, caller: CallerName, payload?: unknown) {
    const res = await ctx.app.inject({ method, url, headers: headers(caller), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
    if (res.statusCode >= 300) problems.push(`${what}: ${res.statusCode} ${res.body.slice(0, 300)}`)
    return res.statusCode < 300 && res.body ? (res.json() as { id?: number; token?: string }) : undefined
  }

  async function token(problems: string[], userId: number, body: Record<string, unknown>) {
    const made = await call(problems, `token for ${userId}`, 'POST', `/api/v4/users/${userId}/personal_access_tokens`, 'service', { name: 'fuzz', expires_at: inDays(60), ...body })
    if (made?.id !== undefined) pools.tokenIds.push(made.id)
    if (made?.token !== undefined) pools.secrets.push(made.token)
    return made
  }

  /** The test directory as it was: users, namespaces, and the fixture users' memberships and nothing more. */
  async function restoreDirectory(problems: string[]) {
    // A fuzzed PUT may have given a fixture's username to another row, or swapped two of them: move
    // those aside first, or the bulk load would meet them on the unique index.
    const names = new Map(directory.users.map((u) => [u.id, u.username.toLowerCase()]))
    const holders = await ctx.app.db.selectFrom('users').select(['id', 'username']).execute()
    for (const u of holders) {
      const misplaced = [...names.values()].includes(u.username.toLowerCase()) && names.get(u.id) !== u.username.toLowerCase()
      if (misplaced) await call(problems, `move user ${u.id}`, 'PUT', `/api/v4/directory/users/${u.id}`, 'service', { username: `fuzz-${u.id}`, name: 'moved', email: `fuzz-${u.id}@example.com` })
    }
    const spaces = await ctx.app.db.selectFrom('namespaces').select(['id', 'kind', 'full_path', 'parent_id', 'owner_id', 'visibility']).execute()
    for (const n of spaces) {
      const own = FIXTURE_PATHS.get(n.id)
      const misplaced = [...FIXTURE_PATHS.values()].includes(n.full_path.toLowerCase()) && own !== n.full_path.toLowerCase()
      if (misplaced) {
        await call(problems, `move namespace ${n.id}`, 'PUT', `/api/v4/directory/namespaces/${n.id}`, 'service', {
          kind: n.kind, path: `fuzz-${n.id}`, parent_id: n.parent_id === null ? null : Number(n.parent_id), owner_id: n.owner_id === null ? null : Number(n.owner_id), visibility: n.visibility,
        })
      }
    }
    await call(problems, 'directory', 'POST', '/api/v4/directory/bulk', 'service', directory)
    // Memberships the fuzz added put the callers under other groups' policies (no legacy tokens, short lifetimes).
    const wanted = new Set(directory.memberships.map((m) => `${m.user_id}:${m.namespace_id}`))
    const held = await ctx.app.db.selectFrom('memberships').select(['user_id', 'namespace_id']).where('user_id', 'in', [...names.keys()]).execute()
    for (const m of held.filter((x) => !wanted.has(`${x.user_id}:${x.namespace_id}`))) {
      await call(problems, `membership ${m.user_id}@${m.namespace_id}`, 'DELETE', `/api/v4/directory/namespaces/${m.namespace_id}/members/${m.user_id}`, 'service')
    }
  }

  /**
   * Webhooks of the instance and of a group, a service account of that group with a token, and
   * pending approval requests there, so that their routes meet real rows (made again on each
   * refresh: the fuzz deletes, rotates and decides them).
   */
  async function organisationRows(problems: string[]) {
    for (const [url, caller, pool] of [['/api/v4/admin/personal_access_token_webhooks', 'admin', pools.instanceWebhookIds], [`/api/v4/groups/${OPENSOURCE}/personal_access_token_webhooks`, 'owner', pools.groupWebhookIds]] as const) {
      const hook = await call(problems, `webhook ${url}`, 'POST', url, caller, { url: 'http://127.0.0.1:9/fuzz-hook', events: ['token.created', 'token.revoked'] })
      if (hook?.id !== undefined) pool.push(hook.id, hook.id, hook.id)
    }
    const account = await call(problems, 'service account', 'POST', `/api/v4/groups/${OPENSOURCE}/service_accounts`, 'owner', { name: 'fuzz bot' })
    if (account?.id !== undefined) {
      pools.serviceAccountIds.push(account.id, account.id, account.id)
      const made = await call(problems, 'service account token', 'POST', `/api/v4/groups/${OPENSOURCE}/service_accounts/${account.id}/personal_access_tokens`, 'owner', {
        name: 'fuzz bot token', expires_at: inDays(30), granular_scopes: [{ access: 'selected_memberships', group_ids: [OPENSOURCE], permissions: ['read_code'] }],
      })
      if (made?.id !== undefined) pools.serviceAccountTokenIds.push(made.id, made.id, made.id)
    }
    await call(problems, 'require approval', 'PUT', `/api/v4/groups/${OPENSOURCE}/personal_access_token_policy`, 'owner', { require_approval: true })
    for (let i = 0; i < 4; i++) await token(problems, BOB, { granular_scopes: [{ access: 'selected_memberships', group_ids: [OPENSOURCE], permissions: ['read_code'] }] })
    const requests = await ctx.app.inject({ method: 'GET', url: `/api/v4/groups/${OPENSOURCE}/personal_access_token_requests?state=pending&per_page=100`, headers: headers('owner') })
    if (requests.statusCode === 200) pools.requestIds.push(...(requests.json() as { id: number }[]).map((r) => r.id))
    else problems.push(`approval requests: ${requests.statusCode} ${requests.body.slice(0, 300)}`)
  }

  /** Undo what the fuzz changed that matters to reaching code: the directory, policies, callers' tokens. */
  async function refresh(): Promise<string[]> {
    const problems: string[] = []
    await restoreDirectory(problems)
    await call(problems, 'instance settings', 'PUT', '/api/v4/application/settings/personal_access_tokens', 'admin', INSTANCE_BASELINE)
    await call(problems, 'acme policy', 'PUT', `/api/v4/groups/${ACME}/personal_access_token_policy`, 'admin', GROUP_BASELINE)
    await call(problems, 'opensource policy', 'PUT', `/api/v4/groups/${OPENSOURCE}/personal_access_token_policy`, 'admin', OPENSOURCE_BASELINE)
    pools.secrets.length = 0
    const fine = await token(problems, ALICE, { granular_scopes: [
      { access: 'user', permissions: TOKEN_ADMIN },
      { access: 'selected_memberships', project_ids: [API_PROJECT], group_ids: [ACME], permissions: ['read_code', 'push_code', 'read_merge_request'] },
    ] })
    const legacy = await token(problems, BOB, { scopes: ['api'] })
    pat.fine = fine?.token ?? ''
    pat.legacy = legacy?.token ?? ''
    await token(problems, ADMIN, { granular_scopes: [{ access: 'instance', permissions: ['read_audit_events'] }, { access: 'all_memberships', permissions: ['read_code'] }] })
    await token(problems, CAROL, { granular_scopes: [{ access: 'personal_projects', permissions: ['read_code'] }], expires_at: inDays(2) })
    await token(problems, BOB, { granular_scopes: [{ access: 'selected_memberships', group_ids: [OPENSOURCE], permissions: ['read_code', 'run_job'] }] })
    await organisationRows(problems)
    for (const pool of [pools.instanceWebhookIds, pools.groupWebhookIds, pools.serviceAccountIds, pools.serviceAccountTokenIds, pools.requestIds]) if (pool.length > 30) pool.splice(1, pool.length - 30)
    // Keep the pool of ids bounded: the most recent ones, plus a few that never exist.
    if (pools.tokenIds.length > 200) pools.tokenIds.splice(0, pools.tokenIds.length - 200)
    return problems
  }

  const problems = await refresh()
  const template = await call(problems, 'template', 'POST', '/api/v4/personal_access_token_templates', 'user', {
    name: 'fuzz template', granular_scopes: [{ access: 'selected_memberships', permissions: ['read_code'] }], default_lifetime_days: 30,
  })
  if (template?.id !== undefined) pools.templateIds.push(template.id, template.id, template.id)
  const groupTemplate = await call(problems, 'group template', 'POST', '/api/v4/personal_access_token_templates', 'owner', {
    name: 'fuzz group template', owner_type: 'group', group_id: OPENSOURCE, granular_scopes: [{ access: 'selected_memberships', group_ids: [OPENSOURCE], permissions: ['read_code'] }],
  })
  if (groupTemplate?.id !== undefined) pools.templateIds.push(groupTemplate.id, groupTemplate.id)
  // A revoked and a rotated token, so those states are there to be asked about.
  const revoked = await token(problems, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  if (revoked?.id !== undefined) await ctx.app.inject({ method: 'DELETE', url: `/api/v4/personal_access_tokens/${revoked.id}`, headers: headers('admin') })
  const rotated = await token(problems, ALICE, { granular_scopes: [{ access: 'user', permissions: ['read_user'] }] })
  if (rotated?.id !== undefined) {
    const res = await ctx.app.inject({ method: 'POST', url: `/api/v4/personal_access_tokens/${rotated.id}/rotate`, headers: headers('admin') })
    if (res.statusCode === 200) pools.tokenIds.push((res.json() as { id: number }).id)
  }
  if (problems.length > 0) throw new Error(`seeding the fuzz world failed:\n${problems.join('\n')}`)
  return { pools, headers, refresh }
}
