// Token format: <prefix><body><checksum>. The checksum lets the service (and secret scanners)
// reject typos and garbage before any lookup. Only an HMAC digest of the whole string is stored.
import { createHmac, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BODY_LENGTH = 43 // 32 random bytes in base62
const CHECKSUM_LENGTH = 6 // CRC32 in base62
const TOKEN_PATTERN = /^([a-z][a-z0-9]{1,15}-)([0-9A-Za-z]{43})([0-9A-Za-z]{6})$/

function base62(value: bigint, length: number): string {
  let out = ''
  while (value > 0n) {
    out = ALPHABET[Number(value % 62n)] + out
    value /= 62n
  }
  return out.padStart(length, '0')
}

function checksum(prefixAndBody: string): string {
  return base62(BigInt(crc32(prefixAndBody)), CHECKSUM_LENGTH)
}

export function generateToken(prefix: string): string {
  const body = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_LENGTH)
  return `${prefix}${body}${checksum(prefix + body)}`
}

export interface ParsedToken {
  prefix: string
  body: string
}

/** Returns undefined for anything that is not a well-formed token with a correct checksum. */
export function parseToken(token: string): ParsedToken | undefined {
  if (typeof token !== 'string' || token.length > 80) return undefined
  const m = TOKEN_PATTERN.exec(token)
  if (!m) return undefined
  const [, prefix, body, sum] = m
  if (checksum(prefix + body) !== sum) return undefined
  return { prefix, body }
}

/** The short, non-secret display form: prefix plus the first 4 characters of the body. */
export function tokenHint(token: string): string {
  const parsed = parseToken(token)
  return parsed ? `${parsed.prefix}${parsed.body.slice(0, 4)}` : ''
}

export function digestToken(pepper: string, token: string): Buffer {
  return createHmac('sha256', pepper).update(token).digest()
}

/** One digest per configured pepper: the first signs new tokens, all are tried on lookup. */
export function candidateDigests(peppers: readonly string[], token: string): Buffer[] {
  return peppers.map((p) => digestToken(p, token))
}
