// HMAC-SHA256 (RFC 2104, FIPS 180-4) of short ASCII strings under a fixed key, in JavaScript.
//
// Why not node:crypto: /authorize computes one HMAC per request (a token is stored only as its
// HMAC), and createHmac builds a native object with a weak handle for the garbage collector on
// every call; measured in situ that is ~4 µs of a ~25 µs request (bench/README.md, "The HMAC").
// A general-purpose JavaScript library (@noble/hashes) was ~1.3 µs. This one absorbs the key's
// inner and outer pads once per key and reads the token's characters straight into the message
// schedule: two or three compressions and no allocation but the result.
//
// It is checked against node:crypto on random keys and messages of every length around the block
// boundaries (test/unit/token-format.test.ts); anything that is not ASCII goes to node:crypto.
// SHA-256 has no secret-dependent branches or table lookups, so this adds no timing channel.
import { createHash, createHmac } from 'node:crypto'

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
const BLOCK = 64

const w = new Int32Array(64) // message schedule, reused (synchronous, never reentered)
const state = new Int32Array(8)

/** One SHA-256 compression of w[0..15] into `h`. */
function compress(h: Int32Array): void {
  const W = w
  const KK = K
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]
    const y = W[i - 2]
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const t1 = (hh + s1 + ((e & f) ^ (~e & g)) + KK[i] + W[i]) | 0
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
    hh = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  h[0] = (h[0] + a) | 0
  h[1] = (h[1] + b) | 0
  h[2] = (h[2] + c) | 0
  h[3] = (h[3] + d) | 0
  h[4] = (h[4] + e) | 0
  h[5] = (h[5] + f) | 0
  h[6] = (h[6] + g) | 0
  h[7] = (h[7] + hh) | 0
}

/** The state after compressing one block of key XOR pad (the key is at most one block). */
function padState(key: Buffer, pad: number): Int32Array {
  const h = new Int32Array(IV)
  for (let i = 0; i < 16; i++) {
    let word = 0
    for (let j = 0; j < 4; j++) word = (word << 8) | ((key[i * 4 + j] ?? 0) ^ pad)
    w[i] = word
  }
  compress(h)
  return h
}

/** HMAC-SHA256 under one key. */
export class HmacSha256 {
  private readonly inner: Int32Array
  private readonly outer: Int32Array

  constructor(private readonly keyText: string) {
    let key = Buffer.from(keyText) // UTF-8, as createHmac reads a string key
    if (key.length > BLOCK) key = createHash('sha256').update(key).digest()
    this.inner = padState(key, 0x36)
    this.outer = padState(key, 0x5c)
  }

  /** Leaves HMAC(key, message) in `state`; false when the message is not ASCII (not handled here). */
  private run(message: string): boolean {
    const length = message.length
    state.set(this.inner)
    // The message follows the one key block already absorbed; then 0x80, zeros and the bit length.
    const bits = (BLOCK + length) * 8
    const blocks = ((length + 8) >> 6) + 1
    let seen = 0 // every character code OR-ed together: above 0x7f means not ASCII
    for (let block = 0; block < blocks; block++) {
      const base = block * BLOCK
      let i = 0
      for (; i < 16 && base + i * 4 + 3 < length; i++) { // four characters of the message
        const at = base + i * 4
        const c0 = message.charCodeAt(at), c1 = message.charCodeAt(at + 1), c2 = message.charCodeAt(at + 2), c3 = message.charCodeAt(at + 3)
        seen |= c0 | c1 | c2 | c3
        w[i] = (c0 << 24) | (c1 << 16) | (c2 << 8) | c3
      }
      for (; i < 16; i++) { // the end of the message, the 0x80 and zeros
        let word = 0
        for (let j = 0; j < 4; j++) {
          const at = base + i * 4 + j
          const c = at < length ? message.charCodeAt(at) : at === length ? 0x80 : 0
          if (at < length) seen |= c
          word = (word << 8) | c
        }
        w[i] = word
      }
      if (block === blocks - 1) {
        w[14] = Math.floor(bits / 0x100000000)
        w[15] = bits | 0
      }
      compress(state)
    }
    if (seen > 0x7f) return false
    for (let i = 0; i < 8; i++) w[i] = state[i]
    w[8] = 0x80000000
    for (let i = 9; i < 15; i++) w[i] = 0
    w[15] = (BLOCK + 32) * 8
    state.set(this.outer)
    compress(state)
    return true
  }

  private nodeDigest(message: string): Buffer {
    return createHmac('sha256', Buffer.from(this.keyText)).update(message).digest()
  }

  digest(message: string): Buffer {
    if (!this.run(message)) return this.nodeDigest(message)
    const out = Buffer.allocUnsafe(32)
    for (let i = 0; i < 8; i++) out.writeInt32BE(state[i], i * 4)
    return out
  }
}
