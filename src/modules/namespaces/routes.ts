// The caller's profile and the groups and projects they can see, in GitLab's shapes (GET /user,
// /groups, /projects and one of each by id): what a token form needs to offer a scope by name, and
// what the console shows instead of bare ids. GET /users and /users/:id give GitLab's basic user
// (id, username, name, state), so an inventory names a token's owner and filters by username. A user sees what their memberships reach (inherited
// down the tree) and their personal projects; an administrator sees every namespace. Another
// namespace is 404, as GitLab answers for one you cannot see.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Caller } from '../../auth/caller.js'
import { utcDate } from '../../domain/dates.js'
import { notFound } from '../../http/errors.js'
import { setPaginationHeaders } from '../../http/pagination.js'
import { errorResponses, Nullable, Page, PerPage } from '../../http/schemas.js'
import { type NamespaceRow, namespacesPage, usersPage } from './repository.js'

const userOf = (request: FastifyRequest) => {
  const caller = request.caller as Exclude<Caller, { kind: 'service' }>
  return caller.user
}

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
const AccessLevel = Nullable(Type.Integer({ description: 'Your role there (10 guest … 50 owner): the highest membership on its path, 50 in your personal namespace; null for an administrator without one' }))

const Group = Type.Object({
  id: Type.Integer(), name: Type.String(), path: Type.String(), full_path: Type.String(), full_name: Type.String(),
  parent_id: Nullable(Type.Integer()), visibility: Type.String(), created_at: Type.String(), access_level: AccessLevel,
})
const Project = Type.Object({
  id: Type.Integer(), name: Type.String(), path: Type.String(), path_with_namespace: Type.String(), name_with_namespace: Type.String(),
  visibility: Type.String(), created_at: Type.String(), access_level: AccessLevel,
  namespace: Type.Object({ id: Nullable(Type.Integer()), name: Nullable(Type.String()), kind: Nullable(Type.String()), full_path: Nullable(Type.String()) }),
})
const User = Type.Object({
  id: Type.Integer(), username: Type.String(), name: Type.String(), email: Type.String(), state: Type.String(), is_admin: Type.Boolean(),
})
// GitLab's basic user: what anyone signed in may know of another user (an inventory names a token's owner).
const BasicUser = Type.Object({ id: Type.Integer(), username: Type.String(), name: Type.String(), state: Type.String() })
const UserListQuery = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Exactly this username (case-insensitive)' })),
    search: Type.Optional(Type.String({ maxLength: 200, description: 'Part of the username or name' })),
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)
const ListQuery = Type.Object(
  {
    search: Type.Optional(Type.String({ maxLength: 200, description: 'Part of the name or full path' })),
    min_access_level: Type.Optional(Type.Integer({ minimum: 0, maximum: 50, description: 'Only where your role is at least this (10 guest … 50 owner)' })),
    page: Type.Optional(Page),
    per_page: Type.Optional(PerPage),
  },
  { additionalProperties: false },
)
const ById = Type.Object({ id: Id }, { additionalProperties: false })

const toGroup = (r: NamespaceRow) => ({
  id: r.id, name: r.name, path: r.path, full_path: r.full_path, full_name: r.full_name, parent_id: r.parent_id,
  visibility: r.visibility, created_at: r.created_at.toISOString(), access_level: r.access_level,
})
const toProject = (r: NamespaceRow) => ({
  id: r.id, name: r.name, path: r.path, path_with_namespace: r.full_path, name_with_namespace: r.full_name,
  visibility: r.visibility, created_at: r.created_at.toISOString(), access_level: r.access_level,
  namespace: { id: r.parent_id, name: r.parent_name, kind: r.parent_kind, full_path: r.parent_full_path },
})

export const namespaceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // A token caller needs a user-boundary permission: read_user for the profile, and for the lists
  // read_personal_access_token (they exist to name a token's scope and to pick one).
  const profile = { onRequest: app.requireUser({ tokenPermission: 'read_user' }) }
  const listing = { onRequest: app.requireUser({ tokenPermission: 'read_personal_access_token' }) }
  const tags = ['namespaces']

  app.get('/user', {
    ...profile,
    schema: { tags, operationId: 'currentUser', summary: 'The user you authenticate as', response: { 200: User, ...errorResponses(401, 403) } },
  }, async (request) => {
    const u = userOf(request)
    return { id: u.id, username: u.username, name: u.name, email: u.email, state: u.state, is_admin: u.is_admin }
  })

  app.get('/users', {
    ...profile,
    schema: {
      tags, operationId: 'listUsers', summary: 'Users (active ones; every state for administrators), as GitLab\'s basic user',
      querystring: UserListQuery, response: { 200: Type.Array(BasicUser), ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const q = request.query
    const { total, rows } = await usersPage(app.db, { admin: userOf(request).is_admin, username: q.username, search: q.search, page: q.page ?? 1, perPage: q.per_page ?? 20 })
    setPaginationHeaders(request, reply, { total, page: q.page ?? 1, perPage: q.per_page ?? 20 })
    return rows
  })

  app.get('/users/:id', {
    ...profile,
    schema: {
      tags, operationId: 'showUser', summary: 'One user, as GitLab\'s basic user (404 for an inactive one, except to administrators)',
      params: ById, response: { 200: BasicUser, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const { rows } = await usersPage(app.db, { admin: userOf(request).is_admin, ids: [request.params.id], page: 1, perPage: 1 })
    if (!rows[0]) throw notFound('User')
    return rows[0]
  })

  const page = (request: FastifyRequest, kind: 'group' | 'project', q: { search?: string; min_access_level?: number; page?: number; per_page?: number }, ids?: number[]) => {
    const u = userOf(request)
    return namespacesPage(app.db, {
      kind, userId: u.id, admin: u.is_admin, today: utcDate(app.clock()), search: q.search, minLevel: q.min_access_level, ids,
      page: q.page ?? 1, perPage: q.per_page ?? 20,
    })
  }

  for (const [kind, path, schema, present] of [
    ['group', '/groups', Group, toGroup],
    ['project', '/projects', Project, toProject],
  ] as const) {
    app.get(path, {
      ...listing,
      schema: {
        tags, operationId: `list${kind === 'group' ? 'Groups' : 'Projects'}`,
        summary: `The ${kind}s you can see (your memberships and below${kind === 'project' ? ', your personal projects' : ''}; all for administrators)`,
        querystring: ListQuery, response: { 200: Type.Array(schema), ...errorResponses(400, 401, 403) },
      },
    }, async (request, reply) => {
      const q = request.query as Parameters<typeof page>[2]
      const { total, rows } = await page(request, kind, q)
      setPaginationHeaders(request, reply, { total, page: q.page ?? 1, perPage: q.per_page ?? 20 })
      return rows.map(present as (r: NamespaceRow) => ReturnType<typeof toGroup> & ReturnType<typeof toProject>)
    })

    app.get(`${path}/:id`, {
      ...listing,
      schema: {
        tags, operationId: `show${kind === 'group' ? 'Group' : 'Project'}`, summary: `One ${kind} you can see (404 otherwise)`,
        params: ById, response: { 200: schema, ...errorResponses(400, 401, 403, 404) },
      },
    }, async (request) => {
      const { id } = request.params as { id: number }
      const { rows } = await page(request, kind, { per_page: 1 }, [id])
      if (!rows[0]) throw notFound(kind === 'group' ? 'Group' : 'Project')
      return present(rows[0])
    })
  }
}
