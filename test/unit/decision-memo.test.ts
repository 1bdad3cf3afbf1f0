import t from 'tap'
import fc from 'fast-check'
import type { Decision } from '../../src/domain/decide.js'
import type { CheckInput } from '../../src/modules/authorize/schemas.js'
import { type ChangedSince, DecisionMemo, MEMO_TTL_MS, questionKey } from '../../src/modules/authorize/decision-memo.js'

const allowed: Decision = { allowed: true, reason: 'allowed' }
const answer = { decision: allowed, tokenId: 1, permissions: [], namespaceId: 7, usage: undefined }
const noon = Date.parse('2026-12-01T12:00:00Z')

t.test('an answer serves its generation only', async (t) => {
  const memo = new DecisionMemo()
  memo.set('aa', 'q', 5, noon, answer)
  t.equal(memo.get('aa', 'q', 5, noon)?.decision, allowed)
  t.equal(memo.get('aa', 'q', 6, noon), undefined, 'an invalidation since: stale')
  t.equal(memo.get('aa', 'other', 5, noon), undefined, 'another question')
  t.equal(memo.get('bb', 'q', 5, noon), undefined, 'another token')
  memo.set('aa', 'q2', 6, noon, answer)
  t.equal(memo.get('aa', 'q', 6, noon), undefined, 'a newer generation drops the older answers of the token')
  t.ok(memo.get('aa', 'q2', 6, noon))
})

t.test('a change to a token or user an answer rests on drops that token\'s answers, and no others', async (t) => {
  const memo = new DecisionMemo()
  const changedAt = new Map<string, number>() // key → the change count at which it last changed
  const changedSince: ChangedSince = (key, since) => (changedAt.get(key) ?? -1) > since
  const on = (since: number, ...keys: string[]) => () => ({ since, keys })
  memo.set('aa', 'q', 1, noon, answer, on(10, 'tok:aa', 'acc:1'), changedSince)
  memo.set('bb', 'q', 1, noon, answer, on(10, 'tok:bb', 'acc:2'), changedSince)
  changedAt.set('tok:bb', 11)
  t.ok(memo.get('aa', 'q', 1, noon, changedSince), 'another token changed: still served')
  t.equal(memo.get('bb', 'q', 1, noon, changedSince), undefined, 'its token changed: not served')
  changedAt.set('acc:1', 12)
  t.equal(memo.get('aa', 'q', 1, noon, changedSince), undefined, 'its owner changed: not served')

  changedAt.set('tok:cc', 10)
  memo.set('cc', 'q', 1, noon, answer, on(10, 'tok:cc'), changedSince)
  t.ok(memo.get('cc', 'q', 1, noon, changedSince), 'a change heard before its lookup began: already in the answer')

  memo.set('aa', 'q2', 1, noon, answer, on(12, 'tok:aa', 'acc:1'), changedSince)
  t.ok(memo.get('aa', 'q2', 1, noon, changedSince), 'an answer looked up after the change is served')
  t.equal(memo.get('aa', 'q', 1, noon, changedSince), undefined, 'the answers from before it do not come back with it')
  changedAt.set('pol:instance', 13) // not a token or user: the generation moves instead
  t.ok(memo.get('aa', 'q2', 1, noon, changedSince), 'only the keys an answer rests on are asked about')
  t.equal(memo.get('aa', 'q2', 2, noon, changedSince), undefined, 'a broad change (a new generation) drops it')
})

t.test('an answer lives MEMO_TTL_MS, within its UTC day, and not before that day', async (t) => {
  const memo = new DecisionMemo()
  memo.set('aa', 'q', 1, noon, answer)
  t.ok(memo.get('aa', 'q', 1, noon + MEMO_TTL_MS / 2 - 1), 'at least half the TTL')
  t.equal(memo.get('aa', 'q', 1, noon + MEMO_TTL_MS), undefined, 'at most the TTL')
  const lives = new Set<boolean>()
  for (let i = 0; i < 200; i++) {
    memo.set('spread', `q${i % 50}`, 1, noon, answer)
    lives.add(memo.get('spread', `q${i % 50}`, 1, noon + MEMO_TTL_MS * 0.75) !== undefined)
  }
  t.same([...lives].sort(), [false, true], 'answers made together expire at different times')
  const late = Date.parse('2026-12-01T23:59:59.800Z')
  memo.set('aa', 'late', 1, late, answer)
  t.ok(memo.get('aa', 'late', 1, late + 199)) // within half the TTL
  t.equal(memo.get('aa', 'late', 1, late + 200), undefined, 'midnight ends it: decisions depend on the date')
  t.ok(memo.get('aa', 'late', 1, Date.parse('2026-12-01T00:00:00Z')), 'earlier the same day: the same date, the same answer')
  t.equal(memo.get('aa', 'late', 1, Date.parse('2026-11-30T23:59:59.999Z')), undefined, 'a clock set back to the day before')
})

t.test('the memo stays bounded', async (t) => {
  const memo = new DecisionMemo()
  for (let i = 0; i < 64; i++) memo.set('aa', `q${i}`, 1, noon, answer)
  t.ok(memo.get('aa', 'q63', 1, noon))
  memo.set('aa', 'q64', 1, noon, answer)
  t.equal(memo.get('aa', 'q0', 1, noon), undefined, 'a token with too many questions starts over')
  t.ok(memo.get('aa', 'q64', 1, noon))
  for (let i = 0; i < 50_000; i++) memo.set(`t${i}`, 'q', 1, noon, answer)
  t.equal(memo.heldTokens, 50_000, 'at most 50,000 tokens a second')
  t.equal(memo.get('t49999', 'q', 1, noon), undefined, 'beyond them, answers are not memoized')
  t.ok(memo.get('t0', 'q', 1, noon), 'what is held stays')
  memo.set('one-more', 'q', 1, noon + MEMO_TTL_MS, answer)
  t.ok(memo.get('one-more', 'q', 1, noon + MEMO_TTL_MS), 'the next second takes new tokens')
})

