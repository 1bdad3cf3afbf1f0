// GitLab REST v4 request → the permission and resource it needs, from the route table in the
// permission catalog (each permission's `routes`). A GitLab-style backend forwards what it received
// (`GET /api/v4/projects/acme%2Fapi/merge_requests?state=opened`) instead of mapping it itself.
//
// Pure and compiled once: the table goes into Fastify's own router (find-my-way), which gives
// static-before-parametric precedence and percent-decoded parameters; this file adds what a
// router does not: the checks a request path must pass before it is trusted (encoding, dot
// segments, length), HEAD as GET, and the resource each route names.
import FindMyWay from 'find-my-way'
import { expandPermissions, type HttpMethod, PERMISSIONS, type Permission, type Route } from './permissions/index.js'

/** The prefix every forwarded path carries, as GitLab serves its REST API. */
export const API_PREFIX = '/api/v4'
/** Longer paths (before the query string) are refused: no GitLab route needs more. */
export const MAX_REQUEST_PATH = 2048

export const ROUTE_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']

/** What a route says the request is about. `self` is the token's own owner (`/user/…`). */
export type RouteResource =
  | { type: 'project' | 'group' | 'user'; id: number }
  | { type: 'project' | 'group' | 'user'; path: string }
  | { type: 'user'; self: true }
  | { type: 'instance' }

export interface RouteMatch {
  permission: Permission
  resource: RouteResource
  /** The route's permission first, then every bundle that includes it (shared, frozen). */
  accepted: readonly string[]
  /** `GET /projects/:id/jobs/:job_id/trace`: the table entry that matched. */
  route: string
}

export type RouteProblem =
  | { code: 'invalid_request_path'; detail: string }
  | { code: 'unknown_route'; detail: string }
  | { code: 'unsupported_method'; detail: string; methods: HttpMethod[] }

export type RouteResult = { ok: true; match: RouteMatch } | ({ ok: false } & RouteProblem)

type ResourceKind = 'project' | 'group' | 'user' | 'self' | 'instance'

interface Store {
  permission: Permission
  kind: ResourceKind
  /** The path parameter that names the project, group or user. */
  param: string | undefined
  accepted: readonly string[]
  route: string
  instance: RouteResource | undefined
}

const COLLECTIONS: Record<string, ResourceKind> = { projects: 'project', groups: 'group', users: 'user' }

/**
 * The resource a route template names: the first `projects/:x`, `groups/:x` or `users/:x` pair
 * (so `/security/projects/:id/vulnerability_exports` is about the project), `/user/…` is the
 * token's owner, anything else the instance; `on` overrides (catalog types.ts, Route).
 */
export function routeResource(route: Route): { kind: ResourceKind; param: string | undefined } {
  if (route.on === 'self') return { kind: 'self', param: undefined }
  if (route.on === 'instance') return { kind: 'instance', param: undefined }
  const segments = route.path.split('/')
  if (segments[1] === 'user') return { kind: 'self', param: undefined }
  for (let i = 1; i + 1 < segments.length; i++) {
    const kind = COLLECTIONS[segments[i]]
    if (kind !== undefined && segments[i + 1].startsWith(':')) return { kind, param: segments[i + 1].slice(1) }
  }
  return { kind: 'instance', param: undefined }
}

/** The permissions that would satisfy a route of `name`: itself, then the bundles that include it. */
function acceptedFor(name: string, bundles: readonly { name: string; grants: ReadonlySet<string> }[]): readonly string[] {
  return Object.freeze([name, ...bundles.filter((b) => b.name !== name && b.grants.has(name)).map((b) => b.name)])
}

export interface RouteTable {
  /** Matches one forwarded request; never throws. */
  match(method: string, path: string): RouteResult
  /** Every route, for tests and docs: `{ method, path, permission }`. */
  readonly routes: readonly { method: HttpMethod; path: string; permission: string }[]
}

