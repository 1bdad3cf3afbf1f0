// Measures how long the event loop was held while something ran: a 5 ms interval timer notes the
// largest gap between its ticks (minus the interval), next to perf_hooks' event-loop delay
// histogram; and the peak RSS of the process meanwhile.
//
// On a machine whose cores are shared (CI, or four test suites on two cores) a gap also counts the
// time the OS did not run the process at all. So each gap is also measured by the CPU time the
// process used during it (all its threads: an over-estimate of the main thread's share), and
// `longestBusyBlockMs` = the longest gap, counted only as far as the process was running. That is
// what our code held the loop for; the wall-clock figure is reported beside it.
import { monitorEventLoopDelay } from 'node:perf_hooks'

const TICK_MS = 5

export interface LoopReport {
  /** Longest time the loop was held past the timer's due time, by the wall clock. */
  longestBlockMs: number
  /** The same gaps, each counted only up to the CPU time the process used meanwhile. */
  longestBusyBlockMs: number
  /** perf_hooks' maximum event-loop delay (resolution 10 ms). */
  histogramMaxMs: number
  peakRssBytes: number
  baselineRssBytes: number
}

export async function whileProbing<T>(work: () => Promise<T>): Promise<{ value: T; report: LoopReport }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  const baselineRssBytes = process.memoryUsage.rss()
  let peakRssBytes = baselineRssBytes
  let longestBlockMs = 0
  let longestBusyBlockMs = 0
  let last = performance.now()
  let lastCpu = process.cpuUsage()
  const timer = setInterval(() => {
    const now = performance.now()
    const cpu = process.cpuUsage(lastCpu)
    const blockMs = now - last - TICK_MS
    longestBlockMs = Math.max(longestBlockMs, blockMs)
    longestBusyBlockMs = Math.max(longestBusyBlockMs, Math.min(blockMs, (cpu.user + cpu.system) / 1000))
    last = now
    lastCpu = process.cpuUsage()
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss())
  }, TICK_MS)
  histogram.enable()
  try {
    const value = await work()
    return { value, report: { longestBlockMs, longestBusyBlockMs, histogramMaxMs: histogram.max / 1e6, peakRssBytes, baselineRssBytes } }
  } finally {
    clearInterval(timer)
    histogram.disable()
  }
}

/** One line for a test comment. */
export function describeLoop(report: LoopReport): string {
  const mib = (b: number) => (b / 1024 / 1024).toFixed(0)
  return `longest event-loop block ${report.longestBusyBlockMs.toFixed(1)} ms while running (${report.longestBlockMs.toFixed(1)} ms by the wall clock, histogram max ${report.histogramMaxMs.toFixed(1)} ms); RSS ${mib(report.baselineRssBytes)} → peak ${mib(report.peakRssBytes)} MiB`
}
