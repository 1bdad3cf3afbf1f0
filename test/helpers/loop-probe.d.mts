export interface LoopReport {
  /** Longest time the loop was held past the timer's due time, by the wall clock. */
  longestBlockMs: number
  /** The same gaps, each counted only up to the CPU time the main thread used meanwhile. */
  longestBusyBlockMs: number
  /** The same gaps without the garbage collector's pauses in them: how long our code held the loop. */
  longestCodeBlockMs: number
  /** The collector's pauses within the gap that gave longestCodeBlockMs. */
  gcMsInLongestBlock: number
  /** The longest single pause of the garbage collector while probing (wall clock). */
  longestGcPauseMs: number
  /** When the longest of them ended, in µs of process.hrtime (the clock of a --cpu-prof profile). */
  longestBusyEndedAtUs: number
  /** perf_hooks' maximum event-loop delay (resolution 10 ms). */
  histogramMaxMs: number
  peakRssBytes: number
  baselineRssBytes: number
}
/** Starts probing; the returned function stops and reports. */
export function startLoopProbe(): () => Promise<LoopReport>
/** CPU milliseconds used so far by the calling thread (Linux), or by the whole process elsewhere. */
export function makeCpuClock(): () => number
