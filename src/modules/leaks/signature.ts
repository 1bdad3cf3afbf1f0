// GitHub's secret-scanning partner program signs each report: the header
// Github-Public-Key-Identifier names the key, Github-Public-Key-Signature carries a base64 ASN.1 DER
// ECDSA P-256 / SHA-256 signature over the exact bytes of the body. Verification therefore needs the
// raw body (routes.ts keeps it for this route only). Keys come from LEAK_REPORT_PUBLIC_KEYS.
import { createPublicKey, type KeyObject, verify } from 'node:crypto'
import type { LeakReportKey } from '../../config.js'

export const KEY_ID_HEADER = 'github-public-key-identifier'
export const SIGNATURE_HEADER = 'github-public-key-signature'

/** A DER ECDSA P-256 signature is at most 72 bytes: 96 base64 characters; anything longer is not one. */
const MAX_SIGNATURE_BASE64 = 200

export type SignatureCheck = { ok: true; keyIdentifier: string } | { ok: false }

export function createSignatureVerifier(keys: readonly LeakReportKey[]) {
  const byId = new Map<string, KeyObject>(keys.map((k) => [k.keyIdentifier, createPublicKey(k.pem)]))
  return (keyIdentifier: string, signature: string, rawBody: Buffer): SignatureCheck => {
    const key = byId.get(keyIdentifier)
    if (!key || signature.length > MAX_SIGNATURE_BASE64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return { ok: false }
    try {
      return verify('sha256', rawBody, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64')) ? { ok: true, keyIdentifier } : { ok: false }
    } catch {
      return { ok: false } // a malformed DER signature throws
    }
  }
}
