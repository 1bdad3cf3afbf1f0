import t from 'tap'
import { requestIdGenerator } from '../../src/http/request-id.js'

t.test('request ids are unique within a process and across generators', async (t) => {
  const a = requestIdGenerator()
  const b = requestIdGenerator()
  const ids = new Set<string>()
  for (let i = 0; i < 10_000; i++) {
    ids.add(a())
    ids.add(b())
  }
  t.equal(ids.size, 20_000)
  t.match(a(), /^[0-9a-f]{12}-[0-9a-z]+$/)
  t.not(a().split('-')[0], b().split('-')[0], 'a random prefix per process (generator)')
})