/** Compiles a route table. Throws on a duplicate method + path (find-my-way refuses them). */
export function compileRouteTable(permissions: readonly Permission[]): RouteTable {
  const router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: MAX_REQUEST_PATH })
  const routes: { method: HttpMethod; path: string; permission: string }[] = []
  const handler = () => undefined
  const bundles = permissions.filter((p) => p.includes !== undefined).map((p) => ({ name: p.name, grants: expandPermissions([p.name]) }))
  for (const permission of permissions) {
    if (!permission.routes?.length) continue
    const accepted = acceptedFor(permission.name, bundles)
    for (const route of permission.routes) {
      const { kind, param } = routeResource(route)
      const store: Store = {
        permission, kind, param, accepted, route: `${route.method} ${route.path}`,
        instance: kind === 'instance' ? INSTANCE : undefined,
      }
      router.on(route.method, route.path, handler, store)
      routes.push({ method: route.method, path: route.path, permission: permission.name })
    }
  }
  router.compile()

  function match(rawMethod: string, rawPath: string): RouteResult {
    const q = rawPath.indexOf('?')
    const path = q === -1 ? rawPath : rawPath.slice(0, q)
    const invalid = checkPath(path)
    if (invalid !== undefined) return { ok: false, code: 'invalid_request_path', detail: invalid }
    const local = path.slice(API_PREFIX.length)
    const method = rawMethod === 'HEAD' ? 'GET' : rawMethod
    const found = (ROUTE_METHODS as readonly string[]).includes(method) ? router.find(method as HttpMethod, local) : null
    if (found === null) return notFound(rawMethod, path, local)
    const store = found.store as Store
    return { ok: true, match: { permission: store.permission, resource: store.instance ?? resourceOf(store, found.params), accepted: store.accepted, route: store.route } }
  }

  // Only on the error path: which methods the path would have matched.
  function notFound(method: string, path: string, local: string): RouteResult {
    const methods = ROUTE_METHODS.filter((m) => router.find(m, local) !== null)
    if (methods.length === 0) {
      return { ok: false, code: 'unknown_route', detail: `${method} ${path} is not in the route table: no catalog permission covers that GitLab endpoint (GET /api/v4/permissions lists the routes of each permission)` }
    }
    const known = methods.includes('GET') ? [...methods, 'HEAD'] : methods
    return { ok: false, code: 'unsupported_method', methods, detail: `${method} is not in the route table for ${path}; its known methods are ${known.join(', ')}` }
  }

  return { match, routes: Object.freeze(routes) }
}

const INSTANCE: RouteResource = Object.freeze({ type: 'instance' })
const SELF: RouteResource = Object.freeze({ type: 'user', self: true })
// A GitLab id: what the directory could hold as a bigint key and JSON can carry exactly.
const NUMERIC_ID = /^[1-9][0-9]{0,15}$/

function resourceOf(store: Store, params: Record<string, string | undefined>): RouteResource {
  if (store.kind === 'self') return SELF
  const type = store.kind as 'project' | 'group' | 'user'
  // find-my-way has decoded the parameter: `acme%2Fapi` is the path `acme/api`.
  const value = params[store.param!] ?? ''
  if (NUMERIC_ID.test(value)) {
    const id = Number(value)
    if (id <= Number.MAX_SAFE_INTEGER) return { type, id }
  }
  return { type, path: value }
}

const PERCENT_TRIPLET = /%(?![0-9A-Fa-f]{2})/
// Control characters (NUL included), a backslash (some proxies read it as '/'), and characters that
// cannot be in a request target unencoded.
const FORBIDDEN = /[\u0000-\u001f\u007f\\#\s]/
const SLASH = 0x2f
const DOT = 0x2e
const PERCENT = 0x25

/**
 * Why a forwarded path cannot be trusted, or undefined when it can: it must be an `/api/v4/…` path
 * of at most MAX_REQUEST_PATH characters, with well-formed percent-encoding (valid UTF-8), no empty
 * segment and no `.`/`..` segment — also once decoded, so `docs%2F..%2Fsecret` cannot name
 * something other than what it says. Refused rather than normalized: a backend and this service
 * must never disagree about which resource a path names.
 */
export function checkPath(path: string): string | undefined {
  if (path.length > MAX_REQUEST_PATH) return `the path is longer than ${MAX_REQUEST_PATH} characters`
  if (!path.startsWith(`${API_PREFIX}/`)) return `the path must start with ${API_PREFIX}/ (what GitLab received, e.g. ${API_PREFIX}/projects/42/merge_requests)`
  // One pass over the characters: the common case (no escapes, no dots) allocates nothing.
  let hasPercent = false
  let dotAfterSlash = false
  for (let i = 0, previous = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c <= 0x20 || c === 0x7f || c === 0x5c || c === 0x23 || (c > 0x7f && FORBIDDEN.test(path[i]))) {
      return 'the path contains a control character, a space, a backslash or #; encode them as GitLab clients do'
    }
    if (previous === SLASH && c === SLASH) return 'the path has an empty segment (//)'
    if (previous === SLASH && c === DOT) dotAfterSlash = true
    if (c === PERCENT) hasPercent = true
    previous = c
  }
  if (!hasPercent && !dotAfterSlash) return undefined
  if (hasPercent && PERCENT_TRIPLET.test(path)) return 'the path has a % that is not followed by two hex digits'
  for (const segment of path.split('/')) {
    let decoded = segment
    if (hasPercent && segment.includes('%')) {
      try {
        decoded = decodeURIComponent(segment)
      } catch {
        return `the segment "${segment}" is not valid percent-encoded UTF-8`
      }
      if (FORBIDDEN.test(decoded.replace(/[ #]/g, ''))) return `the segment "${segment}" decodes to a control character or backslash`
    }
    for (const piece of decoded.split('/')) {
      if (piece === '.' || piece === '..') return `the path has a "${piece}" segment${decoded === segment ? '' : ` once decoded ("${segment}")`}; send the path GitLab resolved`
    }
  }
  return undefined
}

let table: RouteTable | undefined
/** The catalog's route table, compiled on first use. */
export function gitlabRoutes(): RouteTable {
  return (table ??= compileRouteTable(PERMISSIONS))
}
