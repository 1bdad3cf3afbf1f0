// Where the logs go: stdout, without ever holding the process on its way out. pino writes stdout
// asynchronously and, at exit, flushes what is still buffered synchronously, retrying for as long
// as stdout refuses more (EAGAIN: a pipe whose reader has stopped reading). The process then sleeps
// in Atomics.wait for good — deaf to every further signal, its sockets to a stopped PostgreSQL
// left in CLOSE-WAIT: the "shutdown that never finishes" of issue 12, reproduced with stdout on a
// pipe nobody reads. Here that last flush gives up after a second: the lines it could not write
// are lost, the exit is not. (While running, a blocked stdout is retried without blocking.)
import { type DestinationStream, pino } from 'pino'

const EXIT_FLUSH_MS = 1000

let shared: DestinationStream | undefined

/** One stdout destination per process, shared by the API's and the worker's loggers. */
export function stdoutLog(): DestinationStream {
  if (shared) return shared
  let giveUpAt = Number.POSITIVE_INFINITY
  // A pipe or socket on fd 1 is blocking unless something opens it the libuv way: then a full pipe
  // does not answer EAGAIN (which the bound below relies on), the write itself blocks, and the
  // process hangs in it at exit for good. Node's process.stdout, when first read, opens fd 1 as a
  // libuv pipe, which sets O_NONBLOCK on it. Nothing else here reads it: the tests only passed
  // because tap's coverage hooks, loaded into every process they spawned, happened to.
  void process.stdout
  const destination = pino.destination({ dest: 1, sync: false, retryEAGAIN: () => Date.now() < giveUpAt })
  const flushSync = destination.flushSync.bind(destination)
  destination.flushSync = () => {
    giveUpAt = Date.now() + EXIT_FLUSH_MS
    try {
      flushSync()
    } catch {
      // Still refused (or already closed): drop the rest rather than hang.
    }
  }
  shared = destination
  return destination
}
