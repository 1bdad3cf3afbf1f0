// Long work on the event loop is cut into slices with a yield between them, so requests that
// arrive meanwhile (every /authorize) wait for one slice, never for the whole job.
import { setImmediate as nextTurn } from 'node:timers/promises'

/** Lets timers and I/O that became ready run before continuing. */
export function yieldToLoop(): Promise<void> {
  return nextTurn()
}

/** Runs `work` over `items` a slice at a time, yielding between slices. */
export async function inSlices<T>(items: readonly T[], size: number, work: (item: T, index: number) => void): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    const end = Math.min(items.length, start + size)
    for (let i = start; i < end; i++) work(items[i], i)
    if (end < items.length) await yieldToLoop()
  }
}
