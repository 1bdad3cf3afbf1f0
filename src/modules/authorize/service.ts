// The hot path: resolve the token, its owner and the resource through the policy cache, then let
// the pure decision answer. Records usage in memory and counts decisions for /metrics.
import { BlockList, isIP } from 'node:net'
import type { MaybePromise, PolicyCache } from '../../cache/policy-cache.js'
import type { Config } from '../../config.js'
import type { Db } from '../../db/index.js'
import type { Clock } from '../../domain/dates.js'
import { type Decision, decide, type DecisionInput, DENY_REASONS, type NamespaceEntry, type OwnerEntry, type PolicyEntry, type Reason, resolvePermissions, type TokenEntry } from '../../domain/decide.js'
import { gitlabRoutes, type RouteMatch } from '../../domain/gitlab-routes.js'
import type { Permission } from '../../domain/permissions/index.js'
import { isPlausibleNamespacePath, isPlausibleUsername } from '../../domain/resource-path.js'
import { candidateDigests, isWellFormedToken } from '../../domain/token-format.js'
import { withDeadline } from '../../http/deadline.js'
import { AppError, invalidField } from '../../http/errors.js'
import { type CounterCell, hotCounter } from '../../metrics/hot-counter.js'
import { HotHistogram } from '../../metrics/hot-histogram.js'
import { findUserIdByUsername } from '../../cache/loaders.js'
import type { AuthorizeInput, CheckInput, ResourceRefInput } from './schemas.js'
import type { ReuseReporter } from '../tokens/reuse.js'
import type { UsageRecorder } from './usage.js'

const decisions = hotCounter({ name: 'fgpat_decisions_total', help: 'Authorization decisions by reason', labelNames: ['reason'] })
const DECISION_CELLS = Object.fromEntries((['allowed', ...DENY_REASONS] as Reason[]).map((reason) => [reason, decisions.cell({ reason })])) as Record<Reason, CounterCell>
const latency = new HotHistogram('fgpat_decision_duration_seconds', 'Time to decide one authorize call (excluding HTTP)', [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25])

const blockLists = new Map<string, BlockList>()
/** CIDR membership with node's BlockList, one compiled list per distinct range set. */
export function ipInRanges(ip: string, ranges: string[]): boolean {
  const family = isIP(ip)
  if (family === 0) return false
  const cacheKey = ranges.join(',')
  let list = blockLists.get(cacheKey)
  if (!list) {
    list = new BlockList()
    for (const range of ranges) {
      const [net, bits] = range.split('/')
      const type = isIP(net) === 6 ? 'ipv6' : 'ipv4'
      list.addSubnet(net, Number(bits ?? (type === 'ipv6' ? 128 : 32)), type)
    }
    blockLists.set(cacheKey, list)
  }
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4')
}

export interface AuthorizeDeps {
  db: Db
  config: Readonly<Config>
  clock: Clock
  cache: PolicyCache
  usage: UsageRecorder
  /** Instance and top-level group policies for a resource (governance fills this in). */
  policiesFor?: (resource: DecisionInput['resource']) => MaybePromise<PolicyEntry[]>
  /** Told when a rotated-away secret is presented (it returns at once; the answer stays token_revoked). */
  reuse?: Pick<ReuseReporter, 'report'>
}

function unavailable(err: unknown): never {
  if (err instanceof AppError) throw err
  throw new AppError(503, 'unavailable', 'The policy store is unavailable (PostgreSQL and Redis); no decision was made')
}

const TOO_SLOW = 'The policy store (PostgreSQL and Redis) did not answer in time; no decision was made'

type Resource = DecisionInput['resource']

/** Runs `f` now; an error it throws comes back as a rejected promise, observed only if awaited. */
function deferred<T>(f: () => MaybePromise<T>): MaybePromise<T> {
  let result: MaybePromise<T>
  try {
    result = f()
  } catch (err) {
    result = Promise.reject(err)
  }
  if (result instanceof Promise) result.catch(() => {}) // an unused result must not be an unhandled rejection
  return result
}
const NO_POLICIES: PolicyEntry[] = []

