// Measures how long the event loop was held while something ran: a 5 ms interval timer notes the
// largest gap between its ticks (minus the interval), next to perf_hooks' event-loop delay
// histogram; and the peak RSS of the process meanwhile. Plain JavaScript so that both a tap test
// (event-loop-probe.ts) and a plain-node child process (maximal-bulk.mjs) use the same probe.
//
// On a machine whose cores are shared (CI, or two test files beside PostgreSQL on two cores) a gap
// also counts the time the OS did not run the process at all. So each gap is also measured by the
// CPU time the main thread itself used during it (Linux: /proc/thread-self/schedstat, in ns), and
// `longestBusyBlockMs` = the longest gap, counted only as far as the main thread was running. That
// is what our code (and the garbage collector's pauses of it) held the loop for; the wall-clock
// figure is reported beside it. Elsewhere the whole process's CPU time stands in (an over-estimate:
// it adds the GC helper threads and libuv's pool).
//
// `longestCodeBlockMs` takes the garbage collector's pauses out of each gap (perf_hooks' `gc`
// entries that fall in it): what slicing our work can bound. The pauses are V8's, and how long one
// lasts depends on what survives and on whether its helper threads got a core: scavenges of 15–56 ms
// on an idle machine during a maximal bulk load, about twice that when CI's cores are busy, where a
// gap of 107.6 ms failed a bound meant for our slices. They are reported on their own
// (`longestGcPauseMs`, `gcMsInLongestBlock`).
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'

const TICK_MS = 5
/** Gaps shorter than this cannot be the longest code block that matters; only longer ones are kept. */
const KEPT_GAP_MS = 10

/** CPU milliseconds used so far by the calling thread (or the whole process, where unknown). */
export function makeCpuClock() {
  try {
    const read = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6
    if (Number.isFinite(read())) return read
  } catch { /* not Linux */ }
  return () => {
    const { user, system } = process.cpuUsage()
    return (user + system) / 1000
  }
}

export function startLoopProbe() {
  const cpuMs = makeCpuClock()
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  const baselineRssBytes = process.memoryUsage.rss()
  let peakRssBytes = baselineRssBytes
  let longestBlockMs = 0
  let longestBusyBlockMs = 0
  let longestBusyEndedAtUs = 0
  /** Gaps of over KEPT_GAP_MS while running: [due, to] on performance.now()'s clock, their wall ms and busy ms. */
  const gaps = []
  /** The longest of the gaps not kept, counted whole (GC included): a floor for longestCodeBlockMs. */
  let longestNotKept = 0
  /** The collector's pauses meanwhile: [start, duration] on the same clock. */
  const pauses = []
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push([e.startTime, e.duration])
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  let last = performance.now()
  let lastCpu = cpuMs()
  const timer = setInterval(() => {
    const now = performance.now()
    const cpu = cpuMs()
    const blockMs = now - last - TICK_MS
    longestBlockMs = Math.max(longestBlockMs, blockMs)
    const busyMs = Math.min(blockMs, cpu - lastCpu)
    if (busyMs > longestBusyBlockMs) {
      longestBusyBlockMs = busyMs
      longestBusyEndedAtUs = Number(process.hrtime.bigint() / 1000n) // the clock of a --cpu-prof profile
    }
    // from when the tick was due: what blockMs counts
    if (busyMs > KEPT_GAP_MS) gaps.push([last + TICK_MS, now, blockMs, busyMs])
    else longestNotKept = Math.max(longestNotKept, busyMs)
    last = now
    lastCpu = cpu
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss())
  }, TICK_MS)
  histogram.enable()
  return async function stop() {
    clearInterval(timer)
    histogram.disable()
    // Node reports a pause from a callback after it: let the last ones arrive.
    await nextTurn()
    for (const e of gcObserver.takeRecords()) pauses.push([e.startTime, e.duration])
    gcObserver.disconnect()
    // Entries can overlap (one collection reported in parts): merged, so no time is taken off twice.
    const merged = []
    for (const [start, duration] of [...pauses].sort((a, b) => a[0] - b[0])) {
      const end = start + duration
      const lastMerged = merged[merged.length - 1]
      if (lastMerged && start <= lastMerged[1]) lastMerged[1] = Math.max(lastMerged[1], end)
      else merged.push([start, end])
    }
    let longestCodeBlockMs = longestNotKept
    let gcMsInLongestBlock = 0
    for (const [from, to, blockMs, busyMs] of gaps) {
      let gcMs = 0
      for (const [start, end] of merged) gcMs += Math.max(0, Math.min(to, end) - Math.max(from, start))
      // The pauses are wall time, and the main thread may wait in them for the collector's helper
      // threads without using CPU: so they come off the gap's wall time, and the CPU the main thread
      // used bounds what is left. Whichever is smaller; neither can undercount the code.
      const codeMs = Math.max(0, Math.min(busyMs, blockMs - gcMs))
      if (codeMs > longestCodeBlockMs) {
        longestCodeBlockMs = codeMs
        gcMsInLongestBlock = gcMs
      }
    }
    const longestGcPauseMs = pauses.reduce((max, [, duration]) => Math.max(max, duration), 0)
    return {
      longestBlockMs, longestBusyBlockMs, longestBusyEndedAtUs, longestCodeBlockMs, gcMsInLongestBlock, longestGcPauseMs,
      histogramMaxMs: histogram.max / 1e6, peakRssBytes, baselineRssBytes,
    }
  }
}
