// Names of groups and projects for ids found in token scopes, fetched once per id and shared by
// every view (GET /groups/:id, /projects/:id). An id the signed-in user cannot see stays an id.
import { reactive } from 'vue'
import { api } from './api.js'

export interface NamespaceName {
  kind: 'group' | 'project'
  id: number
  name: string
  fullName: string
  fullPath: string
}

const known = reactive(new Map<string, NamespaceName | null>())
const asked = new Set<string>()

export function namespaceName(kind: 'group' | 'project', id: number): NamespaceName | null | undefined {
  const key = `${kind}:${id}`
  if (!asked.has(key)) {
    asked.add(key)
    void fetchName(kind, id, key)
  }
  return known.get(key)
}

async function fetchName(kind: 'group' | 'project', id: number, key: string) {
  if (kind === 'group') {
    const { data } = await api.GET('/api/v4/groups/{id}', { params: { path: { id } } })
    known.set(key, data ? { kind, id, name: data.name, fullName: data.full_name, fullPath: data.full_path } : null)
  } else {
    const { data } = await api.GET('/api/v4/projects/{id}', { params: { path: { id } } })
    known.set(key, data ? { kind, id, name: data.name, fullName: data.name_with_namespace, fullPath: data.path_with_namespace } : null)
  }
}

/** "ACME Corp / Platform" once known, "group 101" until then. */
export function labelOf(kind: 'group' | 'project', id: number): string {
  const n = namespaceName(kind, id)
  return n ? n.fullName : `${kind} ${id}`
}

const users = reactive(new Map<number, { username: string; name: string } | null>())
const askedUsers = new Set<number>()

/** "Alice Developer (@alice)" once known (GET /users/:id), "user 2" until then or when hidden. */
export function userLabel(id: number): string {
  if (!askedUsers.has(id)) {
    askedUsers.add(id)
    void api.GET('/api/v4/users/{id}', { params: { path: { id } } }).then(({ data }) => users.set(id, data ? { username: data.username, name: data.name } : null))
  }
  const u = users.get(id)
  return u ? `${u.name} (@${u.username})` : `user ${id}`
}

/** Signing out forgets what the last user could see. */
export function forgetNames() {
  known.clear()
  asked.clear()
  users.clear()
  askedUsers.clear()
}
