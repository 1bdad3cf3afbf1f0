// The console's pages. Every page but sign-in needs a signed-in user; the user is loaded (and the
// credential checked) before the first page shows.
import { createRouter, createWebHistory } from 'vue-router'
import { api, must } from './lib/api.js'
import { adoptCredentialFromFragment, session } from './lib/session.js'

// Before the router reads the address: a handed-in credential must not stay in the URL or history.
adoptCredentialFromFragment()

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/', redirect: '/tokens' },
    { path: '/sign-in', name: 'sign-in', component: () => import('./views/SignInView.vue'), meta: { public: true, title: 'Sign in' } },
    { path: '/tokens', name: 'tokens', component: () => import('./views/TokensView.vue'), meta: { title: 'Personal access tokens' } },
    { path: '/tokens/new', name: 'generate', component: () => import('./views/GenerateView.vue'), meta: { title: 'Generate a token' } },
    { path: '/tokens/:id', name: 'token', component: () => import('./views/TokensView.vue'), meta: { title: 'Personal access tokens' } },
    { path: '/inventory', name: 'inventory', component: () => import('./views/InventoryView.vue'), meta: { title: 'Credential inventory' } },
    { path: '/policy', name: 'policy', component: () => import('./views/PolicyView.vue'), meta: { title: 'Token policy' } },
    { path: '/webhooks', name: 'webhooks', component: () => import('./views/WebhooksView.vue'), meta: { title: 'Webhooks' } },
    { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { title: 'Not found' } },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!session.credential) return { name: 'sign-in', query: { next: to.fullPath } }
  if (!session.user) {
    try {
      session.user = await must(api.GET('/api/v4/user'))
    } catch {
      session.signOut(session.notice ?? 'That credential cannot sign in here (it needs the read_user permission, or it expired).')
      return { name: 'sign-in', query: { next: to.fullPath } }
    }
  }
  return true
})

router.afterEach((to) => {
  document.title = `${String(to.meta.title ?? 'Console')} · fgpat`
})
