import t from 'tap'
import { TurnBatcher } from '../../src/cache/turn-batcher.js'

t.test('keys asked for in one turn are fetched together, each once, in chunks', async (t) => {
  const calls: number[][] = []
  const b = new TurnBatcher<number, string>(async (keys) => {
    calls.push(keys)
    return new Map(keys.filter((k) => k % 2 === 0).map((k) => [k, `v${k}`]))
  }, 3)
  const answers = await Promise.all([1, 2, 2, 3, 4, 5, 6].map((k) => b.get(k)))
  t.same(answers, [undefined, 'v2', 'v2', undefined, 'v4', undefined, 'v6'])
  t.same(calls, [[1, 2, 3], [4, 5, 6]], 'distinct keys, at most 3 per call, one turn')
  t.equal(await b.get(8), 'v8', 'a later turn is a new batch')
  t.equal(calls.length, 3)
})

t.test('a failed fetch rejects the waiters of that chunk only', async (t) => {
  const b = new TurnBatcher<number, number>(async (keys) => {
    if (keys.includes(1)) throw new Error('down')
    return new Map(keys.map((k) => [k, k * 10]))
  }, 1)
  const [one, two] = await Promise.allSettled([b.get(1), b.get(2)])
  t.equal(one.status, 'rejected')
  t.same(two, { status: 'fulfilled', value: 20 })
})
