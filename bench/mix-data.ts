// The data set of `npm run bench:mix` and the model the benchmark checks answers against.
//
// Shape (scaled with BENCH_TOKENS = N): N/10 users (at least 500), N/25 projects (at least 200) in
// groups of 20 projects. User u is a developer of group 1 + u % groups. Token i (id = i) belongs to
// user 1 + (i - 1) % users and has one scope: selected_memberships on its owner's group with 4 of
// the 8 permissions below (which 4 depends on i). So the answer to any (token, permission, project)
// follows from i alone, and the bench knows it without asking.
//
// Secrets are derived from i (sha512 of a label, in base62, with the format's CRC32 checksum), so
// that 1,000,000 of them need not be kept: any token the run picks is presentable on demand.
import { createHash } from 'node:crypto'
import CRC32 from 'crc-32'
import pg from 'pg'
import { digestToken, parseToken, tokenHint } from '../src/domain/token-format.js'
import { PEPPER, progress } from './lib.js'

/** All need at most developer (30), the seeded role, so in-scope questions are allowed. */
export const PERMISSIONS = ['read_code', 'push_code', 'read_issue', 'create_issue', 'create_merge_request', 'read_pipeline', 'read_job', 'create_pipeline']
const PERMISSION_OFFSETS = [0, 1, 3, 5] // distinct mod 8: 4 distinct permissions per token
export const PROJECTS_PER_GROUP = 20

export interface Shape {
  tokens: number
  users: number
  projects: number
  groups: number
}

export function shape(tokens: number): Shape {
  const users = Math.max(500, Math.round(tokens / 10))
  const projects = Math.max(200, Math.round(tokens / 25 / PROJECTS_PER_GROUP) * PROJECTS_PER_GROUP)
  return { tokens, users, projects, groups: projects / PROJECTS_PER_GROUP }
}

export const userOf = (s: Shape, token: number) => 1 + ((token - 1) % s.users)
export const groupOf = (s: Shape, user: number) => 1 + (user % s.groups)
export const permissionsOf = (token: number) => PERMISSION_OFFSETS.map((o) => PERMISSIONS[(token + o) % PERMISSIONS.length])
/** The k-th project (0-based, k < PROJECTS_PER_GROUP) of group g: projects are ids groups + 1 … groups + projects. */
export const projectOf = (s: Shape, group: number, k: number) => s.groups + 1 + (group - 1) + s.groups * k
export const groupOfProject = (s: Shape, project: number) => 1 + ((project - s.groups - 1) % s.groups)

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
/** Same checksum as src/domain/token-format.ts (CRC32 of prefix + body, 6 base62 digits). */
function checksum(s: string): string {
  let value = CRC32.str(s) >>> 0
  let out = ''
  for (let i = 0; i < 6; i++) {
    out = ALPHABET[value % 62] + out
    value = Math.floor(value / 62)
  }
  return out
}

/** The secret of seeded token i: deterministic, well-formed (checksum), not guessable without the label. */
export function secretOf(token: number): string {
  const bytes = createHash('sha512').update(`bench-mix-${token}`).digest()
  let body = ''
  for (let k = 0; k < 43; k++) body += ALPHABET[bytes[k] % 62]
  return `fgpat-${body}${checksum(`fgpat-${body}`)}`
}

/** Seeds the directory with generate_series and the tokens in batches (digests computed here, rows by unnest/generate_series). */
export async function seedMix(url: string, s: Shape): Promise<void> {
  if (!parseToken(secretOf(1))) throw new Error('secretOf makes malformed tokens')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('truncate users, namespaces, memberships, personal_access_tokens, personal_access_token_scopes, token_usage_daily, audit_events, group_token_policies restart identity cascade')
    const t0 = Date.now()
    await client.query(`insert into users (id, username, name, email) select i, 'u' || i, 'User ' || i, 'u' || i || '@example.com' from generate_series(1, $1) i`, [s.users])
    await client.query(`insert into namespaces (id, kind, path, full_path, name, traversal_ids) select i, 'group', 'g' || i, 'g' || i, 'g' || i, array[i] from generate_series(1, $1) i`, [s.groups])
    // project groups + 1 + j sits in group 1 + j % groups (projectOf above)
    await client.query(
      `insert into namespaces (id, kind, parent_id, path, full_path, name, traversal_ids)
       select $1 + 1 + j, 'project', 1 + j % $1, 'p' || j, 'g' || (1 + j % $1) || '/p' || j, 'p' || j, array[1 + j % $1, $1 + 1 + j]
       from generate_series(0, $2 - 1) j`,
      [s.groups, s.projects],
    )
    await client.query(`insert into memberships (user_id, namespace_id, access_level) select u, 1 + u % $2, 30 from generate_series(1, $1) u`, [s.users, s.groups])
    // Presenting a rotated-away secret would revoke the whole family (the default, revoke_family):
    // the checker presents old secrets on purpose, so reuse only notifies here.
    await client.query(`insert into instance_settings (id, reuse_detection) values (1, 'notify') on conflict (id) do update set reuse_detection = 'notify'`)
    console.error(`[bench] directory: ${s.users} users, ${s.groups} groups, ${s.projects} projects in ${Date.now() - t0} ms`)

    const t1 = Date.now()
    const batch = 50_000
    for (let from = 1; from <= s.tokens; from += batch) {
      const to = Math.min(s.tokens, from + batch - 1)
      const digests: Buffer[] = []
      const hints: string[] = []
      for (let i = from; i <= to; i++) {
        const secret = secretOf(i)
        digests.push(digestToken(PEPPER, secret))
        hints.push(tokenHint(secret))
      }
      await client.query(
        `insert into personal_access_tokens (id, user_id, name, kind, token_digest, token_hint, expires_at, created_by, family_id)
         overriding system value
         select $1 + o - 1, 1 + ($1 + o - 2) % $2, 'mix ' || ($1 + o - 1), 'fine_grained', d, h, current_date + 300, 'bench', $1 + o - 1
         from unnest($3::bytea[], $4::text[]) with ordinality as x(d, h, o)`,
        [from, s.users, digests, hints],
      )
      await client.query(
        `insert into personal_access_token_scopes (token_id, access, namespace_id, permissions)
         select i, 'selected_memberships', 1 + (1 + (i - 1) % $3) % $4,
           array[($5::text[])[1 + i % 8], ($5::text[])[1 + (i + 1) % 8], ($5::text[])[1 + (i + 3) % 8], ($5::text[])[1 + (i + 5) % 8]]
         from generate_series($1::bigint, $2::bigint) i`,
        [from, to, s.users, s.groups, PERMISSIONS],
      )
      progress('tokens', to, s.tokens)
    }
    await client.query(`select setval(pg_get_serial_sequence('personal_access_tokens', 'id'), $1)`, [s.tokens])
    console.error(`[bench] ${s.tokens} tokens in ${Date.now() - t1} ms; vacuum analyze…`)
    await client.query('vacuum analyze')
  } finally {
    await client.end()
  }
}

/** Zipf(exponent) over ranks 1..n: a cumulative table, sampled by binary search. Rank r is token r. */
export function zipf(n: number, exponent: number): (u: number) => number {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let k = 1; k <= n; k++) cdf[k - 1] = sum += k ** -exponent
  for (let k = 0; k < n; k++) cdf[k] /= sum
  return (u) => {
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid] < u) lo = mid + 1
      else hi = mid
    }
    return lo + 1
  }
}

/** A small seeded PRNG (mulberry32): each autocannon connection walks its own sequence. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
