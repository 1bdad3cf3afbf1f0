// Values for one schema of the OpenAPI document: mostly plausible (enums, examples, ids and names
// that exist in the fuzz world, dates near today, boundaries of each range), and at a rate chosen
// per request, hostile ones: poisoned text, huge numbers, calendar traps, wrong types, unknown and
// prototype-polluting keys.
import fc from 'fast-check'
import { CATEGORIES, LEGACY_SCOPES, PERMISSIONS } from '../../src/domain/permissions/index.js'
import { inDays } from '../helpers/fixtures.js'
import { deref, type OpenApiDocument, type Schema, typesOf } from './openapi.js'
import {
  CALENDAR_TRAPS, CIDR_TRAPS, CIDR_VALUES, dataObject, hostileNumber, hostileString, IP_TRAPS, IP_VALUES, TIMESTAMP_TRAPS, type Value, wrongType,
} from './values.js'
import type { Pools } from './world.js'

/** Out of 100: how often a value is replaced by a hostile one (0 = every value plausible). */
export type Hostility = number

const from = <T>(pool: T[]): fc.Arbitrary<T> => fc.nat().map((i) => pool[i % pool.length])
const permissionNames = PERMISSIONS.map((p) => p.name)
// Mostly project/group permissions: most resources asked about are projects and groups.
const COMMON_PERMISSIONS = ['read_code', 'push_code', 'read_merge_request', 'create_merge_request', 'run_job', 'read_package', 'read_code', 'read_user', 'read_audit_events']
const someDates = () => fc.oneof(fc.integer({ min: -10, max: 420 }).map((n) => inDays(n)), fc.constantFrom('2024-02-29', '9999-12-31', '0001-01-01'))

// Array items are named after their array with a `[]` suffix; scalar hints serve both.
const base = (name: string) => name.replace(/\[\]$/, '')

/** Plausible strings for fields the world knows about, by property name. */
function namedString(name: string, pools: Pools): fc.Arbitrary<string> | undefined {
  switch (base(name)) {
    case 'token': return fc.oneof({ weight: 4, arbitrary: from(pools.secrets) }, { weight: 1, arbitrary: fc.constantFrom('fgpat-abc', 'lgpat-', 'glpat-xxxxxxxxxxxxxxxxxxxx') })
    case 'permission':
    case 'permissions':
    case 'blocked_permissions': return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...COMMON_PERMISSIONS) },
      { weight: 2, arbitrary: fc.constantFrom(...permissionNames) },
      { weight: 1, arbitrary: fc.constantFrom('read_cod', 'READ_CODE', 'read_code ', 'read_code,read_merge_request') },
    )
    case 'scopes': return fc.constantFrom(...LEGACY_SCOPES.map((s) => s.name), 'sudoer')
    case 'category': return fc.constantFrom(...CATEGORIES.map((c) => c.id), 'nope')
    case 'search': return fc.constantFrom('ci', 'fuzz', 'clone', 'MR', '%', '_', '\\', 'read', '')
    case 'action': return fc.constantFrom('token.', 'token.created', 'token.revoked', 'policy.', 'template.created', '.', '%')
    case 'actor_type': return fc.constantFrom('user', 'token', 'service', 'system')
    case 'target_type': return fc.constantFrom('personal_access_token', 'group', 'template')
    case 'actor_id':
    case 'target_id': return fc.oneof(from(pools.userIds).map(String), from(pools.tokenIds).map(String))
    case 'path': return from(pools.paths)
    case 'username': return from(pools.usernames)
    case 'email': return fc.constantFrom('x@example.com', 'alice@example.com', 'not-an-email', 'a@b')
    case 'name': return fc.constantFrom('ci', 'deploy bot', 'Ünïcödé ✓', 'fuzz', '  padded  ', 'x'.repeat(255))
    case 'description': return fc.constantFrom('for CI', '', 'multi\nline')
    case 'ip': return fc.oneof(fc.constantFrom(...IP_VALUES), fc.constantFrom(...IP_TRAPS))
    case 'allowed_ip_ranges': return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...CIDR_VALUES) }, { weight: 1, arbitrary: fc.constantFrom(...CIDR_TRAPS) })
    case 'token_prefix': return fc.constantFrom('acme-', 'fgpat-', 'lgpat-', 'X-', 'ab-', 'toolongprefix1234-')
    case 'token_type_hint': return fc.constantFrom('access_token', 'refresh_token')
    default: return undefined
  }
}

