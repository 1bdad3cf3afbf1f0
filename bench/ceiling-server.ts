// The ceiling: a bare Fastify route that parses the same JSON body as /authorize (with a schema, as
// the real route has) and answers a constant. Same process model as the API: one Node process.
import Fastify from 'fastify'

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
const port = Number(process.env.PORT ?? 0)
await app.listen({ port, host: '127.0.0.1' })
process.send?.({ ready: true, port: (app.server.address() as { port: number }).port })
// A clean exit on SIGTERM, so that `--cpu-prof` (BENCH_PROFILE) writes this process's profile too.
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
