// V8 "pretenures" an allocation site (allocates its objects straight into the old generation) once
// nearly all of a sample of them survived a young-generation collection. For a server that bet is
// made from one moment: a burst of requests waiting on PostgreSQL at start-up, or any stall, makes
// the request objects' sites look long-lived, V8 tenures them for the rest of the process's life,
// and from then on every request's garbage fills the old generation (mark-compacts ~10× as often,
// scavenges of 2-3 ms): the "slow process" mode described in bench/README.md.
import { setFlagsFromString } from 'node:v8'

/** V8 ignores flags it does not know: test/unit/gc-tuning.test.ts checks that this one still works. */
export const NO_PRETENURING_FLAG = '--no-allocation-site-pretenuring'

/** Turns allocation-site pretenuring off; called before the server allocates anything per request. */
export function disablePretenuring(): void {
  setFlagsFromString(NO_PRETENURING_FLAG)
}
