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

/**
 * Node flags the API's launchers put on node's command line (package.json's `start`, the
 * Dockerfile's CMD; node:cluster workers inherit them, and the benchmarks start every server with
 * them): a 32 MiB semi-space instead of V8's 16 (less on Node 22+ under a container's memory
 * limit). A scavenge copies what is alive at that moment — the requests in flight and the
 * usage counts not yet promoted — so fewer scavenges copy less for the same garbage: 2-7% less
 * CPU per decision in the realistic mix for 30-90 MB more resident memory, and nothing for a bare
 * route (bench/README.md, `npm run bench:ab`). Only the command line works: V8 sizes the heap at
 * start-up (setFlagsFromString later changes nothing), NODE_OPTIONS refuses --min-semi-space-size,
 * and without it V8 kept the 16 MiB. test/unit/gc-tuning.test.ts checks the launchers carry these.
 */
export const YOUNG_GENERATION_FLAGS = ['--min-semi-space-size=32', '--max-semi-space-size=32'] as const
