// Two API instances on one PostgreSQL and one Redis (as behind a load balancer), the directory and
// tokens the fault scenarios use, and a loop of /authorize calls that records every answer and how
// long it took.
import { randomUUID } from 'node:crypto'
import { type App, buildApp } from '../../../src/app.js'
import { signDevJwt } from '../../../src/auth/dev-jwt.js'
import type { Config } from '../../../src/config.js'
import { LogCapture, TEST_JWT_SECRET, testConfig, untilTrusted } from '../../helpers/app.js'
import { API_PROJECT, fixtureDirectory, inDays } from '../../helpers/fixtures.js'

interface Tap {
  teardown: (fn: () => unknown) => void
}

export const DAVE = 5 // maintainer on acme/platform/api: will be blocked
export const ERIN = 6 // developer on acme/platform/api: will lose that membership
export const project = { type: 'project', id: API_PROJECT }

export const jwt = {
  user: (id: number) => signDevJwt({ secret: TEST_JWT_SECRET, sub: String(id) }),
  service: (scopes: string[]) => signDevJwt({ secret: TEST_JWT_SECRET, sub: 'service:fault-test', scopes }),
}

export interface Instances {
  a: App
  b: App
  config: Readonly<Config>
  logs: LogCapture
}

/** Both instances built from one configuration (own caches, own listeners), closed at teardown. */
export async function twoInstances(t: Tap, env: Record<string, string>, dbName = `fault_${randomUUID().slice(0, 8)}`): Promise<Instances> {
  const config = testConfig(dbName, env)
  const logs = new LogCapture()
  const apps: App[] = []
  for (let i = 0; i < 2; i++) {
    const app = await buildApp(config, { logStream: logs })
    t.teardown(() => app.close())
    await app.ready()
    apps.push(app)
  }
  await Promise.all(apps.map((app) => untilTrusted(app)))
  return { a: apps[0], b: apps[1], config, logs }
}

async function call(app: App, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, auth: string, payload?: object) {
  const res = await app.inject({ method, url, headers: { authorization: `Bearer ${auth}` }, payload })
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res
}

export interface Secret {
  id: number
  token: string
}

/** The fixture directory plus Dave and Erin, and one token per change the scenarios make. */
export async function seedScenario(app: App) {
  const idp = await jwt.service(['directory:write'])
  await call(app, 'POST', '/api/v4/directory/bulk', idp, {
    ...fixtureDirectory,
    users: [...fixtureDirectory.users, { id: DAVE, username: 'dave', name: 'Dave', email: 'dave@example.com' }, { id: ERIN, username: 'erin', name: 'Erin', email: 'erin@example.com' }],
    memberships: [...fixtureDirectory.memberships, { user_id: DAVE, namespace_id: API_PROJECT, access_level: 40 }, { user_id: ERIN, namespace_id: API_PROJECT, access_level: 30 }],
  })
  const create = async (user: number, permissions: string[]): Promise<Secret> => {
    const res = await call(app, 'POST', '/api/v4/user/personal_access_tokens', await jwt.user(user), {
      name: `fault ${permissions.join(' ')}`, expires_at: inDays(30), granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions }],
    })
    const body = res.json() as { id: number; token: string }
    return { id: body.id, token: body.token }
  }
  return {
    revoked: await create(2, ['read_code']),
    edited: await create(2, ['read_code', 'push_code']),
    blocked: await create(DAVE, ['read_code']),
    unmembered: await create(ERIN, ['read_code']),
    create,
  }
}

export type Scenario = Awaited<ReturnType<typeof seedScenario>>

/** The changes that must stop a token: each returns once its HTTP call answered. */
export function changes(app: App, s: Scenario) {
  return {
    revoked: async () => call(app, 'DELETE', `/api/v4/personal_access_tokens/${s.revoked.id}`, await jwt.user(2)),
    edited: async () => call(app, 'PATCH', `/api/v4/personal_access_tokens/${s.edited.id}`, await jwt.user(2), { granular_scopes: [{ access: 'selected_memberships', project_ids: [API_PROJECT], permissions: ['read_code'] }] }),
    blocked: async () => call(app, 'PUT', `/api/v4/directory/users/${DAVE}`, await jwt.service(['directory:write']), { username: 'dave', name: 'Dave', email: 'dave@example.com', state: 'blocked' }),
    unmembered: async () => call(app, 'DELETE', `/api/v4/directory/namespaces/${API_PROJECT}/members/${ERIN}`, await jwt.service(['directory:write'])),
  }
}

/** What each scenario token is asked. */
export const questions = (s: Scenario) => ({
  revoked: { token: s.revoked.token, permission: 'read_code' },
  edited: { token: s.edited.token, permission: 'push_code' },
  blocked: { token: s.blocked.token, permission: 'read_code' },
  unmembered: { token: s.unmembered.token, permission: 'read_code' },
})

export interface Answer {
  name: string
  started: number
  ms: number
  status: number
  allowed?: boolean
  reason?: string
}

/** Asks `app` each question in turn until `stop()`, recording every answer. */
export async function askUntil(app: App, asked: Record<string, { token: string; permission: string }>, stop: () => boolean, out: Answer[]): Promise<void> {
  const headers = { authorization: `Bearer ${await jwt.service(['authorize'])}` }
  while (!stop()) {
    for (const [name, q] of Object.entries(asked)) {
      const started = Date.now()
      const res = await app.inject({ method: 'POST', url: '/api/v4/authorize', headers, payload: { ...q, resource: project } })
      const body = res.statusCode === 200 ? (res.json() as { allowed: boolean; reason: string }) : undefined
      out.push({ name, started, ms: Date.now() - started, status: res.statusCode, allowed: body?.allowed, reason: body?.reason })
    }
    await new Promise((r) => setImmediate(r))
  }
}

export async function decide(app: App, q: { token: string; permission: string }) {
  const res = await app.inject({ method: 'POST', url: '/api/v4/authorize', headers: { authorization: `Bearer ${await jwt.service(['authorize'])}` }, payload: { ...q, resource: project } })
  return { status: res.statusCode, ...(res.statusCode === 200 ? (res.json() as { allowed: boolean; reason: string }) : {}) }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Until every app's /readyz is 200, or `timeoutMs`: each instance finds a recovered service on its own timer. */
export async function untilReady(apps: App[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  const ready = async (app: App) => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200
  for (;;) {
    let all = true
    for (const app of apps) all = all && (await ready(app))
    if (all || Date.now() >= until) return
    await sleep(100)
  }
}