/** Known-good values for structured fields, so that plausible requests get past the services' checks. */
function namedStructure(name: string, pools: Pools): fc.Arbitrary<Value> | undefined {
  switch (name) {
    case 'granular_scopes': return fc.constantFrom<Value>(
      [{ access: 'selected_memberships', project_ids: [102], permissions: ['read_code'] }],
      [{ access: 'selected_memberships', group_ids: [100], permissions: ['read_code', 'read_merge_request'] }],
      [{ access: 'user', permissions: ['read_user', 'read_personal_access_token'] }],
      [{ access: 'personal_projects', permissions: ['read_code'] }],
      [{ access: 'all_memberships', permissions: ['read_code'] }, { access: 'instance', permissions: ['read_audit_events'] }],
      [{ access: 'selected_memberships', group_ids: [200], permissions: ['read_code', 'run_job'] }],
    )
    case 'expires_at': return fc.integer({ min: 1, max: 200 }).map((n) => inDays(n))
    case 'resource': return fc.oneof(
      fc.constantFrom<Value>({ type: 'project', id: 102 }, { type: 'group', id: 100 }, { type: 'user', id: 2 }, { type: 'instance' }, { type: 'project', id: 201 }),
      fc.tuple(fc.constantFrom('project', 'group'), from(pools.paths)).map(([type, path]) => ({ type, path })),
      from(pools.usernames).map((path) => ({ type: 'user', path })),
    )
    case 'permission': return fc.constantFrom(...COMMON_PERMISSIONS)
    // The request form of /authorize: GitLab requests a backend forwards (and one no route has).
    case 'request': return fc.constantFrom<Value>(
      { method: 'GET', path: '/api/v4/projects/102/repository/files/README.md?ref=main' },
      { method: 'POST', path: '/api/v4/projects/acme%2Fplatform%2Fapi/merge_requests' },
      { method: 'GET', path: '/api/v4/groups/200/merge_requests' },
      { method: 'GET', path: '/api/v4/user' },
      { method: 'GET', path: '/api/v4/projects/102/not_a_route' },
    )
    case 'url': return fc.constantFrom<Value>('http://127.0.0.1:9/fuzz-hook', 'https://hooks.example.test/x', 'http://169.254.169.254/latest')
    case 'events': return fc.constantFrom<Value>(['token.created', 'token.revoked'], ['token.rotated'], ['token.nope'])
    default: return undefined
  }
}

/** Plausible integers for id-like fields, by property name. */
function namedInteger(field: string, pools: Pools): fc.Arbitrary<number> | undefined {
  const name = base(field)
  if (/^(user_id|owner_id|actor_id)$/.test(name)) return from(pools.userIds)
  if (name === 'group_id') return from(pools.groupIds)
  if (/^(namespace_id|parent_id|group_ids|project_ids)$/.test(name)) return from(pools.namespaceIds)
  if (name === 'token_id' || name === 'before_id') return fc.oneof(from(pools.tokenIds), fc.constantFrom(1, 5, 1000))
  if (name === 'template_id') return from(pools.templateIds)
  if (name === 'webhook_id') return from([...pools.instanceWebhookIds, ...pools.groupWebhookIds])
  if (name === 'instance_webhook_id') return fc.oneof({ weight: 4, arbitrary: from(pools.instanceWebhookIds) }, { weight: 1, arbitrary: from(pools.groupWebhookIds) })
  if (name === 'group_webhook_id') return fc.oneof({ weight: 4, arbitrary: from(pools.groupWebhookIds) }, { weight: 1, arbitrary: from(pools.instanceWebhookIds) })
  if (name === 'service_account_token_id') return fc.oneof({ weight: 4, arbitrary: from(pools.serviceAccountTokenIds) }, { weight: 1, arbitrary: from(pools.tokenIds) })
  if (name === 'service_account_id') return fc.oneof({ weight: 4, arbitrary: from(pools.serviceAccountIds) }, { weight: 1, arbitrary: from(pools.userIds) })
  if (name === 'service_account_group_id' || name === 'webhook_group_id') return fc.oneof({ weight: 4, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: from(pools.groupIds) })
  if (name === 'delivery_id') return fc.constantFrom(1, 2, 999)
  if (name === 'request_id') return from(pools.requestIds)
  if (name === 'page') return fc.constantFrom(1, 1, 2, 3, 50, 100_000)
  if (name === 'per_page') return fc.constantFrom(1, 2, 20, 100)
  return undefined
}

