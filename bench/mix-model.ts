// What the mix benchmark expects /authorize to answer, and the writes that change it.
//
// Slots are Zipf ranks; slot r starts with seeded token r and gets a new token when its token is
// rotated, revoked (a replacement is created) or replaced by a creation. A removal (revoke, a
// rotation's old secret, a membership removal) is recorded when its API call has answered: any
// later-sent question that the removed access would have allowed must be denied. On one process
// an allow is a stale allow; across processes (node:cluster workers, separate instances) the design
// allows the pub/sub delay, so those are counted by lag and only those over 1 s are stale.
import { signDevJwt } from '../src/auth/dev-jwt.js'
import { JWT_SECRET } from './lib.js'
import { groupOf, permissionsOf, PERMISSIONS, PROJECTS_PER_GROUP, projectOf, secretOf, type Shape, userOf } from './mix-data.js'

export interface TokenState {
  id: number
  secret: string
  user: number
  group: number
  permissions: string[]
  /** Date.now() when the call that removed it (revoke, rotation) answered. */
  removedAt?: number
  removedBy?: string
  /** Date.now() when a write on it started: answers after that are not certain (the write may have applied). */
  touchedAt?: number
}

export interface UserState {
  /** Date.now() when the membership removal answered; cleared when it is back. */
  removedAt?: number
  /** A membership write in flight, or one that added access just now: allows and denies both fine. */
  unsure: boolean
  /** When the last membership write started, and when its effects have settled (restore + propagation allowance). */
  touchedAt?: number
  settledAt?: number
  /** When putting the membership back started: an answer after that may rightly allow again. */
  restoreStartedAt?: number
  /** Creations of this user's tokens in flight: the membership is not removed under them (no_membership). */
  creating?: number
}

export interface Question {
  token: TokenState
  permission: string
  project: number
  inScope: boolean
  sentAt: number
  /** Removals that had answered when the question was sent: it must be denied. */
  tokenRemovedAt?: number
  userRemovedAt?: number
  /** No removal, nothing in flux: the answer must be `inScope`. */
  certain: boolean
}

/** The /authorize body asking `q` (bench:mix and bench:ab ask the same way). */
export const bodyOf = (q: Question) => JSON.stringify({ token: q.token.secret, permission: q.permission, resource: { type: 'project', id: q.project } })

export interface StaleAllow {
  what: string
  removedAt: number
  sentAt: number
  answeredAt: number
  target: string
}

/** Removals seen again on another process are within the pub/sub delay up to this lag. */
export const PROPAGATION_ALLOWANCE_MS = 1000

export class Model {
  readonly slots = new Map<number, TokenState>()
  readonly users = new Map<number, UserState>()
  /** Slots with a write in flight: not picked for another write. */
  readonly busy = new Set<number>()
  stale: StaleAllow[] = []
  /** Allows of removed access on another process than the one written to, by lag (ms). */
  crossProcessLags: number[] = []
  /** The first few answers the model did not expect (not removals): a model error or a bug. */
  surprises: string[] = []
  counts = { checked: 0, expectedDenyChecked: 0, unexpectedAllow: 0, unexpectedDeny: 0 }

  /** One model for the whole run: the database keeps what earlier parts wrote. */
  constructor(readonly s: Shape, public sameProcess: boolean) {}

  /** A new part of the run (another target): its own counts, the same state. */
  startPart(sameProcess: boolean) {
    this.sameProcess = sameProcess
    this.stale = []
    this.crossProcessLags = []
    this.surprises = []
    this.counts = { checked: 0, expectedDenyChecked: 0, unexpectedAllow: 0, unexpectedDeny: 0 }
  }

  token(slot: number): TokenState {
    let t = this.slots.get(slot)
    if (!t) {
      const user = userOf(this.s, slot)
      t = { id: slot, secret: secretOf(slot), user, group: groupOf(this.s, user), permissions: permissionsOf(slot) }
      // only slots touched by writes need to be kept; the rest are derived again (1M would not fit cheaply)
      if (this.busy.has(slot)) this.slots.set(slot, t)
    }
    return t
  }

  user(id: number): UserState {
    let u = this.users.get(id)
    if (!u) this.users.set(id, (u = { unsure: false }))
    return u
  }

