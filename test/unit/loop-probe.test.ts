// The event-loop probe of the bulk tests: a block of our code counts whole, and a garbage
// collector's pause inside a block is reported apart from it (loop-probe.mjs says why).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { whileProbing } from '../helpers/event-loop-probe.js'
import { makeCpuClock } from '../helpers/loop-probe.mjs'

// A full collection on demand, without starting node with --expose-gc
setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void

// Holds the loop for `ms` of CPU time (not wall time: on busy cores the process is also descheduled,
// which the probe rightly does not count), allocating next to nothing (reading a clock in a tight
// loop allocates per read, and the scavenges that follow would be counted as the collector's).
// The probe's own clock: this thread's CPU time, so the spin and the probe count the same thing.
const cpuMs = makeCpuClock()
const spin = (ms: number) => {
  const until = cpuMs() + ms
  let x = 0
  while (cpuMs() < until) for (let i = 0; i < 100_000; i++) x = (x + i) | 0
  return x
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 20))

t.test('a block of code counts whole', async (t) => {
  const { report } = await whileProbing(async () => {
    await tick()
    spin(120)
    await tick()
  })
  t.ok(report.longestCodeBlockMs >= 100, `120 ms of CPU in code: ${report.longestCodeBlockMs.toFixed(1)} ms`)
  t.ok(report.longestBusyBlockMs >= report.longestCodeBlockMs)
})

t.test('a collection inside a block is counted apart from the code around it', async (t) => {
  // a heap worth collecting, kept alive across the collection
  const kept = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `item ${i}` }))
  const { report } = await whileProbing(async () => {
    await tick()
    spin(30)
    collect()
    spin(30)
    await tick()
  })
  t.ok(report.longestGcPauseMs > 0, `the collection was seen: ${report.longestGcPauseMs.toFixed(1)} ms`)
  t.ok(report.gcMsInLongestBlock > 0, `and placed in the block: ${report.gcMsInLongestBlock.toFixed(1)} ms`)
  t.ok(report.longestCodeBlockMs >= 40, `most of the code's 60 ms still count: ${report.longestCodeBlockMs.toFixed(1)} ms`)
  t.ok(report.longestCodeBlockMs <= report.longestBlockMs - report.gcMsInLongestBlock + 1, `without the pause: ${report.longestBlockMs.toFixed(1)} ms by the clock`)
  t.equal(kept.length, 300_000)
})
