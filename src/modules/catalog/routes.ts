// The permission catalog: public reference data (names, titles, descriptions, where each can be
// granted), searchable so a token form can offer "clone" → Code: Read.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { routeResource } from '../../domain/gitlab-routes.js'
import { CATEGORIES, LEGACY_SCOPES, PERMISSIONS, searchPermissions } from '../../domain/permissions/index.js'
import { buildSuggestIndex } from '../../domain/permissions/suggest-index.js'
import { suggestPermissions } from '../../domain/permissions/suggest-ranking.js'
import { AppError, invalidField } from '../../http/errors.js'
import { errorResponses, Nullable } from '../../http/schemas.js'
import { SUGGEST_LIMIT_DEFAULT, SuggestQuery, SuggestResponse } from './suggest-schemas.js'

const LEVEL_NAMES: Record<number, string | null> = { 0: null, 10: 'guest', 15: 'planner', 20: 'reporter', 30: 'developer', 40: 'maintainer', 50: 'owner' }

const Boundary = Type.Union([Type.Literal('project'), Type.Literal('group'), Type.Literal('user'), Type.Literal('instance')])

const PermissionSchema = Type.Object(
  {
    name: Type.String(),
    title: Type.String(),
    description: Type.String(),
    category: Type.String(),
    boundaries: Type.Array(Type.String()),
    min_access_level: Type.Integer({ description: 'Minimum role the token owner needs on the resource (0: none)' }),
    min_access_level_name: Nullable(Type.String()),
    requires_admin: Type.Boolean(),
    public_read: Type.Boolean(),
    access: Type.String({ description: 'read or write' }),
    includes: Type.Optional(Type.Array(Type.String(), { description: 'For bundles: the permissions it grants' })),
    synonyms: Type.Optional(Type.Array(Type.String())),
    routes: Type.Optional(Type.Array(Type.Object({
      method: Type.String(),
      path: Type.String({ description: 'GitLab REST v4 path template, without /api/v4' }),
      resource: Type.String({ description: 'What the path names: project, group, user, self (the token owner) or instance' }),
    }), { description: 'The GitLab REST endpoints this permission covers (POST /api/v4/authorize accepts them as request); bundles have none of their own' })),
    no_route: Type.Optional(Type.String({ description: 'Why no GitLab REST endpoint maps to this permission' })),
  },
  { $id: 'Permission' },
)

const CategorySchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  description: Type.String(),
  permission_count: Type.Integer(),
})

const Query = Type.Object(
  {
    search: Type.Optional(Type.String({ maxLength: 200, description: 'Matches names, titles, descriptions and synonyms ("clone", "MR")' })),
    category: Type.Optional(Type.String({ maxLength: 100 })),
    boundary: Type.Optional(Boundary),
  },
  { additionalProperties: false },
)

const toApi = (p: (typeof PERMISSIONS)[number]) => ({
  name: p.name,
  title: p.title,
  description: p.description,
  category: p.category,
  boundaries: [...p.boundaries],
  min_access_level: p.minAccessLevel,
  min_access_level_name: LEVEL_NAMES[p.minAccessLevel] ?? null,
  requires_admin: p.requiresAdmin,
  public_read: p.publicRead,
  access: p.access,
  ...(p.includes ? { includes: [...p.includes] } : {}),
  ...(p.synonyms ? { synonyms: [...p.synonyms] } : {}),
  ...(p.routes ? { routes: p.routes.map((r) => ({ method: r.method, path: r.path, resource: routeResource(r).kind })) } : {}),
  ...(p.noRoute ? { no_route: p.noRoute } : {}),
})

export const catalogRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addSchema(PermissionSchema)
  const tags = ['catalog']

  app.get('/permissions', {
    schema: {
      tags, operationId: 'listPermissions', summary: 'Search the permission catalog', security: [],
      querystring: Query, response: { 200: Type.Array(Type.Ref('Permission')), ...errorResponses(400) },
    },
  }, async (request) => {
    const { category } = request.query
    if (category && !CATEGORIES.some((c) => c.id === category)) {
      throw new AppError(400, 'unknown_category', `query.category: unknown category "${category}"; see GET /api/v4/permissions/categories`, [
        { path: 'query.category', message: `unknown category "${category}"` },
      ])
    }
    return searchPermissions(request.query).map(toApi)
  })

  // Built once here, at startup: the catalog only changes with a release.
  const suggestIndex = buildSuggestIndex(PERMISSIONS, CATEGORIES)

  app.get('/permissions/suggest', {
    schema: {
      tags, operationId: 'suggestPermissions', security: [],
      summary: 'Permissions for a job described in plain words, ranked, with why each matched',
      description: 'Ranks the catalog (BM25 over names, titles, synonyms, descriptions and categories, with stemming, everyday verbs, shorthand such as "MR" and typo tolerance) for a description such as "clone the repo and open merge requests". Several intents are split into clauses; the best match of each clause comes first. No match is an empty list with a hint.',
      querystring: SuggestQuery, response: { 200: SuggestResponse, ...errorResponses(400) },
    },
  }, async (request) => {
    const { q, boundary, limit = SUGGEST_LIMIT_DEFAULT } = request.query
    if (q.trim() === '') throw invalidField('query.q', 'describe what the job does, e.g. "clone the repo and open merge requests"')
    const outcome = suggestPermissions(suggestIndex, q, { boundary, limit })
    return {
      query: q,
      clauses: outcome.clauses,
      results: outcome.suggestions.map((s) => ({
        name: s.permission.name, title: s.permission.title, category: s.permission.category, access: s.permission.access,
        boundaries: [...s.permission.boundaries], score: s.score, relevance: s.relevance, covers: s.covers, matched: s.matched,
      })),
      ...(outcome.hint ? { hint: outcome.hint } : {}),
    }
  })

  app.get('/permissions/categories', {
    schema: {
      tags, operationId: 'listPermissionCategories', summary: 'The catalog\'s categories, in display order', security: [],
      response: { 200: Type.Array(CategorySchema) },
    },
  }, async () =>
    CATEGORIES.map((c) => ({ ...c, permission_count: PERMISSIONS.filter((p) => p.category === c.id).length })),
  )

  app.get('/permissions/legacy_scopes', {
    schema: {
      tags, operationId: 'listLegacyScopes', summary: 'Legacy scopes and the permissions each maps to', security: [],
      response: {
        200: Type.Array(Type.Object({
          name: Type.String(),
          description: Type.String(),
          permissions: Type.Union([Type.Literal('all'), Type.Array(Type.String())], { description: '"all", or the permissions it grants (none for admin_mode, a modifier)' }),
          except: Type.Optional(Type.Array(Type.String(), { description: 'With "all": the permissions it does not grant (api: act_as_user, which only sudo grants)' })),
          admin_only: Type.Boolean({ description: 'Only for tokens of administrators (sudo, admin_mode), as GitLab' }),
        })),
      },
    },
  }, async () => LEGACY_SCOPES.map((s) => ({
    name: s.name, description: s.description, permissions: s.permissions === 'all' ? 'all' as const : [...s.permissions],
    ...(s.except ? { except: [...s.except] } : {}), admin_only: s.adminOnly === true,
  })))
}