  /** A question for the token in `slot`: 80% in scope, 10% another permission, 10% another group's project. */
  question(slot: number, random: () => number): Question {
    const token = this.token(slot)
    const r = random()
    let permission: string
    let project: number
    if (r < 0.9) project = projectOf(this.s, token.group, Math.floor(random() * PROJECTS_PER_GROUP))
    else {
      const other = 1 + ((token.group + Math.floor(random() * (this.s.groups - 1))) % this.s.groups) // never token.group
      project = projectOf(this.s, other, Math.floor(random() * PROJECTS_PER_GROUP))
    }
    if (r < 0.8 || r >= 0.9) permission = token.permissions[Math.floor(random() * token.permissions.length)]
    else {
      const others = PERMISSIONS.filter((p) => !token.permissions.includes(p))
      permission = others[Math.floor(random() * others.length)]
    }
    return this.ask(token, permission, project, r < 0.8)
  }

  ask(token: TokenState, permission: string, project: number, inScope: boolean): Question {
    const u = this.users.get(token.user)
    const userRemovedAt = inScope && u && !u.unsure ? u.removedAt : undefined
    return {
      token, permission, project, inScope, sentAt: Date.now(),
      tokenRemovedAt: inScope ? token.removedAt : undefined, userRemovedAt,
      certain: token.removedAt === undefined && !token.removedBy && (!u || (!u.unsure && u.removedAt === undefined)),
    }
  }

  /** Compares an answer with what the model expects; `target` names the process tier (for the report). */
  check(q: Question, allowed: boolean, target: string, body = ''): void {
    this.counts.checked++
    const removedAt = q.tokenRemovedAt ?? q.userRemovedAt
    if (removedAt !== undefined) {
      this.counts.expectedDenyChecked++
      if (!allowed) return
      const answeredAt = Date.now()
      // the membership is being put back (the question was built just before): allowing is right
      if (q.tokenRemovedAt === undefined && (this.users.get(q.token.user)?.restoreStartedAt ?? 0) >= removedAt) return
      const what = q.tokenRemovedAt !== undefined
        ? `token ${q.token.id} (${q.token.removedBy}) asked ${q.permission} on project ${q.project}`
        : `user ${q.token.user} removed from group ${q.token.group}: token ${q.token.id} asked ${q.permission} on project ${q.project}`
      if (!this.sameProcess) {
        this.crossProcessLags.push(answeredAt - removedAt)
        if (answeredAt - removedAt <= PROPAGATION_ALLOWANCE_MS) return
      }
      this.stale.push({ what, removedAt, sentAt: q.sentAt, answeredAt, target })
      return
    }
    if (!q.certain || q.token.touchedAt !== undefined) return
    const u = this.users.get(q.token.user)
    if (u?.touchedAt !== undefined && (u.settledAt === undefined || u.settledAt < u.touchedAt || q.sentAt < u.settledAt)) return
    if (allowed === q.inScope) return
    if (allowed) this.counts.unexpectedAllow++
    else this.counts.unexpectedDeny++
    if (this.surprises.length < 10) this.surprises.push(`${allowed ? 'allowed' : 'denied'}: token ${q.token.id} of user ${q.token.user} (group ${q.token.group}, ${q.token.permissions.join(' ')}) asked ${q.permission} on project ${q.project}: ${body.slice(0, 160)}`)
  }
}

const jwts = new Map<number, Promise<string>>()
export const userAuth = async (user: number) => {
  if (!jwts.has(user)) jwts.set(user, signDevJwt({ secret: JWT_SECRET, sub: String(user), expiresIn: '4h' }))
  return `Bearer ${await jwts.get(user)}`
}
const directoryJwt = signDevJwt({ secret: JWT_SECRET, sub: 'service:bench-directory', scopes: ['directory:write'], expiresIn: '4h' })
const expires = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10)

export type WriteKind = 'create' | 'rotate' | 'revoke' | 'membership'

/**
 * The writes, through the API as their users (and the directory service) would make them.
 * BENCH_FAULT=skip-removals records removals without making them: the checker must then count
 * stale allows (how the checker itself is verified).
 */
export class Writer {
  readonly done: Record<WriteKind | 'failed' | 'restore', number> = { create: 0, rotate: 0, revoke: 0, membership: 0, restore: 0, failed: 0 }
  readonly failures: string[] = []
  /** HTTP requests sent (the served process's CPU covers them too). */
  requests = 0
  private readonly fault = process.env.BENCH_FAULT === 'skip-removals'
  /** Called after each removal answered (the checker polls it). */
  onRemoval: (q: () => Question) => void = () => undefined

  constructor(private readonly model: Model, private readonly base: () => string) {}

  async write(slot: number, kind: WriteKind): Promise<void> {
    const m = this.model
    m.busy.add(slot)
    const token = m.token(slot)
    m.slots.set(slot, token)
    if (kind !== 'membership') token.touchedAt = Date.now()
    try {
      if (kind === 'create') await this.replaceWithNew(slot, token)
      else if (kind === 'rotate') await this.rotate(slot, token)
      else if (kind === 'revoke') await this.revoke(slot, token)
      else await this.membership(token)
    } catch (err) {
      this.fail(kind, (err as Error).message)
    } finally {
      m.busy.delete(slot)
    }
  }

