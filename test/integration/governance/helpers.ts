// Shortcuts for governance tests: change the instance settings or a group's policy over HTTP.
import type { TestContext } from '../../helpers/app.js'
import { ADMIN, asUser } from '../../helpers/fixtures.js'

export async function putInstance(ctx: TestContext, payload: Record<string, unknown>, as = ADMIN) {
  return ctx.app.inject({ method: 'PUT', url: '/api/v4/application/settings/personal_access_tokens', headers: await asUser(ctx, as), payload })
}

export async function putGroup(ctx: TestContext, groupId: number, payload: Record<string, unknown>, as = ADMIN) {
  return ctx.app.inject({ method: 'PUT', url: `/api/v4/groups/${groupId}/personal_access_token_policy`, headers: await asUser(ctx, as), payload })
}

export async function ok<T = Record<string, unknown>>(res: Promise<{ statusCode: number; body: string; json: () => unknown }>): Promise<T> {
  const r = await res
  if (r.statusCode !== 200) throw new Error(`expected 200, got ${r.statusCode}: ${r.body}`)
  return r.json() as T
}

export async function tryCreate(ctx: TestContext, userId: number, payload: Record<string, unknown>) {
  return ctx.app.inject({ method: 'POST', url: '/api/v4/user/personal_access_tokens', headers: await asUser(ctx, userId), payload: { name: 'job', ...payload } })
}
