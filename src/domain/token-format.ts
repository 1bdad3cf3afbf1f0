// Token format: <prefix><body><checksum>. The checksum lets the service (and secret scanners)
// reject typos and garbage before any lookup. Only an HMAC digest of the whole string is stored.
import CRC32 from 'crc-32'
import { randomBytes } from 'node:crypto'
import { HmacSha256 } from './hmac-sha256.js'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BODY_LENGTH = 43 // 32 random bytes in base62
const CHECKSUM_LENGTH = 6 // CRC32 in base62

function base62(value: bigint, length: number): string {
  let out = ''
  while (value > 0n) {
    out = ALPHABET[Number(value % 62n)] + out
    value /= 62n
  }
  return out.padStart(length, '0')
}

// The checksum runs on every /authorize call: CRC32 fits a double exactly, so plain number
// arithmetic gives the same digits as `base62` without BigInt allocations. The CRC is computed in
// JavaScript (crc-32, the same value as zlib's crc32 of the UTF-8 bytes): a native call per request
// costs more on the hot path than the arithmetic.
function checksum(prefixAndBody: string): string {
  let value = CRC32.str(prefixAndBody) >>> 0
  let out = ''
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[value % 62] + out
    value = Math.floor(value / 62)
  }
  return out
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
  return wellFormedPrefixLength(token) > 0 ? splitToken(token) : undefined
}

function splitToken(token: string): ParsedToken {
  const prefixLength = token.length - BODY_LENGTH - CHECKSUM_LENGTH
  return { prefix: token.slice(0, prefixLength), body: token.slice(prefixLength, prefixLength + BODY_LENGTH) }
}

/** parseToken without building the parts (the hot path only needs yes or no). */
export function isWellFormedToken(token: string): boolean {
  return wellFormedPrefixLength(token) > 0
}

const isLowerOrDigit = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57)
const isBase62 = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)

/**
 * The prefix length ("fgpat-" → 6) when `token` matches <[a-z][a-z0-9]{1,15}-><43 base62><6 base62>
 * and the checksum is right; 0 otherwise. A character loop instead of a regular expression: this
 * runs before every lookup.
 */
function wellFormedPrefixLength(token: string): number {
  if (typeof token !== 'string') return 0
  const prefixLength = token.length - BODY_LENGTH - CHECKSUM_LENGTH
  if (prefixLength < 3 || prefixLength > 17) return 0
  const first = token.charCodeAt(0)
  if (first < 97 || first > 122 || token.charCodeAt(prefixLength - 1) !== 45 /* - */) return 0
  for (let i = 1; i < prefixLength - 1; i++) if (!isLowerOrDigit(token.charCodeAt(i))) return 0
  for (let i = prefixLength; i < token.length; i++) if (!isBase62(token.charCodeAt(i))) return 0
  const split = token.length - CHECKSUM_LENGTH
  return checksum(token.slice(0, split)) === token.slice(split) ? prefixLength : 0
}

/** The short, non-secret display form: prefix plus the first 4 characters of the body. */
export function tokenHint(token: string): string {
  const parsed = parseToken(token)
  return parsed ? `${parsed.prefix}${parsed.body.slice(0, 4)}` : ''
}

// HMAC-SHA256(pepper, token): see hmac-sha256.ts for why it is not node:crypto's createHmac.
const hmacs = new Map<string, HmacSha256>()
function keyed(pepper: string): HmacSha256 {
  let h = hmacs.get(pepper)
  if (!h) hmacs.set(pepper, (h = new HmacSha256(pepper)))
  return h
}

export function digestToken(pepper: string, token: string): Buffer {
  return keyed(pepper).digest(token)
}

/** One digest per configured pepper: the first signs new tokens, all are tried on lookup. */
export function candidateDigests(peppers: readonly string[], token: string): Buffer[] {
  return peppers.map((p) => digestToken(p, token))
}
