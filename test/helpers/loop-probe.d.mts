export interface LoopReport {
  /** Longest time the loop was held past the timer's due time, by the wall clock. */
  longestBlockMs: number
  /** The same gaps, each counted only up to the CPU time the main thread used meanwhile. */
  longestBusyBlockMs: number
  /** When the longest of them ended, in µs of process.hrtime (the clock of a --cpu-prof profile). */
  longestBusyEndedAtUs: number
  /** perf_hooks' maximum event-loop delay (resolution 10 ms). */
  histogramMaxMs: number
  peakRssBytes: number
  baselineRssBytes: number
}
/** Starts probing; the returned function stops and reports. */
export function startLoopProbe(): () => LoopReport
