// The answers of recent /authorize questions, so that a repeated question costs one HMAC and two
// map lookups instead of five L1 reads and the decision. Backends ask the same few questions of the
// same tokens all day; this is what keeps the warm path near the ceiling (bench/README.md).
//
// Safe because an answer is only as old as its inputs allow:
// - it is stored only if no change at all was heard while it was decided (the policy cache's change
//   count, read *before* the inputs were looked up, is the same after);
// - a change to its token or to its owner drops it: the answer keeps their cache keys and the
//   change count it was looked up at, and is not served once one of them has changed since
//   (Invalidations.changedSince), so after a revoke, an edit, a membership change or a block no
//   older answer is served (an answer about another user is not kept: it would rest on that
//   user's entry too). Any other change (a namespace, a policy) and L1 cleared after a reconnect
//   move the generation the answer is tagged with, which drops every answer. Before, every change
//   moved the generation: under a realistic mix with 1% writes the memo answered 3% instead of
//   15% (bench/README.md, issue 17);
// - it is used only while L1 is (the invalidation subscription is up): the same rule as L1;
// - it holds for at most MEMO_TTL_MS, and only within the UTC day it was decided on (decisions
//   depend on the time only through the date: expiry, membership expiry, legacy cut-off);
// - it is stored only when the token, its owner and the resource were all found: answers that rest
//   on something missing (token_not_found, resource_not_found, user_inactive for a deleted user)
//   are never memoized, as the creation of what was missing need not invalidate anything.
// Keyed by the token's digest (never the token itself) and the question.
//
// Admission: an answer is kept only for a question asked often enough to be asked again before the
// answer expires: at least three times in the current usage interval and, since its first asking
// there, at least twice per MEMO_TTL_MS on average (the usage counts say so: UsageRecorder.askedOften).
// A kept answer costs more than deciding again: it outlives young-generation collections, is promoted
// and collected by full GCs. Under the realistic mix (Zipf tokens, most questions new) keeping every
// answer promoted 2.5 KB per request; keeping those asked twice in the interval (10 s), most of which
// expired unused, still cost more than the memo saved (the memo off spent 10.6% less CPU per request;
// this rule ~3% less: 0.935, 0.991, 0.977 in three bench:ab runs, both orders), while a question asked
// every few hundred ms (the warm path) is kept from its third asking and costs the same (0.989). See
// bench/README.md, issue 17.
import { DAY_MS } from '../../domain/dates.js'
import type { Decision } from '../../domain/decide.js'
import type { Permission } from '../../domain/permissions/index.js'
import type { CheckInput, ResourceRefInput } from './schemas.js'
import type { UsageSlot } from './usage.js'

export const MEMO_TTL_MS = 1000
// Between half the TTL and all of it, at random: answers made together (a burst of new callers, a
// restart) would otherwise expire together and be decided again in one burst, every TTL.
const ttl = () => MEMO_TTL_MS * (0.5 + Math.random() / 2)
const MAX_TOKENS = 50_000
const MAX_QUESTIONS_PER_TOKEN = 64

/** What the hot path needs to answer a repeated question: the decision and what usage records. */
export interface MemoAnswer {
  decision: Decision
  tokenId: number
  permissions: Permission[]
  namespaceId: number
  validFrom: number
  validUntil: number
  /** Where usage was last counted for this answer (UsageRecorder.again). */
  usage: UsageSlot | undefined
  /**
   * The decision as the route sends it, made the first time the answer is sent from the memo (the
   * decision never changes). Kept here rather than in a WeakMap keyed by decision: every decided
   * answer went through that map, and its entries kept each decision and its JSON alive until a
   * full GC, a large share of what the hot path promoted (bench/README.md, issue 17).
   */
  json: string | undefined
}

/** Besides the generation, what a token's answers rest on: the token's and users' cache keys, and the change count when they were looked up. */
export interface Subjects {
  since: number
  keys: string[]
}
/** Whether `key` changed after the change count was `since` (Invalidations.changedSince). */
export type ChangedSince = (key: string, since: number) => boolean
const NOTHING_CHANGED: ChangedSince = () => false
const NO_SUBJECTS = (): Subjects => ({ since: 0, keys: [] })

interface TokenAnswers extends Subjects {
  generation: number
  byQuestion: Map<string, MemoAnswer>
}

/** Whether something the answers rest on changed since they were looked up. */
function stale(answers: TokenAnswers, changedSince: ChangedSince): boolean {
  for (const key of answers.keys) if (changedSince(key, answers.since)) return true
  return false
}

/** A string field that may contain anything, the separator included: its length says where it ends. */
const field = (s: string | undefined): string => (s === undefined ? '-' : `${s.length}:${s}`)

/**
 * The memo key of one check, or undefined when it must not be memoized: a user given by username
 * (resolved by a database lookup that no invalidation covers), or a malformed check (it throws).
 *
 * Injective: two different questions never share a key. Every free-text field (path, permission
 * names, ip) is length-prefixed, so no value can forge a separator (`"read_code|10.0.0.1"` as a
 * permission); `permission` and `permissions` are marked apart (`"a,b"` is one name, not two). The
 * type comes from an enum and the id is an integer. A cache on the authorization path must never
 * answer a question it was not asked.
 */
