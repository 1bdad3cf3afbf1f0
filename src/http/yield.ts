// Long work on the event loop is cut into slices with a yield between them, so requests that
// arrive meanwhile (every /authorize) wait for one slice, never for the whole job. Slices are cut
// by time, not by count: the same 1,000 items take far longer the first time (before the JIT has
// compiled the code) or on a machine whose cores are busy.
import { setImmediate as nextTurn } from 'node:timers/promises'

/** Work done between two yields: short enough that waiting requests barely notice. */
export const SLICE_MS = 5

/** Lets timers and I/O that became ready run before continuing. */
export function yieldToLoop(): Promise<void> {
  return nextTurn()
}

/** Tells a loop when its slice of time is used up: `await budget.pause()` between items. */
export class LoopBudget {
  private sliceStart = performance.now()

  constructor(private readonly sliceMs = SLICE_MS) {}

  /** Yields to the event loop when the current slice is over; otherwise continues at once. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return
    await yieldToLoop()
    this.sliceStart = performance.now()
  }

  get overdue(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs
  }
}

/** Runs `work` over `items`, yielding whenever a slice of time is used up. */
export async function inSlices<T>(items: readonly T[], work: (item: T, index: number) => void, budget = new LoopBudget()): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    work(items[i], i)
    // reading the clock costs ~50 ns: every 32 items keeps it out of the profile
    if ((i & 31) === 31 && budget.overdue) await budget.pause()
  }
}
