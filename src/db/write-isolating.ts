// Batched writes in which one bad row cannot sink the others.
import { isPostgresUnavailable } from './errors.js'

export interface IsolatedWriteResult<T> {
  /** Rows not written because PostgreSQL was unavailable (not because of their data). */
  rows: T[]
  error: Error | undefined
}

/**
 * Writes `rows` in batches of `batchSize`. A batch PostgreSQL refuses for its data (a constraint,
 * an invalid value) is split in halves until the refused rows are alone; those are handed to
 * `dropped` and every other row is written (log2(batch) extra statements per bad row). When
 * PostgreSQL is unavailable instead (no answer, timeout, shutting down), nothing more is tried and
 * the rows not yet written are returned, so the caller can keep them for later.
 */
export async function writeIsolating<T>(rows: T[], batchSize: number, write: (batch: T[]) => Promise<void>, dropped: (row: T, err: Error) => void): Promise<IsolatedWriteResult<T>> {
  const left: T[] = []
  let error: Error | undefined
  const attempt = async (batch: T[]): Promise<void> => {
    if (error) {
      left.push(...batch)
      return
    }
    try {
      await write(batch)
    } catch (err) {
      if (isPostgresUnavailable(err)) {
        error = err as Error
        left.push(...batch)
      } else if (batch.length === 1) {
        dropped(batch[0], err as Error)
      } else {
        const half = Math.ceil(batch.length / 2)
        await attempt(batch.slice(0, half))
        await attempt(batch.slice(half))
      }
    }
  }
  for (let i = 0; i < rows.length; i += batchSize) await attempt(rows.slice(i, i + batchSize))
  return { rows: left, error }
}
