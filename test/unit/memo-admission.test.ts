// Which answers the decision memo keeps: only those of questions asked often enough to be asked again
// before the answer expires (UsageRecorder.askedOften, decision-memo.ts). The counts are the usage
// counts of the current flush interval, so `record` needs no database here.
import t from 'tap'
import type { Db } from '../../src/db/index.js'
import { UsageRecorder } from '../../src/modules/authorize/usage.js'

const LIFETIME = 1000
const recorder = () => new UsageRecorder(undefined as unknown as Db, (err) => { throw err })
const at = (ms: number) => new Date(Date.UTC(2026, 11, 6, 12) + ms)
const READ = [{ name: 'read_code' }]

/** Asks the same question at each time (ms); answers whether it is asked often after each asking. */
function ask(usage: UsageRecorder, times: number[], permissions = READ, namespaceId = 100): boolean[] {
  return times.map((ms) => UsageRecorder.askedOften(usage.record(1, at(ms), '192.0.2.1', permissions, namespaceId, true), at(ms).getTime(), LIFETIME))
}

t.test('a question asked many times a second is kept from its third asking', async (t) => {
  t.same(ask(recorder(), [0, 40, 80, 120]), [false, false, true, true])
})

t.test('a question asked less than twice per memo lifetime is not kept', async (t) => {
  // third asking 1.8 s after the first: twice in 1.8 s is less than twice per second
  t.same(ask(recorder(), [0, 900, 1800]), [false, false, false])
  // ...until it is asked often enough since its first asking: the fifth asking, 1.9 s after the first
  t.same(ask(recorder(), [0, 900, 1800, 1850, 1900, 1950]), [false, false, false, false, true, true])
})

t.test('each question is judged by its own askings; a check of several permissions by each', async (t) => {
  const usage = recorder()
  ask(usage, [0, 10, 20]) // read_code on 100: often
  t.same(ask(usage, [30], READ, 200), [false], 'the same permission on another namespace: its first asking')
  t.same(ask(usage, [40], [{ name: 'read_code' }, { name: 'push_code' }]), [false], 'read_code is asked often, push_code is new')
  t.same(ask(usage, [50, 60], [{ name: 'read_code' }, { name: 'push_code' }]), [false, true], 'both asked often')
})

t.test('answers from the memo count as askings (UsageRecorder.again)', async (t) => {
  const usage = recorder()
  const slot = usage.record(1, at(0), undefined, READ, 100, true)
  t.equal(usage.again(slot, at(10), undefined, true), true)
  t.equal(UsageRecorder.askedOften(slot, at(10).getTime(), LIFETIME), false, 'twice')
  t.equal(usage.again(slot, at(20), undefined, true), true)
  t.equal(UsageRecorder.askedOften(slot, at(20).getTime(), LIFETIME), true, 'three times in 20 ms')
})

t.test('a flush starts the count again', async (t) => {
  const usage = recorder()
  t.same(ask(usage, [0, 10, 20]), [false, false, true])
  // the flush's write fails (there is no database here): what matters is that the interval starts anew
  await usage.flush().catch(() => {})
  t.same(ask(usage, [30]), [false], 'first asking of the new interval')
})
