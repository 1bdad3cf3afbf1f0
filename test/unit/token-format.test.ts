import fc from 'fast-check'
import CRC32 from 'crc-32'
import { createHmac } from 'node:crypto'
import { crc32 } from 'node:zlib'
import t from 'tap'
import { candidateDigests, digestToken, generateToken, isWellFormedToken, parseToken, tokenHint } from '../../src/domain/token-format.js'

t.test('generated tokens parse and carry their prefix', async (t) => {
  const token = generateToken('fgpat-')
  t.match(token, /^fgpat-[0-9A-Za-z]{49}$/)
  t.same(parseToken(token)?.prefix, 'fgpat-')
  t.equal(tokenHint(token), token.slice(0, 10))
  t.not(generateToken('fgpat-'), token, 'random')
})

t.test('any single-character change is rejected by the checksum', async (t) => {
  const token = generateToken('lgpat-')
  fc.assert(
    fc.property(fc.integer({ min: 6, max: token.length - 1 }), fc.constantFrom(...'0123456789abcXYZ'), (i, ch) => {
      const changed = token.slice(0, i) + ch + token.slice(i + 1)
      return changed === token || parseToken(changed) === undefined
    }),
  )
})

t.test('garbage never parses', async (t) => {
  fc.assert(fc.property(fc.string(), (s) => parseToken(s) === undefined))
  t.equal(parseToken('fgpat-short'), undefined)
  t.equal(parseToken(''), undefined)
  t.equal(tokenHint('nope'), '')
})

t.test('digests depend on pepper and token', async (t) => {
  const token = generateToken('fgpat-')
  const [a, b] = candidateDigests(['p'.repeat(32), 'q'.repeat(32)], token)
  t.equal(a.length, 32)
  t.notSame(a, b)
  t.same(digestToken('p'.repeat(32), token), a)
})

t.test('tokens issued by the earlier (regex and BigInt) parser still parse, and their variants do not', async (t) => {
  // Generated before the hot-path rewrite of the checksum: the digits must not have changed.
  const issued = [
    'fgpat-Bwh0eRyvOlcjobHnYG4D7W1C7fIMK795k8mEPH0kofx0tzdG9',
    'lgpat-VYgcnhhXxK0Osg28gPt4jRMSaGu4vIDLrO8FFPGyr4s1buCuE',
    'acme9-EK0EgxGsXsiPIKF49DW5U3hkIJCKf6F1Tzo13BTFLsa0yhTFH',
  ]
  for (const token of issued) {
    t.same(parseToken(token), { prefix: token.slice(0, 6), body: token.slice(6, 49) })
    t.ok(isWellFormedToken(token))
  }
  const token = issued[0]
  const rejected = [
    `F${token.slice(1)}`, // prefix must start with a lower-case letter
    `f-${token.slice(6)}`, // prefix too short
    `${'a'.repeat(17)}-${token.slice(6)}`, // prefix too long
    token.replace('fgpat-', 'fgpat_'), // no dash
    token.replace('fgpat-', 'fgPat-'), // upper case in the prefix
    `${token.slice(0, 20)}-${token.slice(21)}`, // not base62
    token.slice(0, -1), // short
    `${token}0`, // long
  ]
  for (const bad of rejected) {
    t.equal(parseToken(bad), undefined, bad)
    t.notOk(isWellFormedToken(bad), bad)
  }
})

t.test('digests are HMAC-SHA256 exactly as node:crypto computes them (UTF-8 key and token)', async (t) => {
  const reference = (pepper: string, token: string) => createHmac('sha256', Buffer.from(pepper)).update(token).digest()
  // Tokens of every length around the SHA-256 block boundaries, peppers short and longer than a block.
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 150 }), (token, pepper) => {
      const expected = reference(pepper, token)
      return digestToken(pepper, token).equals(expected)
    }),
    { numRuns: 2000 },
  )
  // ASCII (the JavaScript path; anything else goes to node:crypto) of every length up to three blocks.
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii', maxLength: 200 }), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 150 }), (token, pepper) => {
      const expected = reference(pepper, token)
      return digestToken(pepper, token).equals(expected)
    }),
    { numRuns: 3000 },
  )
  for (let length = 0; length <= 200; length++) {
    const token = 'x'.repeat(length)
    for (const pepper of ['p'.repeat(32), 'k'.repeat(64), 'long'.repeat(40), 'pépper-ünïcode-0123456789-abcdef']) {
      t.same(digestToken(pepper, token), reference(pepper, token), `length ${length}, pepper of ${pepper.length}`)
    }
  }
  const token = generateToken('fgpat-')
  const first = digestToken('pepper', token)
  digestToken('other', generateToken('fgpat-'))
  t.ok(digestToken('pepper', token).equals(first), 'a digest does not depend on the digests computed before it')
  t.ok(first.equals(reference('pepper', token)))
})

t.test('the checksum is the CRC32 of the UTF-8 bytes, as zlib computes it', async (t) => {
  // The token check must give the same answer as the zlib-based code that issued earlier tokens.
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
    const token = generateToken('fgpat-')
    const body = token.slice(0, -6)
    return isWellFormedToken(token) && (CRC32.str(s) >>> 0) === crc32(s) && (CRC32.str(body) >>> 0) === crc32(body)
  }), { numRuns: 500 })
})