export function questionKey(check: Pick<CheckInput, 'permission' | 'permissions'> & { resource: ResourceRefInput }, ip: string | undefined): string | undefined {
  const r = check.resource
  if (r.type === 'user' && r.path !== undefined) return undefined
  if ((check.permission === undefined) === (check.permissions === undefined)) return undefined
  let permissions: string
  if (check.permission !== undefined) permissions = `p${field(check.permission)}`
  else {
    permissions = `P${check.permissions!.length}`
    for (const name of check.permissions!) permissions += field(name)
  }
  return `${r.type}|${r.id ?? ''}|${field(r.path)}|${permissions}|${field(ip)}`
}

/**
 * The memo key of a request-form check (`request: {method, path}`), from what its route resolved to:
 * one permission and the resource the path names (`{type: 'user'}` alone is the token's owner, the
 * same user for every question of that token). Marked `R` apart from the permission form, whose
 * answer carries no route fields; a user named by username is not memoized, as in questionKey.
 */
export function routeQuestionKey(permission: string, resource: ResourceRefInput, ip: string | undefined): string | undefined {
  if (resource.type === 'user' && resource.path !== undefined) return undefined
  return `R${resource.type}|${resource.id ?? ''}|${field(resource.path)}|${field(permission)}|${field(ip)}`
}

/**
 * Answers live in two maps, the current second's and the previous one's; every MEMO_TTL_MS the
 * older map is dropped whole. An answer is valid for at most MEMO_TTL_MS, so nothing still valid is
 * lost, and memory follows the tokens asked about in the last two seconds: an answer that is never
 * asked for again does not stay (with its usage slot) until some size bound is reached.
 */
export class DecisionMemo {
  private current = new Map<string, TokenAnswers>()
  private previous = new Map<string, TokenAnswers>()
  private turnedAt = 0

  private turn(nowMs: number): void {
    if (nowMs - this.turnedAt < MEMO_TTL_MS) return
    this.previous = nowMs - this.turnedAt < 2 * MEMO_TTL_MS ? this.current : new Map()
    this.current = new Map()
    this.turnedAt = nowMs
  }

  /** A token's answers, moved into the current map when found in the previous one. */
  private answersOf(digestKey: string): TokenAnswers | undefined {
    const answers = this.current.get(digestKey)
    if (answers !== undefined) return answers
    const earlier = this.previous.get(digestKey)
    if (earlier !== undefined && this.current.size < MAX_TOKENS) this.current.set(digestKey, earlier)
    return earlier
  }

  /** Tokens whose answers are held (for tests: memory follows the last two seconds' tokens). */
  get heldTokens(): number {
    let n = this.current.size
    for (const key of this.previous.keys()) if (!this.current.has(key)) n++
    return n
  }

  get(digestKey: string, question: string, generation: number, nowMs: number, changedSince: ChangedSince = NOTHING_CHANGED): MemoAnswer | undefined {
    this.turn(nowMs)
    const answers = this.answersOf(digestKey)
    if (answers === undefined || answers.generation !== generation || stale(answers, changedSince)) return undefined
    const answer = answers.byQuestion.get(question)
    return answer !== undefined && nowMs >= answer.validFrom && nowMs < answer.validUntil ? answer : undefined
  }

  /**
   * `generation` is the one read before the decision's inputs were looked up; `subjects` gives the
   * change count read then and the keys the answer rests on (asked for only when the token has no
   * current answers to join).
   */
  set(digestKey: string, question: string, generation: number, decidedAtMs: number, answer: Omit<MemoAnswer, 'validFrom' | 'validUntil' | 'json'>,
    subjects: () => Subjects = NO_SUBJECTS, changedSince: ChangedSince = NOTHING_CHANGED): void {
    this.turn(decidedAtMs)
    let answers = this.answersOf(digestKey)
    if (answers === undefined || answers.generation !== generation || answers.byQuestion.size >= MAX_QUESTIONS_PER_TOKEN || stale(answers, changedSince)) {
      if (this.current.size >= MAX_TOKENS) return // bounded: the next second's map takes it
      const { since, keys } = subjects()
      answers = { generation, since, keys, byQuestion: new Map() }
      this.current.set(digestKey, answers)
    }
    const dayStart = decidedAtMs - (((decidedAtMs % DAY_MS) + DAY_MS) % DAY_MS)
    // A literal with every field, not a spread: one hidden class for all answers keeps the hot path's
    // property loads monomorphic (a spread made each answer a dictionary object: an IC miss per load).
    answers.byQuestion.set(question, {
      decision: answer.decision, tokenId: answer.tokenId, permissions: answer.permissions, namespaceId: answer.namespaceId,
      validFrom: dayStart, validUntil: Math.min(decidedAtMs + ttl(), dayStart + DAY_MS), usage: answer.usage, json: undefined,
    })
  }
}
