// The hot path: resolve the token, its owner and the resource through the policy cache, then let
// the pure decision answer. Records usage in memory and counts decisions for /metrics.
import { BlockList, isIP } from 'node:net'
import { keyString, type MaybePromise, type PolicyCache } from '../../cache/policy-cache.js'
import type { Config } from '../../config.js'
import type { Db } from '../../db/index.js'
import type { Clock } from '../../domain/dates.js'
import { type Decision, decide, type DecisionInput, DENY_REASONS, type NamespaceEntry, type OwnerEntry, type PolicyEntry, type Reason, resolvePermissions, type TokenEntry } from '../../domain/decide.js'
import { gitlabRoutes, type RouteMatch } from '../../domain/gitlab-routes.js'
import type { Permission } from '../../domain/permissions/index.js'
import { isPlausibleNamespacePath, isPlausibleUsername } from '../../domain/resource-path.js'
import { candidateDigests, digestTokenKey, isWellFormedToken, keyToDigest } from '../../domain/token-format.js'
import { withDeadline } from '../../http/deadline.js'
import { AppError, invalidField } from '../../http/errors.js'
import { type CounterCell, hotCounter } from '../../metrics/hot-counter.js'
import { HotHistogram } from '../../metrics/hot-histogram.js'
import { findUserIdByUsername } from '../../cache/loaders.js'
import { DecisionMemo, MEMO_TTL_MS, type MemoAnswer, questionKey, routeQuestionKey } from './decision-memo.js'
import type { AuthorizeInput, CheckInput, ResourceRefInput } from './schemas.js'
import type { ReuseReporter } from '../tokens/reuse.js'
import { UsageRecorder } from './usage.js'

const decisions = hotCounter({ name: 'fgpat_decisions_total', help: 'Authorization decisions by reason', labelNames: ['reason'] })
const DECISION_CELLS = Object.fromEntries((['allowed', ...DENY_REASONS] as Reason[]).map((reason) => [reason, decisions.cell({ reason })])) as Record<Reason, CounterCell>
const memoLookups = hotCounter({ name: 'fgpat_decision_memo_total', help: 'Decision memo lookups of /authorize (a hit answers without reading the policy cache)', labelNames: ['result'] })
const MEMO_HITS = memoLookups.cell({ result: 'hit' })
const MEMO_MISSES = memoLookups.cell({ result: 'miss' })
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

/**
 * The cache keys a memoized answer rests on besides the generation (see decision-memo.ts): its
 * token under every pepper (a change notifies the key of the digest stored, which may be any of
 * them) and its owner (memberships, state).
 */
function subjectKeys(digests: Buffer[], userId: number): string[] {
  return [...digests.map((digest) => keyString({ kind: 'tok', digest })), keyString({ kind: 'acc', userId })]
}

/** A memo miss: the first digest is computed already, and the answer may be stored under it. */
interface MemoSlot {
  started: number
  generation: number
  /** The policy cache's change count before any lookup: the answer is stored only if it is the same after. */
  changes: number
  /** The first pepper's digest, as digestTokenKey gives it. */
  digestKey: string
  question: string
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
  function decideMany(token: string, checks: Question[], defaultIp: string | undefined, memoized?: MemoSlot): MaybePromise<Decision[]> {
    const started = memoized?.started ?? performance.now()
    let looked: Lookups
    try {
      looked = lookUp(token, checks, defaultIp, memoized)
      const { owner, resources, policies } = looked
      if (!(looked.entry instanceof Promise) && !(owner instanceof Promise)
        && (!owner || (!resources.some((r) => r instanceof Promise) && !policies.some((p) => p instanceof Promise)))) {
        return decideAll(looked as Ready, checks, defaultIp, memoized, started)
      }
    } catch (err) {
      return failed(err)
    }
    return decideLater(looked, checks, defaultIp, memoized, started)
  }

  /** What a decision reads, each asked for at once (see lookUp); a promise where L1 did not have it. */
  interface Lookups {
    wellFormed: boolean
    /** The token's digest under each pepper (none for a malformed token). */
    digests: Buffer[]
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

  function lookUp(token: string, checks: Question[], defaultIp: string | undefined, memoized?: MemoSlot): Lookups {
    const wellFormed = isWellFormedToken(token)
    const digests = !wellFormed ? [] : memoized ? [keyToDigest(memoized.digestKey), ...candidateDigests(deps.config.tokenPeppers.slice(1), token)] : candidateDigests(deps.config.tokenPeppers, token)
    const entry: MaybePromise<TokenEntry | undefined> = wellFormed ? cache.token(digests) : undefined
    // The resources, and then their policies, do not depend on the token or its owner: ask for
    // them now, so that on an L1 miss they share the Redis round trips of the token and owner
    // lookups (see PolicyCache.redisGet). They are used only once the owner is known to exist,
    // as the decision order wants; an error they raise (a bad resource reference) waits until then.
    const resources = wellFormed ? checks.map((check) => (check.resource === SELF_USER ? ANY_USER : deferred(() => resolveResource(check.resource)))) : []
    const policies = resources.map((r) => deferred(() => (r instanceof Promise ? r.then(policiesOf) : policiesOf(r))))
    const looked: Lookups = { wellFormed, digests, entry, owner: undefined, resources, policies }
    if (!(entry instanceof Promise)) looked.owner = ownerOf(entry, checks, defaultIp)
    return looked
  }