// Fields a request names one of (the services refuse both, or neither): keep one, as a client that
// read the docs would; when there is none, the first default.
const EXCLUSIVE: { group: string[]; otherwise?: [string, Value] }[] = [
  { group: ['permission', 'permissions'], otherwise: ['permission', 'read_code'] },
  { group: ['scopes', 'granular_scopes', 'template_id'] },
  { group: ['id', 'path'] },
]

function exclusive(entries: [string, Value][], picks: number[], properties: string[]): [string, Value][] {
  let out = entries
  EXCLUSIVE.forEach(({ group, otherwise }, i) => {
    if (!group.every((k) => properties.includes(k))) return
    const present = out.filter(([k]) => group.includes(k)).map(([k]) => k)
    if (present.length === 0 && otherwise) out = [...out, otherwise]
    if (present.length < 2) return
    const keep = present[picks[i] % present.length]
    out = out.filter(([k]) => !group.includes(k) || k === keep)
  })
  // The request form of /authorize names no permission: a client that read the docs sends one form.
  if (properties.includes('request')) {
    out = picks[0] % 2 === 0 ? out.filter(([k]) => k !== 'request') : out.filter(([k]) => !['permission', 'permissions', 'resource'].includes(k))
  }
  if (!out.some(([k]) => k === 'template_id')) out = out.filter(([k]) => k !== 'template_targets')
  return out
}

export interface Generator {
  value: (schema: Schema, name: string, hostility: Hostility) => fc.Arbitrary<Value>
}

