// `npm run bench:loaders`: the API's own CPU per hot-path PostgreSQL load (cache/loaders.ts): owners,
// tokens and namespaces, in batches of distinct cold ids of the sizes the TurnBatcher sends (1 and
// 4 per loop turn in the realistic mix). What a cold entry costs the process that asks, apart from
// the HTTP request around it; PostgreSQL's own CPU is not counted (it is another process).
//
//   BENCH_LOADERS_DISTS=dirA,dirB   builds to compare in one process, alternated round by round
//                                   (default: this build); both must read the same schema
//   BENCH_KINDS=owners,tokens,namespaces   BENCH_ROUNDS=10   BENCH_LOADS=500 per round and build
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDb } from '../src/db/index.js'
import { digestToken } from '../src/domain/token-format.js'
import { median, PEPPER, seed, startStack } from './lib.js'

type Loaders = typeof import('../src/cache/loaders.js')
const env = process.env
const thisDist = resolve(fileURLToPath(new URL('..', import.meta.url)))
const dists = (env.BENCH_LOADERS_DISTS || thisDist).split(',').map((d) => resolve(d))
const KINDS = (env.BENCH_KINDS ?? 'owners,tokens,namespaces').split(',')
const ROUNDS = Number(env.BENCH_ROUNDS ?? 10)
const LOADS = Number(env.BENCH_LOADS ?? 500)
const USERS = 100_000
const GROUPS = 2_000
const PROJECTS_PER_GROUP = 20
const NAMESPACES = GROUPS * (1 + PROJECTS_PER_GROUP)

const builds = await Promise.all(dists.map(async (d) => (await import(`${d}/src/cache/loaders.js`)) as Loaders))
const stack = await startStack()
try {
  const { secrets } = await seed(stack.url, { users: USERS, groups: GROUPS, projectsPerGroup: PROJECTS_PER_GROUP, tokens: USERS })
  const digests = secrets.map((s) => digestToken(PEPPER, s))
  const db = createDb(stack.url, 10)
  // Ids walk forward, so each load asks for rows no earlier load of this run asked for.
  let next = 0
  const ids = (batch: number, of: number) => Array.from({ length: batch }, () => 1 + (next++ % of))
  const load: Record<string, (l: Loaders, batch: number) => Promise<unknown>> = {
    owners: (l, b) => l.loadOwners(db, ids(b, USERS)),
    tokens: (l, b) => l.loadTokens(db, ids(b, USERS).map((i) => digests[i - 1])),
    namespaces: (l, b) => l.loadNamespaces(db, ids(b, NAMESPACES)),
  }
  const cpuPerLoad = async (l: Loaders, kind: string, batch: number) => {
    for (let i = 0; i < 300; i++) await load[kind](l, batch) // warm the code of this build and kind
    const before = process.cpuUsage()
    for (let i = 0; i < LOADS; i++) await load[kind](l, batch)
    const used = process.cpuUsage(before)
    return (used.user + used.system) / LOADS
  }
  const rows: string[] = []
  for (const kind of KINDS) {
    for (const batch of [1, 4]) {
      const perBuild: number[][] = builds.map(() => [])
      for (let r = 0; r < ROUNDS; r++) for (let b = 0; b < builds.length; b++) perBuild[b].push(await cpuPerLoad(builds[b], kind, batch))
      rows.push(`| ${kind} | ${batch} | ${perBuild.map((xs) => `${median(xs).toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(', ')})`).join(' | ')} |`)
    }
  }
  await db.destroy()
  console.log([
    `### API CPU per hot-path load, µs (median of ${ROUNDS} rounds of ${LOADS} loads; ${new Date().toISOString().slice(0, 10)})`, '',
    `| entries | per load | ${dists.map((d) => (d === thisDist ? 'this build' : d)).join(' | ')} |`,
    `|---|---:|${dists.map(() => '---:|').join('')}`,
    ...rows,
  ].join('\n'))
} finally {
  await stack.stop()
}
