// The hot path: resolve the token, its owner and the resource through the policy cache, then let
// the pure decision answer. Records usage in memory and counts decisions for /metrics.
import { BlockList, isIP } from 'node:net'
import { Counter, Histogram } from 'prom-client'
import type { PolicyCache } from '../../cache/policy-cache.js'
import type { Config } from '../../config.js'
import type { Db } from '../../db/index.js'
import type { Clock } from '../../domain/dates.js'
import { type Decision, decide, type DecisionInput, type PolicyEntry, resolvePermissions } from '../../domain/decide.js'
import { candidateDigests, parseToken } from '../../domain/token-format.js'
import { AppError } from '../../http/errors.js'
import { registry } from '../../metrics/registry.js'
import { findUserIdByUsername } from '../../cache/loaders.js'
import type { CheckInput, ResourceRefInput } from './schemas.js'
import type { UsageRecorder } from './usage.js'

const decisions = new Counter({ name: 'fgpat_decisions_total', help: 'Authorization decisions by reason', labelNames: ['reason'], registers: [registry] })
const latency = new Histogram({
  name: 'fgpat_decision_duration_seconds', help: 'Time to decide one authorize call (excluding HTTP)',
  buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25], registers: [registry],
})

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
  policiesFor?: (resource: DecisionInput['resource']) => Promise<PolicyEntry[]>
}

function unavailable(err: unknown): never {
  if (err instanceof AppError) throw err
  throw new AppError(503, 'unavailable', 'The policy store is unavailable (PostgreSQL and Redis); no decision was made')
}

export function createAuthorizeService(deps: AuthorizeDeps) {
  const { cache } = deps

  async function resolveResource(ref: ResourceRefInput): Promise<DecisionInput['resource']> {
    if (ref.type === 'instance') return 'instance'
    if ((ref.id === undefined) === (ref.path === undefined)) {
      throw new AppError(400, 'validation_failed', 'body.resource: give exactly one of id or path', [{ path: 'body.resource', message: 'give exactly one of id or path' }])
    }
    if (ref.type === 'user') {
      const userId = ref.id ?? (await findUserIdByUsername(deps.db, ref.path!))
      return userId !== undefined && (await cache.owner(userId)) ? { userId } : undefined
    }
    const ns = ref.id !== undefined ? await cache.namespace(ref.id) : await cache.namespaceByPath(ref.path!)
    return ns && ns.kind === ref.type ? ns : undefined
  }

  function permissionNames(check: CheckInput, at: string): string[] {
    const names = check.permissions ?? (check.permission ? [check.permission] : [])
    if (names.length === 0 || (check.permission && check.permissions)) {
      throw new AppError(400, 'validation_failed', `${at}: give permission or permissions (not both)`, [{ path: at, message: 'give permission or permissions (not both)' }])
    }
    return names
  }

  /** Decides several checks for one token; the token and its owner are resolved once. */
  async function decideMany(token: string, checks: CheckInput[], defaultIp: string | undefined, at: (i: number) => string): Promise<Decision[]> {
    const started = process.hrtime.bigint()
    const resolved = checks.map((check, i) => {
      const names = permissionNames(check, at(i))
      const r = resolvePermissions(names, check.resource.type)
      if (!r.ok) {
        const path = `${at(i)}.${check.permissions ? `permissions[${r.index}]` : 'permission'}`
        throw new AppError(400, 'invalid_permission', `${path}: ${r.problem}`, [{ path, message: r.problem }])
      }
      return r.permissions
    })
    try {
      const wellFormed = parseToken(token) !== undefined
      const entry = wellFormed ? await cache.token(candidateDigests(deps.config.tokenPeppers, token)) : undefined
      const live = entry && !entry.revoked
      const owner = live ? await cache.owner(entry.userId) : undefined
      const now = deps.clock()
      const results: Decision[] = []
      for (let i = 0; i < checks.length; i++) {
        const check = checks[i]
        const resource = owner ? await resolveResource(check.resource) : undefined
        const policies = owner && deps.policiesFor ? await deps.policiesFor(resource) : []
        const ip = check.ip ?? defaultIp
        const decision = decide({
          wellFormed, token: entry, owner, permissions: resolved[i], resourceType: check.resource.type, resource, ip, now, policies, ipAllowed: ipInRanges,
        })
        decisions.inc({ reason: decision.reason })
        if (entry) {
          const nsId = typeof resource === 'object' && resource !== null && 'traversalIds' in resource ? resource.id : 0
          deps.usage.record(entry.id, now, ip, resolved[i].map((p) => p.name), nsId, decision.allowed)
        }
        results.push(decision)
      }
      latency.observe(Number(process.hrtime.bigint() - started) / 1e9)
      return results
    } catch (err) {
      return unavailable(err)
    }
  }

  return {
    authorize: async (body: { token: string; ip?: string } & CheckInput) => (await decideMany(body.token, [body], body.ip, () => 'body'))[0],
    batch: (token: string, checks: CheckInput[], ip: string | undefined) => decideMany(token, checks, ip, (i) => `body.checks[${i}]`),
  }
}

export type AuthorizeService = ReturnType<typeof createAuthorizeService>
