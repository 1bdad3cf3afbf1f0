// The ceiling: a bare Fastify route that parses the same JSON body as /authorize (with a schema, as
// the real route has) and answers a constant. Same process model as the API: one Node process, or
// WEB_CONCURRENCY node:cluster processes on one port when the API is benchmarked that way.
import cluster from 'node:cluster'
import Fastify from 'fastify'
import { disablePretenuring } from '../src/gc-tuning.js'

const processes = Number(process.env.WEB_CONCURRENCY ?? 1)
if (cluster.isPrimary && processes > 1) {
  for (let i = 0; i < processes; i++) cluster.fork()
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM')
    process.exit(0)
  })
} else {
  disablePretenuring() // as the API does (src/server.ts): the same runtime on both sides
  const app = Fastify({ logger: false })
  app.post('/api/v4/authorize', {
    schema: {
      body: {
        type: 'object',
        required: ['token', 'resource'],
        properties: { token: { type: 'string' }, permission: { type: 'string' }, resource: { type: 'object', properties: { type: { type: 'string' }, id: { type: 'integer' } } } },
      },
    },
  }, async () => ({ allowed: true, reason: 'allowed' }))
  await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
  // A clean exit on SIGTERM, so that `--cpu-prof` (BENCH_PROFILE) writes this process's profile too.
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
}