t.test('question keys', async (t) => {
  const project = { type: 'project' as const, id: 5 }
  t.equal(questionKey({ permission: 'read_code', resource: project }, undefined), questionKey({ permission: 'read_code', resource: project }, undefined))
  const keys = [
    questionKey({ permission: 'read_code', resource: project }, undefined),
    questionKey({ permission: 'read_code', resource: project }, '10.0.0.1'),
    questionKey({ permission: 'push_code', resource: project }, undefined),
    questionKey({ permissions: ['read_code'], resource: { type: 'group', id: 5 } }, undefined),
    questionKey({ permissions: ['read_code', 'push_code'], resource: project }, undefined),
    questionKey({ permission: 'read_code', resource: { type: 'project', path: 'acme/api' } }, undefined),
    questionKey({ permission: 'read_code', resource: { type: 'project', id: 55 } }, undefined),
    questionKey({ permission: 'read_user', resource: { type: 'user', id: 5 } }, undefined),
  ]
  t.equal(new Set(keys).size, keys.length, 'IP, permissions, resource type, id and path all tell questions apart')
  t.equal(questionKey({ permission: 'read_user', resource: { type: 'user', path: 'alice' } }, undefined), undefined, 'a username is resolved by a lookup no invalidation covers')
  t.equal(questionKey({ resource: project }, undefined), undefined, 'no permission: a bad request')
  t.equal(questionKey({ permission: 'read_code', permissions: ['read_code'], resource: project }, undefined), undefined, 'both: a bad request')
})

t.test('question keys are injective: no value can pose as another question', async (t) => {
  const project = { type: 'project' as const, id: 5 }
  // The two collisions found against the old `type|id|path|a,b|ip` key.
  t.not(
    questionKey({ permissions: ['read_code', 'read_merge_request'], resource: project }, undefined),
    questionKey({ permission: 'read_code,read_merge_request', resource: project }, undefined),
    'a comma in one permission name is not a list',
  )
  t.not(
    questionKey({ permission: 'read_code', resource: project }, '10.0.0.1|x'),
    questionKey({ permission: 'read_code|10.0.0.1', resource: project }, 'x'),
    'a separator in one field does not move the others',
  )
  t.not(
    questionKey({ permission: 'read_code', resource: { type: 'project', path: 'a|1:b' } }, undefined),
    questionKey({ permission: 'read_code', resource: { type: 'project', path: 'a' } }, '1:b'),
  )
  // Any two different questions: different keys (equal questions: equal keys).
  const text = fc.string({ unit: fc.constantFrom('a', '|', ',', ':', '1', '-', 'P', 'p'), maxLength: 6 })
  const check = fc.record({
    resource: fc.oneof(
      fc.record({ type: fc.constantFrom('project' as const, 'group' as const, 'user' as const), id: fc.integer({ min: 1, max: 12 }) }),
      fc.record({ type: fc.constantFrom('project' as const, 'group' as const), path: text }),
      fc.constant({ type: 'instance' as const }),
    ),
    single: fc.boolean(),
    names: fc.array(text, { minLength: 1, maxLength: 3 }),
    ip: fc.option(text, { nil: undefined }),
  })
  const asInput = (c: { resource: NonNullable<CheckInput['resource']>; single: boolean; names: string[] }): Parameters<typeof questionKey>[0] =>
    c.single ? { permission: c.names[0], resource: c.resource } : { permissions: c.names, resource: c.resource }
  fc.assert(
    fc.property(check, check, (a, b) => {
      const qa = asInput(a)
      const qb = asInput(b)
      const same = JSON.stringify([qa, a.ip ?? null]) === JSON.stringify([qb, b.ip ?? null])
      return (questionKey(qa, a.ip) === questionKey(qb, b.ip)) === same
    }),
    { seed: 12, numRuns: 20_000 },
  )
})

t.test('answers nobody asks for again are dropped within two TTLs, whatever their number', async (t) => {
  // The soak found the memo keeping every answer (and the usage slot it held) of tokens not asked
  // again, for as long as fewer than 50,000 tokens had been asked about: memory that only grew.
  const memo = new DecisionMemo()
  for (let i = 0; i < 10_000; i++) memo.set(`token-${i}`, 'q', 1, noon, answer)
  t.equal(memo.heldTokens, 10_000)
  memo.set('busy', 'q', 1, noon + MEMO_TTL_MS, answer)
  t.equal(memo.heldTokens, 10_001, 'the previous second is kept: its answers are still valid')
  t.ok(memo.get('token-1', 'q', 1, noon + MEMO_TTL_MS * 0.4), 'and served')
  memo.set('busy', 'q', 1, noon + 2 * MEMO_TTL_MS, answer)
  t.equal(memo.heldTokens, 2, 'two TTLs on: only tokens asked about since are held')
  t.ok(memo.get('busy', 'q', 1, noon + 2 * MEMO_TTL_MS + 1), 'a token asked about every second stays answered')
  memo.get('x', 'q', 1, noon + 10 * MEMO_TTL_MS)
  t.equal(memo.heldTokens, 0, 'after a quiet spell, nothing')
})
