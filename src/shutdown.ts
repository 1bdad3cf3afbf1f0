// Graceful shutdown with a bound, for every entry point (npm start, the API and its cluster
// primary, the worker). On SIGINT/SIGTERM (or a crash) `close` runs; the process then exits 0 (1
// after a crash). If `close` has not finished within SHUTDOWN_TIMEOUT — a dependency that stalls
// or is already gone can leave a close waiting on an answer that never comes — or a second signal
// arrives (not the first one delivered twice: SAME_SIGNAL_MS), it exits 1 at once. Either way the
// embedded servers still running are killed on the way out (embedded/children.ts hooks process
// exit), so a forced exit leaves nothing behind.
import closeWithGrace from 'close-with-grace'

export interface ShutdownReason {
  signal?: string
  err?: Error
}

/** Signals this module handles itself (closeWithGrace handles the rest). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const
/**
 * The first signal again within this long is the same Ctrl-C delivered twice, not a second one:
 * `npm run` forwards the terminal's SIGINT to its script, which got it already from the terminal
 * when /bin/sh is bash (bash execs node; Debian's dash does not). A person presses twice slower.
 */
const SAME_SIGNAL_MS = 100

export function closeWithin(timeoutMs: number, log: (msg: string) => void, close: (reason: ShutdownReason) => Promise<void>): void {
  let closing = false
  let first: { signal: NodeJS.Signals; at: number } | undefined
  const secondSignal = (signal: string) => log(`second ${signal}: exiting now`)
  const handle = closeWithGrace(
    {
      // The timer starts before `close` runs, so it fires however `close` behaves (short of
      // blocking the event loop).
      delay: timeoutMs,
      logger: { error: (msg: unknown) => log(String(msg)) },
      skip: [...STOP_SIGNALS],
      onSecondSignal: secondSignal, // closeWithGrace exits 1 after it
      onTimeout: (delay) => log(`shutdown did not finish within ${delay} ms (SHUTDOWN_TIMEOUT): exiting now`),
    },
    async ({ signal, err }) => {
      closing = true
      const reason = signal ?? first?.signal
      if (err) log(`shutting down after an error: ${err.stack ?? err.message}`)
      else log(`shutting down (${reason ?? 'exit'}); a second signal exits at once`)
      await close({ signal: reason, err })
    },
  )
  const onStopSignal = (signal: NodeJS.Signals) => {
    const at = performance.now()
    if (!closing && first === undefined) {
      first = { signal, at }
      void handle.close()
    } else if (first !== undefined && signal === first.signal && at - first.at < SAME_SIGNAL_MS) {
      // the same Ctrl-C, delivered twice (see SAME_SIGNAL_MS)
    } else {
      secondSignal(signal)
      process.exit(1)
    }
  }
  for (const signal of STOP_SIGNALS) process.on(signal, onStopSignal)
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
