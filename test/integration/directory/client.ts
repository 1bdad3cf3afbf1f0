// Shortcuts for the directory tests: call the real API as the IdP service and read problem bodies.
import type { LightMyRequestResponse } from 'fastify'
import type { TestContext } from '../../helpers/app.js'

export interface Problem {
  status: number
  code: string
  detail: string
  errors?: { path: string; message: string }[]
}

type Payload = Record<string, unknown>

export async function directoryClient(ctx: TestContext) {
  const headers = { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` }
  const call = (method: 'PUT' | 'POST' | 'DELETE', url: string, payload?: Payload) =>
    ctx.app.inject({ method, url: `/api/v4/directory${url}`, headers, ...(payload ? { payload } : {}) })
  return {
    headers,
    putUser: (id: number | string, body: Payload) => call('PUT', `/users/${id}`, body),
    putNamespace: (id: number | string, body: Payload) => call('PUT', `/namespaces/${id}`, body),
    putMember: (namespaceId: number | string, userId: number | string, body: Payload) => call('PUT', `/namespaces/${namespaceId}/members/${userId}`, body),
    deleteMember: (namespaceId: number | string, userId: number | string) => call('DELETE', `/namespaces/${namespaceId}/members/${userId}`),
    bulk: (body: Payload) => call('POST', '/bulk', body),
  }
}

export type DirectoryClient = Awaited<ReturnType<typeof directoryClient>>

/** The problem+json body of a response, after checking its status and media type. */
export function problem(res: LightMyRequestResponse, status: number): Problem {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`)
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${res.headers['content-type']}`)
  }
  return res.json() as Problem
}

/** The distinct field paths a validation problem names, sorted. */
export const errorPaths = (p: Problem) => [...new Set((p.errors ?? []).map((e) => e.path))].sort()

export function ok<T = Record<string, unknown>>(res: LightMyRequestResponse, status = 200): T {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`)
  return (status === 204 ? undefined : res.json()) as T
}

export async function auditRows(ctx: TestContext, action?: string) {
  let q = ctx.app.db.selectFrom('audit_events').selectAll().orderBy('id')
  if (action) q = q.where('action', '=', action)
  return q.execute()
}

export async function userVersion(ctx: TestContext, id: number): Promise<number> {
  const row = await ctx.app.db.selectFrom('users').select('version').where('id', '=', id).executeTakeFirstOrThrow()
  return row.version
}

export async function namespaceRows(ctx: TestContext, ids?: number[]) {
  let q = ctx.app.db.selectFrom('namespaces').select(['id', 'kind', 'parent_id', 'path', 'full_path', 'traversal_ids', 'version']).orderBy('id')
  if (ids) q = q.where('id', 'in', ids)
  return q.execute()
}

/** Rows whose full path or traversal ids disagree with their parent's: empty for a consistent tree. */
export async function treeInconsistencies(ctx: TestContext) {
  const rows = await namespaceRows(ctx)
  const byId = new Map(rows.map((r) => [r.id, r]))
  return rows.flatMap((r) => {
    const parent = r.parent_id === null ? undefined : byId.get(r.parent_id)
    const fullPath = parent ? `${parent.full_path}/${r.path}` : r.path
    const traversal = parent ? [...parent.traversal_ids, r.id] : [r.id]
    const fine = r.full_path === fullPath && traversal.join() === r.traversal_ids.join() && (r.parent_id === null || parent)
    return fine ? [] : [{ id: r.id, full_path: r.full_path, expected: fullPath, traversal_ids: r.traversal_ids, expected_ids: traversal }]
  })
}

/** Row counts of every directory table and the audit log: proves nothing was half-written. */
export async function tableCounts(ctx: TestContext) {
  const count = async (table: 'users' | 'namespaces' | 'memberships' | 'audit_events') => {
    const row = await ctx.app.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
    return Number(row.n)
  }
  return { users: await count('users'), namespaces: await count('namespaces'), memberships: await count('memberships'), audit_events: await count('audit_events') }
}
