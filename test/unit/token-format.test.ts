import fc from 'fast-check'
import t from 'tap'
import { candidateDigests, digestToken, generateToken, parseToken, tokenHint } from '../../src/domain/token-format.js'

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
