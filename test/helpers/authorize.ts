import type { App } from '../../src/app.js'
import type { TestContext } from './app.js'

export interface DecisionJson {
  allowed: boolean
  reason: string
  missing?: string[]
  token?: { id: number; user_id: number; kind: string; expires_at: string | null }
  scope?: { access: string; namespace_id: number | null }[]
}

export async function authorizer(ctx: TestContext, app: App = ctx.app) {
  const headers = { authorization: `Bearer ${await ctx.jwt.service('backend', ['authorize'])}` }
  return async (token: string, permission: string | string[], resource: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<DecisionJson> => {
    const res = await app.inject({
      method: 'POST', url: '/api/v4/authorize', headers,
      payload: { token, ...(Array.isArray(permission) ? { permissions: permission } : { permission }), resource, ...extra },
    })
    if (res.statusCode !== 200) throw new Error(`authorize answered ${res.statusCode}: ${res.body}`)
    return res.json() as DecisionJson
  }
}