  function ownerOf(entry: TokenEntry | undefined, checks: Question[], defaultIp: string | undefined): MaybePromise<OwnerEntry | undefined> {
    if (entry?.rotatedAway) deps.reuse?.report({ tokenId: entry.id, ip: checks[0]?.ip ?? defaultIp, via: 'authorize' })
    return entry && !entry.revoked ? cache.owner(entry.userId) : undefined
  }

  /** The lookups L1 did not have, awaited in the decision order (token, owner, then each check's resource and policies). */
  async function decideLater(looked: Lookups, checks: Question[], defaultIp: string | undefined, memoized: MemoSlot | undefined, started: number): Promise<Decision[]> {
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
      return decideAll(looked as Ready, checks, defaultIp, memoized, started)
    } catch (err) {
      return unavailable(err)
    }
  }

  function decideAll(looked: Ready, checks: Question[], defaultIp: string | undefined, memoized: MemoSlot | undefined, started: number): Decision[] {
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
        const usage = deps.usage.record(entry.id, now, ip, check.permissions, nsId, decision.allowed)
        // Only answers resting on things that exist, only if nothing was invalidated meanwhile, and
        // only for a question asked often (admission: see decision-memo.ts). Not an answer about
        // another user: it would rest on that user's entry too, which the memo does not watch.
        if (memoized && owner && resource !== undefined && cache.l1Active && cache.changes === memoized.changes && UsageRecorder.askedOften(usage, now.getTime(), MEMO_TTL_MS)
          && !(typeof resource === 'object' && resource !== null && 'userId' in resource && resource.userId !== owner.id)) {
          memo.set(memoized.digestKey, memoized.question, memoized.generation, now.getTime(), { decision, tokenId: entry.id, permissions: check.permissions, namespaceId: nsId, usage },
            () => ({ since: memoized.changes, keys: subjectKeys(looked.digests, owner.id) }), cache.changedSince)
        }
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

  const memo = new DecisionMemo()

  /** A repeated question answered from the memo (see decision-memo.ts), or what decideMany needs to store the answer. */
  function fromMemo(body: AuthorizeInput, asked: Question): MemoAnswer | MemoSlot | undefined {
    if (!cache.l1Active) return undefined
    // The request form is keyed by what the route resolved to (so `?ref=main` and `?ref=dev` share
    // an answer), marked apart from the permission form, whose answer has no route fields.
    const question = asked.route ? routeQuestionKey(asked.permissions[0].name, asked.resource, body.ip) : questionKey(body as CheckInput & { resource: ResourceRefInput }, body.ip)
    if (question === undefined) return undefined
    const started = performance.now()
    const generation = cache.generation // before any lookup
    const changes = cache.changes
    const digestKey = digestTokenKey(deps.config.tokenPeppers[0], body.token)
    const now = deps.clock()
    const answer = memo.get(digestKey, question, generation, now.getTime(), cache.changedSince)
    if (answer === undefined) {
      MEMO_MISSES.n++
      return { started, generation, changes, digestKey, question }
    }
    MEMO_HITS.n++
    DECISION_CELLS[answer.decision.reason].n++
    const { allowed } = answer.decision
    if (answer.usage === undefined || !deps.usage.again(answer.usage, now, body.ip, allowed)) {
      answer.usage = deps.usage.record(answer.tokenId, now, body.ip, answer.permissions, answer.namespaceId, allowed)
    }
    latency.observe((performance.now() - started) / 1000)
    return answer
  }

  // A decision that has to wait for Redis or PostgreSQL answers within DECISION_TIMEOUT_MS, with a
  // 503 if they are too slow (both stalled, or PostgreSQL stalled on a cache miss): never a hang.
  const bounded = <T>(work: Promise<T>) => withDeadline(work, deps.config.decisionTimeoutMs, TOO_SLOW)

  return {
    /**
     * A memo hit (the memo's answer, whose JSON the route keeps with it) or a decision from L1
     * answers synchronously (no promise), anything else through a bounded promise.
     */
    authorize: (body: AuthorizeInput): MaybePromise<Decision> | MemoAnswer => {
      let asked: Question
      try {
        asked = toQuestion(body, 'body')
      } catch (err) {
        return Promise.reject(err)
      }
      const memoized = fromMemo(body, asked)
      if (memoized !== undefined && 'decision' in memoized) return memoized
      const decided = decideMany(body.token, [asked], body.ip, memoized)
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
