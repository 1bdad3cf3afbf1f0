// Aggregates a V8 .cpuprofile (`--cpu-prof`, BENCH_PROFILE in bench/) by function and by file:
// self time, and inclusive time of the project's own code. Node has no built-in for it.
//
//   node scripts/cpuprof-summary.mjs file.cpuprofile [top=25]
//   TIMELINE=1   busy ms per second of the profile, to find the measured run (then WINDOW)
//   WINDOW=14,22 only samples from 14 s to 22 s after the profile started (skips start-up, warm-up)
//   REQS=35100   requests answered in that window: adds a µs/request column
import { readFileSync } from 'node:fs'
const [file, topArg] = process.argv.slice(2)
const top = Number(topArg ?? 25)
const p = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(p.nodes.map((n) => [n.id, n]))
if (process.env.TIMELINE) {
  const perSecond = new Map()
  let at = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0
    if (byId.get(p.samples[i]).callFrame.functionName === '(idle)') continue
    const s = Math.floor((at - p.startTime) / 1e6)
    perSecond.set(s, (perSecond.get(s) ?? 0) + (p.timeDeltas[i + 1] ?? 0))
  }
  console.log([...perSecond].map(([s, us]) => `${s}s:${(us / 1000).toFixed(0)}ms`).join(' '))
  process.exit(0)
}
const self = new Map() // node id → µs
const dt = p.timeDeltas
// WINDOW=from,to (seconds since the profile started): only that part, e.g. the measured run without start-up and warm-up
const [from, to] = (process.env.WINDOW ?? '0,1e9').split(',').map(Number)
let t = p.startTime
for (let i = 0; i < p.samples.length; i++) {
  t += dt[i] ?? 0
  const at = (t - p.startTime) / 1e6
  if (at >= from && at < to) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i + 1] ?? 0))
}
let total = 0
const fn = new Map(), fileAgg = new Map()
const short = (url) => (url || '(native)').replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^node:/, 'node:')
for (const [id, us] of self) {
  const n = byId.get(id); const cf = n.callFrame
  total += us
  const f = short(cf.url)
  const k = `${cf.functionName || '(anonymous)'}  ${f}:${cf.lineNumber + 1}`
  fn.set(k, (fn.get(k) ?? 0) + us)
  const fk = cf.url ? f.replace(/(node_modules\/(@[^/]+\/)?[^/]+)\/.*/, '$1') : cf.functionName
  fileAgg.set(fk, (fileAgg.get(fk) ?? 0) + us)
}
const reqs = Number(process.env.REQS ?? 0)
const pr = (m, title) => {
  console.log(`\n${title} (total ${(total / 1e6).toFixed(2)} s sampled)`)
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(100 * us / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms ${reqs ? (us / reqs).toFixed(2).padStart(6) + " µs/req" : ""}  ${k}`)
}
pr(fn, 'self time by function')
pr(fileAgg, 'self time by file / package')
// inclusive time (each function counted once per sample), for the project's own code and a few packages
const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const incl = new Map()
let busy = 0
for (const [id, us] of self) {
  const n0 = byId.get(id)
  if (['(idle)', '(program)'].includes(n0.callFrame.functionName)) continue
  busy += us
  const seen = new Set()
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur).callFrame
    if (!/dist\/src|dist\/bench|kysely\/|ioredis\/|pg\/lib/.test(cf.url)) continue
    const k = `${cf.functionName || '(anonymous)'}  ${short(cf.url)}:${cf.lineNumber + 1}`
    if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + us) }
  }
}
console.log(`\ninclusive (busy ${(busy / 1e6).toFixed(2)} s = 100%)`)
for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(100 * us / busy).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
