// npm run bench:routes — route matching is on the hot path of the request form of /authorize.
// (a) the matcher alone: ns per match over a mix of paths a GitLab backend forwards;
// (b) /authorize with the request form vs the permission form vs the bare Fastify ceiling, in the
//     same run, alternating BENCH_ROUNDS times (the median round by the request form's ratio).
import { fileURLToPath } from 'node:url'
import { gitlabRoutes } from '../src/domain/gitlab-routes.js'
import { apiEnv, load, type Measured, seed, serverProcesses, serviceJwt, startServer, startStack, table } from './lib.js'

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url))

// What backends forward most: repository reads, MRs, pipelines and jobs, some by full path, some
// with query strings, a few group, user and admin routes, and a few that do not match.
const MIX: [string, string][] = [
  ['GET', '/api/v4/projects/42/repository/files/README.md?ref=main'],
  ['GET', '/api/v4/projects/42/repository/files/src%2Flib%2Findex.ts/raw?ref=feature%2Fx'],
  ['GET', '/api/v4/projects/acme%2Fplatform%2Fapi/merge_requests?state=opened&per_page=100'],
  ['POST', '/api/v4/projects/42/merge_requests'],
  ['PUT', '/api/v4/projects/42/merge_requests/17/merge'],
  ['GET', '/api/v4/projects/42/pipelines?ref=main&status=success'],
  ['GET', '/api/v4/projects/42/pipelines/latest'],
  ['GET', '/api/v4/projects/42/jobs/987654/trace'],
  ['POST', '/api/v4/projects/42/jobs/987654/retry'],
  ['GET', '/api/v4/projects/42/jobs/artifacts/main/download?job=build'],
  ['PUT', '/api/v4/projects/42/packages/generic/app/1.2.3/app.tgz'],
  ['GET', '/api/v4/projects/42/packages/maven/com/acme/app/1.0/app-1.0.jar'],
  ['GET', '/api/v4/projects/42/repository/commits/3f9a1c2/statuses'],
  ['GET', '/api/v4/groups/acme/epics?state=opened'],
  ['GET', '/api/v4/groups/100/members/all'],
  ['GET', '/api/v4/user'],
  ['GET', '/api/v4/users/7/keys'],
  ['GET', '/api/v4/application/settings'],
  ['GET', '/api/v4/projects/42/not_a_route'],
  ['DELETE', '/api/v4/projects/42/repository/tree'],
]

function matcherAlone(): string {
  const t0 = process.hrtime.bigint()
  const table = gitlabRoutes()
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6
  const rows: string[] = []
  const measure = (label: string, pairs: [string, string][], n: number) => {
    let sink = 0
    for (let i = 0; i < 200_000; i++) sink += table.match(...pairs[i % pairs.length]).ok ? 1 : 0 // warm-up
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) sink += table.match(...pairs[i % pairs.length]).ok ? 1 : 0
    const ns = Number(process.hrtime.bigint() - start) / n
    rows.push(`| ${label} | ${pairs.length} | ${ns.toFixed(0)} |`)
    return sink
  }
  const n = Number(process.env.BENCH_MATCHES ?? 2_000_000)
  measure('the whole mix (18 matches, 2 misses)', MIX, n)
  measure('matches only', MIX.filter(([, p]) => !p.includes('not_a_route') && !p.endsWith('/tree')), n)
  measure('one plain path (no escapes, no query)', [['GET', '/api/v4/projects/42/jobs/987654/trace']], n)
  measure('misses only (unknown route, unsupported method)', MIX.slice(-2), n / 10)
  return [
    `Compiling the table (${table.routes.length} routes) took ${compileMs.toFixed(1)} ms, once per process.`,
    '',
    '| paths | distinct paths | ns per match |',
    '|---|---:|---:|',
    ...rows,
  ].join('\n')
}

async function authorizeForms(): Promise<string> {
  const stack = await startStack()
  try {
    const seeded = await seed(stack.url, { users: 1000, groups: 100, projectsPerGroup: 10, tokens: Number(process.env.BENCH_TOKENS ?? 5000) })
    const jwt = await serviceJwt()
    const hot = 1000
    const pick = () => Math.floor(Math.random() * hot)
    const permissionBody = () => {
      const i = pick()
      return JSON.stringify({ token: seeded.secrets[i], permission: 'read_code', resource: { type: 'project', id: seeded.projects[i] } })
    }
    // The same question as forwarded GitLab requests: three read_code routes with query strings.
    const paths = [
      (p: number) => `/api/v4/projects/${p}/repository/files/README.md?ref=main`,
      (p: number) => `/api/v4/projects/${p}/repository/tree?ref=main&recursive=true`,
      (p: number) => `/api/v4/projects/${p}/repository/files/src%2Findex.ts/raw?ref=main`,
    ]
    const requestBody = () => {
      const i = pick()
      return JSON.stringify({ token: seeded.secrets[i], request: { method: 'GET', path: paths[i % 3](seeded.projects[i]) } })
    }
    const seconds = Number(process.env.BENCH_SECONDS ?? 10)
    const warmUp = Number(process.env.BENCH_WARMUP_SECONDS ?? 5)
    const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))
    const ceiling = await startServer(here('./ceiling-server.js'), serverProcesses())
    const api = await startServer(here('../src/server.js'), apiEnv(stack))
    try {
      for (const body of [permissionBody, requestBody]) {
        const probe = await fetch(`http://127.0.0.1:${api.port}/api/v4/authorize`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` }, body: body() })
        const answer = (await probe.json()) as { allowed: boolean }
        if (!answer.allowed) throw new Error(`the seeded token is not allowed: ${JSON.stringify(answer)}`)
      }
      await load('warm-up', ceiling.port, jwt, permissionBody, warmUp)
      await load('warm-up', api.port, jwt, permissionBody, warmUp)
      await load('warm-up', api.port, jwt, requestBody, warmUp)
      const triples: Measured[][] = []
      for (let round = 0; round < rounds; round++) {
        const c = await load('(a) ceiling: bare Fastify, same JSON body', ceiling.port, jwt, permissionBody, seconds, ceiling.child.pid)
        const p = await load('(b) /authorize, permission form (warm)', api.port, jwt, permissionBody, seconds, api.child.pid)
        const r = await load('(c) /authorize, request form (warm)', api.port, jwt, requestBody, seconds, api.child.pid)
        triples.push([c, p, r])
        console.error(`[bench] round ${round + 1}: ceiling ${c.serverCpuUs?.toFixed(1)} µs/req, permission form ${p.serverCpuUs?.toFixed(1)}, request form ${r.serverCpuUs?.toFixed(1)}`)
      }
      triples.sort((x, y) => x[2].rps / x[0].rps - y[2].rps / y[0].rps)
      return table(triples[Math.floor((triples.length - 1) / 2)])
    } finally {
      await ceiling.stop()
      await api.stop()
    }
  } finally {
    await stack.stop()
  }
}

const date = new Date().toISOString().slice(0, 10)
console.log(`### GitLab route matching (${date})\n\n${matcherAlone()}\n`)
if (process.env.BENCH_ONLY !== 'matcher') console.log(`${await authorizeForms()}\n`)
