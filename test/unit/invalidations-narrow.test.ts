// What the decision memo is told about changes (src/cache/invalidations.ts): a token's or a user's
// change is remembered by key and leaves the generation alone; any other change moves the
// generation; every change moves the change count; and the remembered keys are only ever
// forgotten together with a move of the generation, so no answer outlives a change it missed.
import t from 'tap'
import { Invalidations, MAX_NARROW } from '../../src/cache/invalidations.js'
import type { RedisClient } from '../../src/cache/redis-client.js'
import type { RedisBreaker } from '../../src/cache/redis-breaker.js'

function invalidations() {
  const dropped: string[] = []
  const inv = new Invalidations({
    redis: { defineCommand: () => {} } as unknown as RedisClient, // raise() never calls Redis
    prefix: 'test:', breaker: {} as RedisBreaker, log: { warn: () => {} },
    onNewer: (key) => dropped.push(key), onResume: () => {},
  })
  return { inv, dropped }
}

t.test('a token\'s or a user\'s change is remembered by key; any other moves the generation', async (t) => {
  const { inv, dropped } = invalidations()
  const start = { generation: inv.generation, changes: inv.changes }
  inv.raise('tok:ab12', 3)
  t.equal(inv.generation, start.generation, 'a token: the generation stays')
  t.equal(inv.changes, start.changes + 1, 'the change count moves')
  t.ok(inv.changedSince('tok:ab12', start.changes), 'changed since before it')
  t.notOk(inv.changedSince('tok:ab12', inv.changes), 'not since after it')
  t.notOk(inv.changedSince('tok:cd34', start.changes), 'another token did not change')
  inv.raise('acc:7', 2)
  t.equal(inv.generation, start.generation, 'a user: the generation stays')
  t.ok(inv.changedSince('acc:7', start.changes + 1))
  const counted = inv.changes
  inv.raise('acc:7', 2)
  t.equal(inv.changes, counted, 'the same version heard again (PostgreSQL and Redis both tell): nothing moves')
  inv.raise('ns:100', 5)
  inv.raise('pol:instance', 1)
  inv.raise('pol:group:100', 1)
  t.equal(inv.generation, start.generation + 3, 'a namespace or a policy: the generation moves')
  t.notOk(inv.changedSince('ns:100', start.changes), 'and is not remembered by key')
  t.same(dropped, ['tok:ab12', 'acc:7', 'ns:100', 'pol:instance', 'pol:group:100'], 'the caches drop each changed key either way')
})

t.test('the remembered changes are bounded, and forgetting them moves the generation', async (t) => {
  const { inv } = invalidations()
  const before = inv.changes
  for (let i = 0; i < MAX_NARROW; i++) inv.raise(`acc:${i}`, 1)
  const generation = inv.generation
  t.ok(inv.changedSince('acc:0', before), 'all remembered up to the bound')
  inv.raise(`acc:${MAX_NARROW}`, 1)
  t.equal(inv.generation, generation + 1, 'one more: the generation moves, dropping every answer made before')
  t.notOk(inv.changedSince('acc:0', before), 'while the older keys are forgotten')
  t.ok(inv.changedSince(`acc:${MAX_NARROW}`, before), 'the newest is remembered')
})
