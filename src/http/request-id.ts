// Request ids: unique across processes without a random draw per request. crypto.randomUUID
// allocated ~400 bytes per call (it builds the string from many pieces), which showed in the hot
// path's garbage; a random per-process prefix (48 bits) and a counter are as unique for logs and
// problem details, and cost one short string.
import { randomBytes } from 'node:crypto'

export function requestIdGenerator(): () => string {
  const prefix = randomBytes(6).toString('hex')
  let n = 0
  return () => `${prefix}-${(++n).toString(36)}`
}
