// A request that waits on PostgreSQL or Redis is answered within a bound, whatever they do: past
// it, the caller gets a 503 at once, and the work left behind ends on its own (every statement and
// command has its own timeout).
import { AppError } from './errors.js'

export const unavailable = (detail = 'A backing service (PostgreSQL, Redis) did not answer in time; retry shortly') => new AppError(503, 'unavailable', detail)

/** `work`'s outcome, or a 503 AppError after `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number, detail?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(unavailable(detail)), ms)
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}
