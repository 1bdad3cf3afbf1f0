// What the signed-in user may govern: the whole instance (administrators) and the groups they own.
// Asked once per signed-in user (GET /groups?min_access_level=50) and shared by the navigation,
// the inventory and the policy pages.
import { reactive } from 'vue'
import { api, must } from './api.js'
import { session } from './session.js'

export interface OwnedGroup {
  id: number
  fullName: string
  fullPath: string
  topLevel: boolean
}

export const manage = reactive({
  /** The user id the answer is for; null until asked. */
  forUser: null as number | null,
  loading: false,
  isAdmin: false,
  groups: [] as OwnedGroup[],
  get any(): boolean {
    return this.isAdmin || this.groups.length > 0
  },
})

let pending: Promise<void> | null = null

/** Loads (once per user) what the signed-in user may manage; resolves when known. */
export function loadManage(): Promise<void> {
  const user = session.user
  if (!user) return Promise.resolve()
  if (manage.forUser === user.id && !manage.loading) return Promise.resolve()
  if (pending) return pending
  manage.loading = true
  pending = (async () => {
    let groups: OwnedGroup[] = []
    try {
      const found = await must(api.GET('/api/v4/groups', { params: { query: { min_access_level: 50, per_page: 100 } } }))
      groups = found
        .filter((g) => g.access_level === null || g.access_level >= 50)
        .map((g) => ({ id: g.id, fullName: g.full_name, fullPath: g.full_path, topLevel: g.parent_id === null }))
    } catch {
      // Not knowing means not offering: the pages still say so if the user goes there.
    } finally {
      manage.loading = false
      pending = null
    }
    // Signed out (or in as someone else) meanwhile: this answer is not theirs.
    if (session.user?.id !== user.id) return
    manage.groups = groups
    manage.isAdmin = user.is_admin
    manage.forUser = user.id
  })()
  return pending
}

/** Signing out forgets it. */
export function forgetManage() {
  manage.forUser = null
  manage.isAdmin = false
  manage.groups = []
}
