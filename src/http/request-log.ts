// What the request log records of each request: Fastify's own fields, with the value of a secret
// sent in the query string replaced. The routes refuse such a request (gitlab-wire.ts), but Fastify
// logs it on arrival, before any route has looked at it.
import type { FastifyRequest } from 'fastify'

const SECRET_NAMES = new Set(['token', 'private_token', 'access_token'])

export function requestLogFields(request: FastifyRequest) {
  return {
    method: request.method,
    url: withoutSecrets(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }
}

export function withoutSecrets(url: string): string {
  const at = url.indexOf('?')
  if (at === -1) return url
  const pairs = url.slice(at + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=')
    // The name up to its first bracket: `token[]=…` and `token[0]=…` carry the secret as well.
    return eq !== -1 && SECRET_NAMES.has(decodedName(pair.slice(0, eq)).split('[')[0]) ? `${pair.slice(0, eq)}=[redacted]` : pair
  })
  return `${url.slice(0, at)}?${pairs.join('&')}`
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase()
  } catch {
    return name.toLowerCase()
  }
}
