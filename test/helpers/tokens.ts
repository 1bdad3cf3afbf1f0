// Shortcuts for token tests: create through the real API and return the parsed body.
import type { TestContext } from './app.js'
import { asUser, inDays } from './fixtures.js'

export interface TokenJson {
  id: number
  name: string
  token?: string
  state: string
  active: boolean
  revoked: boolean
  kind: string
  expires_at: string | null
  scopes: string[]
  granular: boolean
  granular_scopes: { access: string; permissions: string[]; project_id: number | null; group_id: number | null }[]
  previous_personal_access_token_id: number | null
  duplicated_from_id: number | null
  revoke_reason: string | null
  token_hint: string
  description: string | null
  user_id: number
  warnings?: string[]
}

export const readCodeOn = (projectIds: number[]) => [{ access: 'selected_memberships', project_ids: projectIds, permissions: ['read_code'] }]

export async function createToken(ctx: TestContext, userId: number, body: Record<string, unknown> = {}): Promise<TokenJson> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/v4/user/personal_access_tokens',
    headers: await asUser(ctx, userId),
    payload: { name: 'test token', expires_at: inDays(30), granular_scopes: readCodeOn([102]), ...body },
  })
  if (res.statusCode !== 201) throw new Error(`creating a token failed: ${res.statusCode} ${res.body}`)
  return res.json() as TokenJson
}

export const patHeader = (token: string) => ({ 'private-token': token })
