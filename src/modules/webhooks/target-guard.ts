// Resolves a webhook URL's host and applies the address rules of src/domain/webhook-targets.ts.
// Used at registration (to tell the caller what to fix) and as the socket's DNS lookup at delivery,
// so the address checked is the address connected to: a name re-pointed at 127.0.0.1 after
// registration (DNS rebinding) fails at delivery.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type BlockList, type LookupFunction } from 'node:net'
import { judgeAddress } from '../../domain/webhook-targets.js'

const LOOKUP_TIMEOUT_MS = 3000

export class TargetRefused extends Error {
  override name = 'TargetRefused'
}

function lookupAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TargetRefused(`${host} did not resolve within ${LOOKUP_TIMEOUT_MS} ms`)), LOOKUP_TIMEOUT_MS)
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => {
      clearTimeout(timer)
      if (err) reject(new TargetRefused(`${host} does not resolve (${err.code ?? err.message})`))
      else resolve(addresses)
    })
  })
}

/** Every address `host` resolves to, each allowed; one refused address refuses the name. */
export async function allowedAddresses(host: string, allowed: BlockList): Promise<LookupAddress[]> {
  const bare = host.replace(/^\[|\]$/g, '')
  const addresses = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await lookupAll(bare)
  if (addresses.length === 0) throw new TargetRefused(`${host} has no address`)
  for (const a of addresses) {
    const verdict = judgeAddress(a.address, allowed)
    if (!verdict.ok) throw new TargetRefused(bare === a.address ? verdict.reason : `${host} resolves to ${verdict.reason}`)
  }
  return addresses
}

/**
 * Checks a URL for registration: http(s), no credentials, an allowed host; https unless every
 * address is in an allowed range (a receiver on the administrator's own network). Returns the
 * problem as a sentence, or undefined.
 */
export async function checkWebhookUrl(raw: string, allowed: BlockList): Promise<string | undefined> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'is not a URL'
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https:// URL'
  if (url.username || url.password) return 'must not carry credentials; the signature authenticates deliveries'
  let addresses: LookupAddress[]
  try {
    addresses = await allowedAddresses(url.hostname, allowed)
  } catch (err) {
    if (err instanceof TargetRefused) return `is refused: ${err.message}`
    throw err
  }
  if (url.protocol === 'http:' && !addresses.every((a) => allowed.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4'))) {
    return 'must use https (plain http only to addresses in WEBHOOK_ALLOWED_RANGES)'
  }
  return undefined
}

/** A socket lookup that only ever returns allowed addresses (for http.request's `lookup`). */
export function guardedLookup(allowed: BlockList): LookupFunction {
  return (hostname, options, callback) => {
    allowedAddresses(hostname, allowed).then(
      (addresses) => {
        if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
        else callback(null, addresses[0].address, addresses[0].family)
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    )
  }
}
