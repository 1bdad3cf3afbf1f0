// Runs generated requests through app.inject against a real app (PostgreSQL, Redis) and keeps
// score: statuses overall and per operation, every 5xx with a reproducer, and every server log line
// that speaks of an unhandled error or carries a stack trace.
import fc from 'fast-check'
import type { TestContext } from '../helpers/app.js'
import { loadOpenApi } from './openapi.js'
import { type FuzzRequest, fuzzRequests } from './requests.js'
import { createWorld } from './world.js'

export interface FuzzOptions {
  seed: number
  runs: number
  /** Requests in flight at once (they share one app; their order within a batch may vary). */
  concurrency?: number
  /** Requests between two refreshes of the world (and two log scans). */
  batch?: number
  progress?: (done: number) => void
}

export interface Failure {
  index: number
  status: number
  request: FuzzRequest
  response: string
}

export interface FuzzReport {
  seed: number
  runs: number
  ms: number
  byStatus: Record<string, number>
  byOperation: Record<string, Record<string, number>>
  failures: Failure[]
  logProblems: string[]
  refreshProblems: string[]
}

const MAX_KEPT = 50
// The error handler's line for a 500/503, or anything with a stack in it (pino serialises err.stack).
const BAD_LOG_LINE = /unhandled error|"stack"|\n\s+at \S+ \(|"level":(5\d|60)/

export async function runFuzz(ctx: TestContext, options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now()
  const world = await createWorld(ctx)
  const requests = fuzzRequests(loadOpenApi(), world.pools)
  const batch = options.batch ?? 250
  const concurrency = options.concurrency ?? 4
  const report: FuzzReport = { seed: options.seed, runs: 0, ms: 0, byStatus: {}, byOperation: {}, failures: [], logProblems: [], refreshProblems: [] }

  const scanLogs = () => {
    for (const line of ctx.logs.lines) {
      if (BAD_LOG_LINE.test(line) && report.logProblems.length < MAX_KEPT) report.logProblems.push(line.slice(0, 2000))
    }
    ctx.logs.lines.length = 0 // 100,000 requests' worth of lines would not fit in memory
  }

  async function send(request: FuzzRequest, index: number) {
    const headers: Record<string, string> = { ...world.headers(request.caller) }
    if (request.contentType !== undefined && request.payload !== undefined) headers['content-type'] = request.contentType
    const inject = () => ctx.app.inject({ method: request.method as 'GET', url: request.url, headers, ...(request.payload !== undefined ? { payload: request.payload } : {}) })
    const answers = await Promise.all(Array.from({ length: request.copies }, inject))
    for (const res of answers) count(request, index, res)
  }

  function count(request: FuzzRequest, index: number, res: { statusCode: number; body: string }) {
    const status = String(res.statusCode)
    report.byStatus[status] = (report.byStatus[status] ?? 0) + 1
    const perOp = (report.byOperation[request.operation] ??= {})
    perOp[status] = (perOp[status] ?? 0) + 1
    if (res.statusCode >= 500 && report.failures.length < MAX_KEPT) report.failures.push({ index, status: res.statusCode, request, response: res.body.slice(0, 1000) })
  }

  for (let offset = 0; offset < options.runs; offset += batch) {
    const size = Math.min(batch, options.runs - offset)
    // Each batch from its own seed: a batch replays alone (FUZZ_SEED + batch number), and
    // generation sees the ids the world holds now.
    const sample = fc.sample(requests, { seed: options.seed + offset / batch, numRuns: size })
    let next = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < sample.length) {
        const i = next++
        await send(sample[i], offset + i)
      }
    }))
    report.runs += size
    scanLogs()
    options.progress?.(report.runs)
    const problems = await world.refresh()
    if (problems.length > 0 && report.refreshProblems.length < MAX_KEPT) report.refreshProblems.push(...problems.map((p) => `after ${report.runs}: ${p}`))
  }
  scanLogs()
  report.ms = Date.now() - started
  return report
}

const show = (s: string | undefined) => (s === undefined ? '' : s.length > 500 ? `${JSON.stringify(s.slice(0, 500))}… (${s.length} chars)` : JSON.stringify(s))

const sent = (r: FuzzReport) => Object.values(r.byStatus).reduce((a, b) => a + b, 0)

export function formatReport(r: FuzzReport): string {
  const lines = [
    `fuzz: ${r.runs} generated requests (${sent(r)} sent, bursts included), seed ${r.seed}, ${(r.ms / 1000).toFixed(1)} s (${Math.round(sent(r) / (r.ms / 1000))}/s)`,
    `by status: ${Object.entries(r.byStatus).sort().map(([s, n]) => `${s}: ${n}`).join(', ')}`,
    'by operation (status: count):',
    ...Object.entries(r.byOperation).sort().map(([op, counts]) => `  ${op.padEnd(40)} ${Object.entries(counts).sort().map(([s, n]) => `${s}:${n}`).join(' ')}`),
  ]
  for (const f of r.failures) {
    lines.push(`5xx #${f.index} (seed ${r.seed}, batch seed ${r.seed + Math.floor(f.index / 250)}): ${f.status} ${f.request.operation}`,
      `  ${f.request.method} ${f.request.url}  caller=${f.request.caller} content-type=${f.request.contentType ?? '-'}${f.request.copies > 1 ? ` (${f.request.copies} at once)` : ''}`,
      `  body: ${show(f.request.payload)}`, `  answer: ${f.response}`)
  }
  if (r.logProblems.length > 0) lines.push('log lines with errors or stack traces:', ...r.logProblems.map((l) => `  ${l.trim()}`))
  if (r.refreshProblems.length > 0) lines.push('world refresh problems:', ...r.refreshProblems.map((l) => `  ${l}`))
  return lines.join('\n')
}
