// Graceful shutdown with a bound, for every entry point (npm start, the API and its cluster
// primary, the worker). On SIGINT/SIGTERM (or a crash) `close` runs; the process then exits 0 (1
// after a crash). If `close` has not finished within SHUTDOWN_TIMEOUT — a dependency that stalls
// or is already gone can leave a close waiting on an answer that never comes — or a second signal
// arrives, it exits 1 at once. Either way the embedded servers still running are killed on the way
// out (embedded/children.ts hooks process exit), so a forced exit leaves nothing behind.
import closeWithGrace from 'close-with-grace'

export interface ShutdownReason {
  signal?: string
  err?: Error
}

export function closeWithin(timeoutMs: number, log: (msg: string) => void, close: (reason: ShutdownReason) => Promise<void>): void {
  closeWithGrace(
    {
      // The timer starts before `close` runs, so it fires however `close` behaves (short of
      // blocking the event loop).
      delay: timeoutMs,
      logger: { error: (msg: unknown) => log(String(msg)) },
      onSecondSignal: (signal) => log(`second ${signal}: exiting now`),
      onTimeout: (delay) => log(`shutdown did not finish within ${delay} ms (SHUTDOWN_TIMEOUT): exiting now`),
    },
    async ({ signal, err }) => {
      if (err) log(`shutting down after an error: ${err.stack ?? err.message}`)
      else log(`shutting down (${signal ?? 'exit'}); a second signal exits at once`)
      await close({ signal, err })
    },
  )
}

/** Did `promise` settle (either way) within `ms`? false: still pending, and the caller moves on. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}