  private fail(kind: string, message: string) {
    this.done.failed++
    if (this.failures.length < 10) this.failures.push(`${kind}: ${message}`)
  }

  private async call(method: string, path: string, auth: string, body?: unknown): Promise<{ status: number; json: any }> {
    this.requests++
    const res = await fetch(`${this.base()}${path}`, {
      method, headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : null }
  }

  private async create(token: TokenState): Promise<TokenState | undefined> {
    // A revoke's replacement may come when the owner's membership is out for a second (removed by
    // another loop meanwhile): the service rightly refuses it (no_membership), so it is not asked.
    const u = this.model.user(token.user)
    if (u.unsure || u.removedAt !== undefined) return undefined
    u.creating = (u.creating ?? 0) + 1
    let res: { status: number; json: any }
    try {
      res = await this.call('POST', '/api/v4/user/personal_access_tokens', await userAuth(token.user), {
        name: `mix ${this.done.create}`, expires_at: expires,
        granular_scopes: [{ access: 'selected_memberships', group_ids: [token.group], permissions: token.permissions }],
      })
    } finally {
      u.creating--
    }
    if (res.status !== 201) return void this.fail('create', `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`)
    this.done.create++
    return { ...token, id: res.json.id, secret: res.json.token, removedAt: undefined, removedBy: undefined }
  }

  private async replaceWithNew(slot: number, token: TokenState) {
    const fresh = await this.create(token)
    if (fresh) this.model.slots.set(slot, fresh)
  }

  private async rotate(slot: number, token: TokenState) {
    if (this.fault) {
      this.done.rotate++
      return this.removed(token, 'rotated away (fault: not rotated)')
    }
    const res = await this.call('POST', `/api/v4/personal_access_tokens/${token.id}/rotate`, await userAuth(token.user), {})
    if (res.status !== 200) return this.fail('rotate', `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`)
    this.done.rotate++
    this.model.slots.set(slot, { ...token, id: res.json.id, secret: res.json.token })
    this.removed(token, 'rotated away')
  }

  private async revoke(slot: number, token: TokenState) {
    if (!this.fault) {
      const res = await this.call('DELETE', `/api/v4/personal_access_tokens/${token.id}`, await userAuth(token.user))
      if (res.status !== 204) return this.fail('revoke', `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`)
    }
    this.done.revoke++
    this.removed(token, this.fault ? 'revoked (fault: not revoked)' : 'revoked')
    await this.replaceWithNew(slot, token)
  }

  private removed(token: TokenState, how: string) {
    token.removedAt = Date.now()
    token.removedBy = how
    this.onRemoval(() => this.model.ask(token, token.permissions[0], projectOf(this.model.s, token.group, 0), true))
  }

  /** Removes the owner's membership, and puts it back a second later (as a directory sync would). */
  private async membership(token: TokenState) {
    const u = this.model.user(token.user)
    if (u.unsure || u.removedAt !== undefined || (u.creating ?? 0) > 0) return
    u.unsure = true
    u.touchedAt = Date.now()
    const path = `/api/v4/directory/namespaces/${token.group}/members/${token.user}`
    const auth = `Bearer ${await directoryJwt}`
    const res = this.fault ? { status: 204, json: null } : await this.call('DELETE', path, auth)
    if (res.status !== 204) {
      u.unsure = false
      return this.fail('membership', `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`)
    }
    this.done.membership++
    u.removedAt = Date.now()
    u.unsure = false
    this.onRemoval(() => this.model.ask({ ...token, removedAt: undefined }, token.permissions[0], projectOf(this.model.s, token.group, 0), true))
    setTimeout(() => void this.restore(u, path, auth).catch((err) => this.fail('restore', (err as Error).message)), 1000)
  }

  private async restore(u: UserState, path: string, auth: string) {
    u.unsure = true // from here on either answer is right until the addition has spread
    u.restoreStartedAt = Date.now()
    const res = this.fault ? { status: 200, json: null } : await this.call('PUT', path, auth, { access_level: 30 })
    if (res.status !== 200) return this.fail('restore', `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`)
    this.done.restore++
    u.removedAt = undefined
    setTimeout(() => {
      if (u.removedAt !== undefined) return
      u.unsure = false
      u.settledAt = Date.now()
    }, PROPAGATION_ALLOWANCE_MS)
  }
}
