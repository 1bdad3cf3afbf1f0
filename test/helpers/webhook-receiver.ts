// A webhook receiver on 127.0.0.1 for tests (allowed through WEBHOOK_ALLOWED_RANGES): it records
// every POST and answers with the status `answer` picks (204 by default).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface WebhookHit {
  path: string
  headers: Record<string, string>
  body: string
}

export async function startWebhookReceiver(t: { teardown: (fn: () => unknown) => void }, answer: (hit: WebhookHit) => number = () => 204) {
  const hits: WebhookHit[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const hit = { path: req.url ?? '', headers: req.headers as Record<string, string>, body }
      hits.push(hit)
      res.writeHead(answer(hit)).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { hits, url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}` }
}

/** The Standard Webhooks headers of a hit, as `Webhook.verify` takes them. */
export const signatureHeaders = (h: WebhookHit) => ({ 'webhook-id': h.headers['webhook-id'], 'webhook-timestamp': h.headers['webhook-timestamp'], 'webhook-signature': h.headers['webhook-signature'] })

/** Polls `probe` until it returns something truthy, and returns that; throws after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
