// A standard directory for integration tests, loaded through the real bulk API.
import type { TestContext } from './app.js'

export const ADMIN = 1
export const ALICE = 2 // developer on acme (100), maintainer on acme/platform/api (102), reporter on opensource (200)
export const BOB = 3 // reporter on acme/platform (101), owner of opensource (200)
export const CAROL = 4 // no memberships
export const ACME = 100
export const PLATFORM = 101
export const API_PROJECT = 102
export const WEBSITE = 103
export const INFRA = 104
export const TERRAFORM = 105
export const OPENSOURCE = 200
export const CLI_PROJECT = 201
export const ALICE_NS = 300
export const DOTFILES = 301
export const BOB_NS = 310

export const fixtureDirectory = {
  users: [
    { id: ADMIN, username: 'root', name: 'Instance Admin', email: 'admin@example.com', is_admin: true },
    { id: ALICE, username: 'alice', name: 'Alice', email: 'alice@example.com' },
    { id: BOB, username: 'bob', name: 'Bob', email: 'bob@example.com' },
    { id: CAROL, username: 'carol', name: 'Carol', email: 'carol@example.com' },
  ],
  namespaces: [
    { id: ACME, kind: 'group', path: 'acme' },
    { id: PLATFORM, kind: 'group', path: 'platform', parent_id: ACME },
    { id: API_PROJECT, kind: 'project', path: 'api', parent_id: PLATFORM },
    { id: WEBSITE, kind: 'project', path: 'website', parent_id: ACME, visibility: 'public' },
    { id: INFRA, kind: 'group', path: 'infra', parent_id: PLATFORM },
    { id: TERRAFORM, kind: 'project', path: 'terraform', parent_id: INFRA },
    { id: OPENSOURCE, kind: 'group', path: 'opensource', visibility: 'public' },
    { id: CLI_PROJECT, kind: 'project', path: 'cli', parent_id: OPENSOURCE, visibility: 'public' },
    { id: ALICE_NS, kind: 'user', path: 'alice', owner_id: ALICE },
    { id: DOTFILES, kind: 'project', path: 'dotfiles', parent_id: ALICE_NS },
    { id: BOB_NS, kind: 'user', path: 'bob', owner_id: BOB },
  ],
  memberships: [
    { user_id: ALICE, namespace_id: ACME, access_level: 30 },
    { user_id: ALICE, namespace_id: API_PROJECT, access_level: 40 },
    { user_id: ALICE, namespace_id: OPENSOURCE, access_level: 20 },
    { user_id: BOB, namespace_id: PLATFORM, access_level: 20 },
    { user_id: BOB, namespace_id: OPENSOURCE, access_level: 50 },
  ],
}

export async function seedDirectory(ctx: TestContext): Promise<void> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/v4/directory/bulk',
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` },
    payload: fixtureDirectory,
  })
  if (res.statusCode !== 200) throw new Error(`seeding the directory failed: ${res.statusCode} ${res.body}`)
}

/** Bearer headers for a user's JWT. */
export async function asUser(ctx: TestContext, id: number) {
  return { authorization: `Bearer ${await ctx.jwt.user(id)}` }
}

export function inDays(days: number, from = new Date()): string {
  const d = new Date(from)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}
