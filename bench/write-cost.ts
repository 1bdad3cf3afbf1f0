// `npm run bench:write-cost`: what one write of the realistic mix (bench:mix) costs, measured apart
// from the reads (issue 17, part 2). Each kind of write (creation; rotation; revocation, which the
// mix follows with a replacement creation; membership removal, put back a second later) is made
// BENCH_WRITES times one after another on an otherwise idle API, twice (the first pass warms the
// code), with the CPU of the API process and of PostgreSQL read from /proc and Redis's command
// counts from INFO before and after. The mix's with-writes row spreads this cost over the reads:
// at 1% writes, every millisecond of API CPU per write adds 10 µs to each request's.
//
//   BENCH_TOKENS=5000   seeded tokens (as bench:mix)
//   BENCH_WRITES=200    writes of each kind per pass
//   BENCH_KINDS=create,rotate,revoke,membership
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { apiEnv, cpuSeconds, postmasterPid, startServer, startStack } from './lib.js'
import { seedMix, shape } from './mix-data.js'
import { Model, type WriteKind, Writer } from './mix-model.js'

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url))
const TOKENS = Number(process.env.BENCH_TOKENS ?? 5000)
const WRITES = Number(process.env.BENCH_WRITES ?? 200)
const KINDS = (process.env.BENCH_KINDS ?? 'create,rotate,revoke,membership').split(',') as WriteKind[]
// The membership put-back runs a second after its removal: its cost lands in the same pass.
const SETTLE_MS = 1500

/** Redis commands processed so far (INFO stats), all clients together. */
async function redisCommands(redis: Redis): Promise<number> {
  const m = /total_commands_processed:(\d+)/.exec(await redis.info('stats'))
  return m ? Number(m[1]) : Number.NaN
}

const stack = await startStack()
const redis = new Redis(stack.redisUrl)
try {
  const s = shape(TOKENS)
  await seedMix(stack.url, s)
  const api = await startServer(here('../src/server.js'), apiEnv(stack, { WEB_CONCURRENCY: '1' }))
  const writer = new Writer(new Model(s, true), () => `http://127.0.0.1:${api.port}`)
  const apiPid = api.child.pid!
  const pgPid = await postmasterPid(stack.url)
  const pgCpu = () => (pgPid ? cpuSeconds(pgPid) : Number.NaN)
  const rows: string[] = []
  let slot = 1 // each write on a slot of its own: no write waits for another's
  for (const pass of ['warm-up', 'measured']) {
    for (const kind of KINDS) {
      const before = { requests: writer.requests, api: cpuSeconds(apiPid), pg: pgCpu(), redis: await redisCommands(redis), failed: writer.done.failed, made: writer.done[kind] }
      const t0 = performance.now()
      for (let i = 0; i < WRITES; i++) await writer.write(slot++, kind)
      const wallMs = performance.now() - t0
      await new Promise((r) => setTimeout(r, SETTLE_MS))
      // Per write made: the model skips a membership write whose user is still out of, or coming
      // back to, a group (from an earlier write less than ~2 s ago), and fast writes meet more such users.
      const made = writer.done[kind] - before.made
      const per = (x: number) => x / made
      const apiMs = per((cpuSeconds(apiPid) - before.api) * 1e3)
      const pgMs = per((pgCpu() - before.pg) * 1e3)
      const commands = per((await redisCommands(redis)) - before.redis)
      const failed = writer.done.failed - before.failed
      rows.push(`| ${kind} (${pass}) | ${made} | ${per(writer.requests - before.requests).toFixed(1)} | ${apiMs.toFixed(2)} | ${pgMs.toFixed(2)} | ${commands.toFixed(1)} | ${per(wallMs).toFixed(1)} | ${(apiMs * 10).toFixed(0)} | ${failed} |`)
    }
  }
  await api.stop()
  console.log([
    `### One write at a time, ${TOKENS.toLocaleString('en')} tokens (${new Date().toISOString().slice(0, 10)})`, '',
    '| write (pass) | writes made | HTTP requests per write | API CPU ms/write | PostgreSQL CPU ms/write | Redis commands/write | wall ms/write | µs per read at 1% writes | failed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n'))
  for (const f of writer.failures) console.log(`  write failed: ${f}`)
  if (writer.done.failed > 0) process.exitCode = 1
} finally {
  redis.disconnect()
  await stack.stop()
}
