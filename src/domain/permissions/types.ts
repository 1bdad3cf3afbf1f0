/**
 * Shapes of the permission catalog. The catalog is data: every rule the decision applies
 * (where a permission may be granted, which role its owner needs, what a legacy scope means)
 * is read from these records, never hard-coded next to a route.
 */

/** Where a permission may be granted. A grant at a group boundary covers the group's projects. */
export type Boundary = 'project' | 'group' | 'user' | 'instance'

/**
 * GitLab membership levels: 10 guest, 15 planner, 20 reporter, 30 developer, 40 maintainer,
 * 50 owner. 0 means no membership is needed (user and instance boundaries).
 */
export type AccessLevel = 0 | 10 | 15 | 20 | 30 | 40 | 50

/** Named levels, so catalog entries read as roles rather than magic numbers. */
export const ACCESS_LEVEL = {
  none: 0,
  guest: 10,
  planner: 15,
  reporter: 20,
  developer: 30,
  maintainer: 40,
  owner: 50,
} as const satisfies Record<string, AccessLevel>

/** The HTTP methods of GitLab's REST API that the route table knows (HEAD is matched as GET). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * One GitLab REST v4 endpoint a permission covers, as GitLab documents it without the `/api/v4`
 * prefix (`/projects/:id/repository/files/:file_path`). The resource a request is about comes from
 * the path (domain/gitlab-routes.ts): `/projects/:id/…` a project, `/groups/:id/…` a group,
 * `/users/:id/…` that user, `/user/…` the token's owner, anything else the instance. `on`
 * overrides that where GitLab's path says something else: `self` for the token's owner
 * (`POST /projects` creates in your namespace), `instance` for administration under `/users/:id`.
 */
export interface Route {
  method: HttpMethod
  path: string
  on?: 'self' | 'instance'
}

export interface Category {
  id: string
  title: string
  description: string
}

export interface Permission {
  /** snake_case `action_resource`, e.g. `read_code`, `create_merge_request`, `run_job`. */
  name: string
  /** `Resource: Action`, e.g. `Merge request: Create`; shown in deny messages. */
  title: string
  /** One sentence for in-app help. */
  description: string
  /** A `Category.id`. */
  category: string
  /** Where it may be granted. */
  boundaries: Boundary[]
  /** Minimum membership the token owner needs at project/group boundaries; 0 elsewhere. */
  minAccessLevel: AccessLevel
  /** Instance-boundary administration: the owner must be an instance admin. */
  requiresAdmin: boolean
  /** A read that anyone may do on a public resource. */
  publicRead: boolean
  /** Read permissions are what the legacy `read_api` scope grants. */
  access: 'read' | 'write'
  /** Bundles only: the permission names it expands to (recursively). */
  includes?: string[]
  /** Search helpers: words people type for this, e.g. `clone` for `read_code`. */
  synonyms?: string[]
  /**
   * The GitLab REST endpoints this permission covers (each method + path belongs to exactly one
   * permission). Bundles have none of their own: a bundle is accepted wherever what it includes is.
   */
  routes?: Route[]
  /** Instead of routes: why no GitLab REST endpoint maps to this permission (Git protocol, GraphQL, a header). */
  noRoute?: string
}

/** A GitLab legacy scope and the catalog permissions it stands for. */
export interface LegacyScope {
  name: string
  description: string
  /** `all` for `api`; otherwise permission names (bundles allowed; they are expanded). Empty: a modifier (admin_mode). */
  permissions: 'all' | string[]
  /** With `all`: the permissions only a more specific scope grants (api holds everything but act_as_user, which is sudo's). */
  except?: string[]
  /** Only administrators may hold it (GitLab's sudo and admin_mode): a non-admin owner asking is a 400. */
  adminOnly?: boolean
}
