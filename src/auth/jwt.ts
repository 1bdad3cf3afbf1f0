// Caller JWT verification (jose). Verified results are cached until `exp`, so a busy caller costs one
// signature check per token lifetime, not one per request. The cache is keyed by the JWT string
// itself: hashing it first cost more than the rest of the lookup on the hot path, and the JWT is in
// this process's memory while its requests run anyway (it is never logged or stored).
import { createPublicKey, type KeyObject } from 'node:crypto'
import { createLocalJWKSet, createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { LRUCache } from 'lru-cache'
import type { Config } from '../config.js'

export interface VerifiedJwt {
  sub: string
  scopes: Set<string>
  /** `exp`, in ms since the epoch. */
  expiresAt: number
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

type KeySource = { key: Uint8Array | KeyObject | JWTVerifyGetKey; algorithms: string[] }

function keySources(auth: Config['auth']): KeySource[] {
  const sources: KeySource[] = []
  if (auth.jwtSecret) sources.push({ key: new TextEncoder().encode(auth.jwtSecret), algorithms: ['HS256'] })
  if (auth.jwksUrl) sources.push({ key: createRemoteJWKSet(new URL(auth.jwksUrl)), algorithms: ASYMMETRIC })
  if (auth.jwtKeys.trim().startsWith('{')) {
    sources.push({ key: createLocalJWKSet(JSON.parse(auth.jwtKeys)), algorithms: ASYMMETRIC })
  } else if (auth.jwtKeys.trim()) {
    for (const pem of auth.jwtKeys.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []) {
      sources.push({ key: createPublicKey(pem), algorithms: ASYMMETRIC })
    }
  }
  return sources
}

export function createJwtVerifier(auth: Config['auth'], cacheSize = 10_000) {
  const sources = keySources(auth)
  const cache = new LRUCache<string, VerifiedJwt>({ max: cacheSize, ttlAutopurge: false })

  async function verifyWith(source: KeySource, token: string): Promise<JWTPayload> {
    const options = {
      algorithms: source.algorithms,
      ...(auth.issuer ? { issuer: auth.issuer } : {}),
      ...(auth.audience ? { audience: auth.audience } : {}),
      requiredClaims: ['sub', 'exp'],
    }
    const key = source.key
    const { payload } =
      typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)
    return payload
  }

  async function verifyUncached(token: string): Promise<VerifiedJwt | undefined> {
    for (const source of sources) {
      try {
        const payload = await verifyWith(source, token)
        const scope = typeof payload.scope === 'string' ? payload.scope : ''
        const verified = { sub: String(payload.sub), scopes: new Set(scope.split(' ').filter(Boolean)), expiresAt: (payload.exp ?? 0) * 1000 }
        const ttl = verified.expiresAt - Date.now()
        if (ttl > 0) cache.set(token, verified, { ttl })
        return verified
      } catch {
        // try the next key source; all failing means the token is not ours
      }
    }
    return undefined
  }

  /** A cached verification answers synchronously (the hot path awaits only a promise). */
  return function verify(token: string): VerifiedJwt | Promise<VerifiedJwt | undefined> {
    return cache.get(token) ?? verifyUncached(token)
  }
}

export const looksLikeJwt = (value: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(value)
