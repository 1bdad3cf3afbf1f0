// A typed client for the fgpat API, generated from the committed OpenAPI document (schema.d.ts is
// written by `npm run build:console` with openapi-typescript; a test fails when it drifts). The
// console uses it, and so can integrators:
//
//   import { createFgpatClient } from './client/index.js'
//   const api = createFgpatClient({ baseUrl: 'https://fgpat.example.com', credential: process.env.FGPAT_TOKEN })
//   const { data, error } = await api.GET('/api/v4/personal_access_tokens', { params: { query: { state: 'active' } } })
import createClient, { type Client } from 'openapi-fetch'
import type { paths } from './schema.js'

export type { components, paths } from './schema.js'
export type FgpatClient = Client<paths>

/** A JWT (three dot-separated base64url parts) goes in Authorization; a personal access token in PRIVATE-TOKEN, as GitLab clients send it. */
export const isJwt = (credential: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential)
export function authHeaders(credential: string | undefined): Record<string, string> {
  if (!credential) return {}
  return isJwt(credential) ? { Authorization: `Bearer ${credential}` } : { 'PRIVATE-TOKEN': credential }
}

export function createFgpatClient(opts: { baseUrl: string; credential?: string | (() => string | undefined); fetch?: typeof fetch }): FgpatClient {
  const client = createClient<paths>({ baseUrl: opts.baseUrl, fetch: opts.fetch })
  client.use({
    onRequest({ request }) {
      const credential = typeof opts.credential === 'function' ? opts.credential() : opts.credential
      for (const [name, value] of Object.entries(authHeaders(credential))) request.headers.set(name, value)
      return request
    },
  })
  return client
}
