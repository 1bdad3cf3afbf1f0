// Who is signed in, for this tab only: the credential lives in sessionStorage (gone when the tab
// closes, never in localStorage or a cookie), and signing out forgets it. An embedding application
// may hand in a caller JWT as /console/#access_token=…; it is read once and removed from the URL.
import { reactive } from 'vue'
import { isJwt } from '../../../client/index.js'

const KEY = 'fgpat.console.credential'

export interface SignedInUser {
  id: number
  username: string
  name: string
  email: string
  is_admin: boolean
}

export const session = reactive({
  credential: sessionStorage.getItem(KEY) as string | null,
  user: null as SignedInUser | null,
  /** Why the last session ended, shown on the sign-in page. */
  notice: null as string | null,
  get kind(): 'jwt' | 'token' | null {
    return this.credential ? (isJwt(this.credential) ? 'jwt' : 'token') : null
  },
  remember(credential: string) {
    this.credential = credential
    this.notice = null
    sessionStorage.setItem(KEY, credential)
  },
  signOut(notice: string | null = null) {
    this.credential = null
    this.user = null
    this.notice = notice
    sessionStorage.removeItem(KEY)
  },
  expired() {
    if (this.credential) this.signOut('Your session ended (the credential expired or was revoked). Sign in again.')
  },
})

/** Takes a credential handed in through the URL fragment, and removes it from the address bar and history. */
export function adoptCredentialFromFragment() {
  const params = new URLSearchParams(window.location.hash.slice(1))
  const handed = params.get('access_token')
  if (!handed) return
  session.remember(handed)
  history.replaceState(null, '', window.location.pathname + window.location.search)
}
