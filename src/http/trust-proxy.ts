// Which X-Forwarded-For entry is the client. Fastify 5 no longer honours a hop count (a number
// trusts nothing), so hops become a function: the socket peer is hop 0, the right-most
// X-Forwarded-For entry hop 1, and so on; the first untrusted one is the client. A list of
// addresses instead checks each hop, the immediate peer included.
import type { FastifyServerOptions } from 'fastify'
import type { Config } from '../config.js'

export function fastifyTrustProxy(trust: Config['trustProxy']): FastifyServerOptions['trustProxy'] {
  if (typeof trust === 'number') return trust > 0 ? (_address: string, hop: number) => hop < trust : false
  return trust
}