/** `/user/…` routes: the token's owner, known only once the token is (see decideMany). */
const SELF_USER: ResourceRefInput = Object.freeze({ type: 'user' as const })
// Policies do not depend on which user a user-boundary question is about (instance policy only).
const ANY_USER: Resource = Object.freeze({ userId: 0 })

/** One check, validated: what to decide, and for the request form the route that said so. */
interface Question {
  permissions: Permission[]
  resource: ResourceRefInput
  ip: string | undefined
  route?: RouteMatch
}

/** The resource a route names, as the permission form would give it. */
function refOf(match: RouteMatch): ResourceRefInput {
  const r = match.resource
  if ('self' in r) return SELF_USER
  return r as ResourceRefInput
}

/** The request form's answer: the decision plus what the route resolved to and what it accepts. */
function withRoute(decision: Decision, q: Question, resource: Resource): Decision {
  const route = q.route!
  let ref: NonNullable<Decision['resource']> = q.resource
  if (q.resource === SELF_USER) ref = typeof resource === 'object' && resource !== null && 'userId' in resource ? { type: 'user', id: resource.userId } : { type: 'user' }
  return { ...decision, permission: route.permission.name, resource: ref, accepted_permissions: route.accepted as string[] }
}

// The hot path awaits only what is not in L1 (see MaybePromise): a decision from cached entries
// runs start to finish without yielding, which is most of what keeps /authorize near the ceiling.
export function createAuthorizeService(deps: AuthorizeDeps) {
  const { cache } = deps

  const ofType = (ns: NamespaceEntry | undefined, type: string): Resource => (ns && ns.kind === type ? ns : undefined)

  async function resolveUser(ref: ResourceRefInput): Promise<Resource> {
    if (ref.id === undefined && !isPlausibleUsername(ref.path!)) return undefined // no lookup for what cannot exist
    const userId = ref.id ?? (await findUserIdByUsername(deps.db, ref.path!))
    return userId !== undefined && (await cache.owner(userId)) ? { userId } : undefined
  }

  function resolveResource(ref: ResourceRefInput): MaybePromise<Resource> {
    if (ref.type === 'instance') return 'instance'
    if ((ref.id === undefined) === (ref.path === undefined)) {
      throw new AppError(400, 'validation_failed', 'body.resource: give exactly one of id or path', [{ path: 'body.resource', message: 'give exactly one of id or path' }])
    }
    if (ref.type === 'user') return resolveUser(ref)
    if (ref.id === undefined) {
      if (!isPlausibleNamespacePath(ref.path!)) return undefined // no lookup for what cannot exist
      return cache.namespaceByPath(ref.path!).then((ns) => ofType(ns, ref.type))
    }
    const ns = cache.namespace(ref.id)
    return ns instanceof Promise ? ns.then((n) => ofType(n, ref.type)) : ofType(ns, ref.type)
  }

  const policiesOf = (resource: Resource): MaybePromise<PolicyEntry[]> => (deps.policiesFor ? deps.policiesFor(resource) : NO_POLICIES)

  function permissionNames(check: CheckInput, at: string): string[] {
    const names = check.permissions ?? (check.permission ? [check.permission] : [])
    if (names.length === 0 || (check.permission && check.permissions)) {
      throw new AppError(400, 'validation_failed', `${at}: give permission or permissions (not both)`, [{ path: at, message: 'give permission or permissions (not both)' }])
    }
    return names
  }

  const routes = gitlabRoutes()

  /**
   * A check as a question: the permission form as given, or the request form through the route
   * table (a GitLab request the backend received). Anything else is a 400 that says what to send.
   */
  function toQuestion(check: CheckInput, at: string): Question {
    if (check.request !== undefined) {
      if (check.permission !== undefined || check.permissions !== undefined || check.resource !== undefined) {
        throw invalidField(at, 'give request, or permission(s) and resource, not both')
      }
      const r = routes.match(check.request.method, check.request.path)
      if (!r.ok) {
        const field = `${at}.request.${r.code === 'unsupported_method' ? 'method' : 'path'}`
        throw new AppError(400, r.code, `${field}: ${r.detail}`, [{ path: field, message: r.detail }])
      }
      return { permissions: [r.match.permission], resource: refOf(r.match), ip: check.ip, route: r.match }
    }
    if (check.resource === undefined) throw invalidField(at, 'give request ({method, path} of the GitLab request), or permission(s) and resource')
    const names = permissionNames(check, at)
    const r = resolvePermissions(names, check.resource.type)
    if (!r.ok) {
      const path = `${at}.${check.permissions ? `permissions[${r.index}]` : 'permission'}`
      throw new AppError(400, 'invalid_permission', `${path}: ${r.problem}`, [{ path, message: r.problem }])
    }
    return { permissions: r.permissions, resource: check.resource, ip: check.ip }
  }

  /**
   * Decides several checks for one token; the token and its owner are resolved once. When every
   * entry is in L1 the answer is made synchronously: no promise, no deadline timer (nothing is
   * awaited, so nothing can stall). Only a lookup that has to wait goes the async way (decideLater),
   * and only that is bounded by the deadline (see `authorize`).
   */
  function decideMany(token: string, checks: Question[], defaultIp: string | undefined): MaybePromise<Decision[]> {
    const started = performance.now()
    let looked: Lookups
    try {
      looked = lookUp(token, checks, defaultIp)
      const { owner, resources, policies } = looked
      if (!(looked.entry instanceof Promise) && !(owner instanceof Promise)
        && (!owner || (!resources.some((r) => r instanceof Promise) && !policies.some((p) => p instanceof Promise)))) {
        return decideAll(looked as Ready, checks, defaultIp, started)
      }
    } catch (err) {
      return failed(err)
    }
    return decideLater(looked, checks, defaultIp, started)
  }

  /** What a decision reads, each asked for at once (see lookUp); a promise where L1 did not have it. */
  interface Lookups {
    wellFormed: boolean
    entry: MaybePromise<TokenEntry | undefined>
    /** Asked for once the token is known (undefined until then, and for no live token). */
    owner: MaybePromise<OwnerEntry | undefined>
    resources: MaybePromise<Resource>[]
    policies: MaybePromise<PolicyEntry[]>[]
  }
  interface Ready extends Lookups {
    entry: TokenEntry | undefined
    owner: OwnerEntry | undefined
    resources: Resource[]
    policies: PolicyEntry[][]
  }

  function lookUp(token: string, checks: Question[], defaultIp: string | undefined): Lookups {
    const wellFormed = isWellFormedToken(token)
    const digests = wellFormed ? candidateDigests(deps.config.tokenPeppers, token) : []
    const entry: MaybePromise<TokenEntry | undefined> = wellFormed ? cache.token(digests) : undefined
    // The resources, and then their policies, do not depend on the token or its owner: ask for
    // them now, so that on an L1 miss they share the Redis round trips of the token and owner
    // lookups (see PolicyCache.redisGet). They are used only once the owner is known to exist,
    // as the decision order wants; an error they raise (a bad resource reference) waits until then.
    const resources = wellFormed ? checks.map((check) => (check.resource === SELF_USER ? ANY_USER : deferred(() => resolveResource(check.resource)))) : []
    const policies = resources.map((r) => deferred(() => (r instanceof Promise ? r.then(policiesOf) : policiesOf(r))))
    const looked: Lookups = { wellFormed, entry, owner: undefined, resources, policies }
    if (!(entry instanceof Promise)) looked.owner = ownerOf(entry, checks, defaultIp)
    return looked
  }

  function ownerOf(entry: TokenEntry | undefined, checks: Question[], defaultIp: string | undefined): MaybePromise<OwnerEntry | undefined> {
    if (entry?.rotatedAway) deps.reuse?.report({ tokenId: entry.id, ip: checks[0]?.ip ?? defaultIp, via: 'authorize' })
    return entry && !entry.revoked ? cache.owner(entry.userId) : undefined
  }

  /** The lookups L1 did not have, awaited in the decision order (token, owner, then each check's resource and policies). */
  async function decideLater(looked: Lookups, checks: Question[], defaultIp: string | undefined, started: number): Promise<Decision[]> {
    try {
      if (looked.entry instanceof Promise) {
        looked.entry = await looked.entry
        looked.owner = ownerOf(looked.entry, checks, defaultIp)
      }
      if (looked.owner instanceof Promise) looked.owner = await looked.owner
      if (looked.owner) {
        for (let i = 0; i < checks.length; i++) {
          looked.resources[i] = await looked.resources[i]
          looked.policies[i] = await looked.policies[i]
        }
      }
      return decideAll(looked as Ready, checks, defaultIp, started)
    } catch (err) {
      return unavailable(err)
    }
  }

  function decideAll(looked: Ready, checks: Question[], defaultIp: string | undefined, started: number): Decision[] {
    const { wellFormed, entry, owner } = looked
    const now = deps.clock()
    const results: Decision[] = []
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]
      const resource = !owner ? undefined : check.resource === SELF_USER ? { userId: owner.id } : looked.resources[i]
      const policyList = owner ? looked.policies[i] : NO_POLICIES
      const ip = check.ip ?? defaultIp
      const decided = decide({
        wellFormed, token: entry, owner, permissions: check.permissions, resourceType: check.resource.type, resource, ip, now, policies: policyList, ipAllowed: ipInRanges,
        adminMode: deps.config.adminMode,
      })
      const decision = check.route ? withRoute(decided, check, resource) : decided
      DECISION_CELLS[decision.reason].n++
      if (entry) {
        const nsId = typeof resource === 'object' && resource !== null && 'traversalIds' in resource ? resource.id : 0
        deps.usage.record(entry.id, now, ip, check.permissions, nsId, decision.allowed)
      }
      results.push(decision)
    }
    latency.observe((performance.now() - started) / 1000)
    return results
  }

  /** A synchronous failure, as the async path gives it: a rejected promise (AppError as is, anything else a 503). */
  function failed(err: unknown): Promise<never> {
    try {
      unavailable(err)
    } catch (e) {
      return Promise.reject(e)
    }
  }

  // A decision that has to wait for Redis or PostgreSQL answers within DECISION_TIMEOUT_MS, with a
  // 503 if they are too slow (both stalled, or PostgreSQL stalled on a cache miss): never a hang.
  const bounded = <T>(work: Promise<T>) => withDeadline(work, deps.config.decisionTimeoutMs, TOO_SLOW)

  return {
    /** A decision from L1 answers synchronously (no promise), anything else through a bounded promise. */
    authorize: (body: AuthorizeInput): MaybePromise<Decision> => {
      let asked: Question
      try {
        asked = toQuestion(body, 'body')
      } catch (err) {
        return Promise.reject(err)
      }
      const decided = decideMany(body.token, [asked], body.ip)
      return decided instanceof Promise ? bounded(decided).then((d) => d[0]) : decided[0]
    },
    batch: (token: string, checks: CheckInput[], ip: string | undefined): Promise<Decision[]> => {
      let asked: Question[]
      try {
        asked = checks.map((check, i) => toQuestion(check, `body.checks[${i}]`))
      } catch (err) {
        return Promise.reject(err)
      }
      const decided = decideMany(token, asked, ip)
      return decided instanceof Promise ? bounded(decided) : Promise.resolve(decided)
    },
    /** Any other hot-path work (introspection) under the same bound. */
    bounded,
  }
}

export type AuthorizeService = ReturnType<typeof createAuthorizeService>
