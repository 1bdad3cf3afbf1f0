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

t.test('a wanted key joins the turn\'s fetch without a waiter; asking for it later in the turn still answers', async (t) => {
  const calls: number[][] = []
  const b = new TurnBatcher<number, string>(async (keys) => {
    calls.push(keys)
    return new Map(keys.map((k) => [k, `v${k}`]))
  })
  b.want(1)
  b.want(2)
  const two = b.get(2)
  t.equal(await b.get(3), 'v3')
  t.equal(await two, 'v2')
  t.same(calls, [[1, 2, 3]], 'one fetch with the wanted keys')
  b.want(4)
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(calls, [[1, 2, 3], [4]], 'a turn of wanted keys alone is fetched too')
  const failing = new TurnBatcher<number, string>(async () => {
    throw new Error('down')
  })
  failing.want(1)
  await t.rejects(failing.get(2), /down/, 'a failed fetch rejects the waiters; the wanted key has none (no unhandled rejection)')
})
