// A standalone worker has no HTTP API, so when WORKER_METRICS_PORT is set it serves the shared
// registry itself. (`npm start` runs the worker inside the API process: the API's /metrics has it.)
import { createServer, type Server } from 'node:http'
import { registry } from '../metrics/registry.js'

export async function serveMetrics(port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return server
}
