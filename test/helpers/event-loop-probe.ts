// The event-loop probe (loop-probe.mjs says what it measures) around one piece of async work.
import { startLoopProbe, type LoopReport } from './loop-probe.mjs'

export type { LoopReport }

export async function whileProbing<T>(work: () => Promise<T>): Promise<{ value: T; report: LoopReport }> {
  const stop = startLoopProbe()
  let report: LoopReport | undefined
  try {
    const value = await work()
    report = await stop()
    return { value, report }
  } finally {
    if (!report) await stop()
  }
}

/** One line for a test comment. */
export function describeLoop(report: LoopReport): string {
  const mib = (b: number) => (b / 1024 / 1024).toFixed(0)
  return `longest event-loop block held by the code ${report.longestCodeBlockMs.toFixed(1)} ms (+ ${report.gcMsInLongestBlock.toFixed(1)} ms of GC pauses in it); `
    + `with GC ${report.longestBusyBlockMs.toFixed(1)} ms while running (${report.longestBlockMs.toFixed(1)} ms by the wall clock, histogram max ${report.histogramMaxMs.toFixed(1)} ms); `
    + `longest GC pause ${report.longestGcPauseMs.toFixed(1)} ms; RSS ${mib(report.baselineRssBytes)} → peak ${mib(report.peakRssBytes)} MiB`
}
