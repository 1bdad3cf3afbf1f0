// Signing secrets at rest. A webhook secret is a shared HMAC key: the worker must recover it to
// sign, so it is encrypted (AES-256-GCM), not hashed. The key is derived (HKDF-SHA256) from the
// token peppers the service already requires (TOKEN_PEPPERS), so there is no second key to
// provision or lose; opening tries every pepper, so prepending a new pepper (their rotation
// procedure) keeps old secrets readable, and a rotate-secret call re-seals under the first one.
// A database dump alone therefore reveals no secret. Never logged, never in a payload or error.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const INFO = 'fgpat webhook signing secret v1'
const keyOf = (pepper: string) => Buffer.from(hkdfSync('sha256', pepper, 'fgpat-webhooks', INFO, 32))

/** A new secret in the Standard Webhooks format: whsec_ + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

/** iv (12) ‖ tag (16) ‖ ciphertext, under the first pepper. */
export function seal(secret: string, peppers: readonly string[]): Buffer {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keyOf(peppers[0]), iv)
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body])
}

export function open(box: Buffer, peppers: readonly string[]): string {
  for (const pepper of peppers) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyOf(pepper), box.subarray(0, 12))
      decipher.setAuthTag(box.subarray(12, 28))
      return Buffer.concat([decipher.update(box.subarray(28)), decipher.final()]).toString('utf8')
    } catch {
      // not this pepper: try the next
    }
  }
  throw new Error('webhook secret cannot be opened with any configured TOKEN_PEPPERS entry')
}