export function generator(doc: OpenApiDocument, pools: Pools): Generator {
  const hostileFor = (s: Schema, name: string): fc.Arbitrary<Value> => {
    const types = typesOf(s)
    const specific: fc.Arbitrary<Value>[] = [wrongType]
    if (types.includes('string')) specific.push(hostileString)
    if (s.format === 'date') specific.push(fc.constantFrom(...CALENDAR_TRAPS))
    if (s.format === 'timestamp' || /_(after|before)$/.test(name)) specific.push(fc.constantFrom(...TIMESTAMP_TRAPS))
    if (s.format === 'ip') specific.push(fc.constantFrom(...IP_TRAPS))
    if (types.includes('integer') || types.includes('number')) specific.push(hostileNumber, hostileNumber)
    if (s.maxLength !== undefined) specific.push(fc.constant('y'.repeat(s.maxLength + 1)))
    if (s.maximum !== undefined) specific.push(fc.constantFrom(s.maximum + 1, s.maximum * 10))
    return fc.oneof(...specific)
  }

  function plausible(s: Schema, name: string, hostility: Hostility, depth: number): fc.Arbitrary<Value> {
    if (s.const !== undefined) return fc.constant(s.const as Value)
    if (s.enum !== undefined) return fc.constantFrom(...(s.enum as Value[]))
    // What the document shows as an example or default is what a client copies first.
    const shown = [...(Array.isArray(s.examples) ? (s.examples as Value[]) : []), ...(s.default !== undefined ? [s.default as Value] : [])]
    if (shown.length > 0) return fc.oneof(fc.constantFrom(...shown), plausible({ ...s, examples: undefined, default: undefined }, name, hostility, depth))
    const branches = s.anyOf ?? s.oneOf
    if (branches) return fc.oneof(...branches.map((b) => value(b, name, hostility, depth + 1)))
    const types = typesOf(s)
    if (types.length > 1) return fc.oneof(...types.map((type) => plausible({ ...s, type }, name, hostility, depth)))
    switch (types[0]) {
      case 'null': return fc.constant(null)
      case 'boolean': return fc.boolean()
      case 'integer':
      case 'number': {
        const named = namedInteger(name, pools)
        const min = s.minimum ?? -1000
        const max = Math.min(s.maximum ?? 1000, min + 1_000_000)
        const ranged = fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max))
        return named ? fc.oneof({ weight: 4, arbitrary: named }, { weight: 1, arbitrary: ranged }) : ranged
      }
      case 'string': {
        if (s.format === 'date') return someDates()
        if (s.format === 'timestamp') return fc.oneof(someDates(), fc.integer({ min: -400, max: 10 }).map((n) => new Date(Date.now() + n * 86_400_000).toISOString()))
        if (s.format === 'ip') return fc.constantFrom(...IP_VALUES)
        const named = namedString(name, pools)
        if (s.pattern) {
          const pattern = new RegExp(s.pattern)
          const matching = fc.stringMatching(pattern).map((x) => x.slice(0, s.maxLength ?? 255)).filter((x) => x.length >= (s.minLength ?? 0))
          // A directory segment from a known full path ("acme/platform" → "platform"), so PUTs hit existing rows.
          return named ? fc.oneof(named.map((x) => (pattern.test(x) ? x : x.split('/').pop() ?? x)), matching) : matching
        }
        if (named) return named
        return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) })
      }
      case 'array': {
        const item = s.items ? value(s.items, `${name}[]`, hostility, depth + 1) : wrongType
        return fc.array(item, { minLength: s.minItems ?? 0, maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 4, 4)) })
      }
      case 'object': return object(s, hostility, depth)
      default: return wrongType
    }
  }

  function object(s: Schema, hostility: Hostility, depth: number): fc.Arbitrary<Value> {
    const required = new Set(s.required ?? [])
    const fields = Object.entries(s.properties ?? {}).map(([key, sub]) => {
      const v = value(sub, key, hostility, depth + 1)
      // Required fields go missing only when the request is meant to be hostile.
      const keep = required.has(key) ? fc.integer({ min: 0, max: 99 }).map((n) => n >= hostility / 4) : fc.boolean()
      return fc.tuple(fc.constant(key), v, keep)
    })
    const extras = hostility > 0
      ? fc.option(fc.constantFrom<[string, Value]>(['colour', 'blue'], ['__proto__', { is_admin: true }], ['constructor', { prototype: { x: 1 } }], ['', 1], ['\u0000', 'x']), { freq: Math.max(2, Math.round(100 / hostility)) })
      : fc.constant(null)
    // Which member of each group of mutually exclusive fields a plausible request keeps.
    const pick = fc.array(fc.nat(), { minLength: EXCLUSIVE.length, maxLength: EXCLUSIVE.length })
    return fc.tuple(fc.tuple(...fields), extras, pick).map(([entries, extra, picks]) => {
      let kept: [string, Value][] = entries.filter(([, , keep]) => keep).map(([k, v]) => [k, v])
      if (hostility < 40) kept = exclusive(kept, picks, Object.keys(s.properties ?? {}))
      if (extra) kept.push(extra)
      return dataObject(kept)
    })
  }

  function value(schema: Schema, name: string, hostility: Hostility, depth = 0): fc.Arbitrary<Value> {
    const s = deref(doc, schema)
    const known = namedStructure(name, pools)
    const good = known ? fc.oneof({ weight: 3, arbitrary: known }, { weight: 1, arbitrary: plausible(s, name, hostility, depth) }) : plausible(s, name, hostility, depth)
    if (hostility === 0 || depth > 8) return good
    return fc.oneof({ weight: 100 - hostility, arbitrary: good }, { weight: hostility, arbitrary: hostileFor(s, name) })
  }

  return { value: (schema, name, hostility) => value(schema, name, hostility) }
}
