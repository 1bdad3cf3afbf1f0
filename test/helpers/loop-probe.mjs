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
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const TICK_MS = 5

/** CPU milliseconds used so far by the calling thread (or the whole process, where unknown). */
function makeCpuClock() {
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
    last = now
    lastCpu = cpu
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss())
  }, TICK_MS)
  histogram.enable()
  return function stop() {
    clearInterval(timer)
    histogram.disable()
    return { longestBlockMs, longestBusyBlockMs, longestBusyEndedAtUs, histogramMaxMs: histogram.max / 1e6, peakRssBytes, baselineRssBytes }
  }
}
