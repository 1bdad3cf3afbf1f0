// A group's reach (fgpat_tokens_reaching, migration 0018; the legacy report's fgpat_legacy_reaching,
// 0020) reads three indexes for ids only: the scopes on the group's namespaces (their token ids), the
// members of those namespaces (their user ids) and those members' broad tokens (their ids). Each index
// held only its key, so every match was a heap fetch as well: at 1,000,000 tokens the ~100 scope rows
// of one group sit on ~100 different heap pages, a random read per row in every group page, summary
// and report (bench/README.md, issue 17 part 6). The same indexes with the wanted column included let
// PostgreSQL answer from the index alone (an index-only scan, where the visibility map says the page
// is settled, which it is for rows not written since the last vacuum). Same keys and predicates as
// before, so no other query's plan changes and no write maintains an extra index.
//
// Built under a new name, the old one dropped and the new one renamed, in the migration's
// transaction: there is no moment without the index. CREATE INDEX blocks writes to the table while it
// builds (~0.6 s for the scopes at 1M tokens).
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

const INDEXES = [
  {
    name: 'pat_scopes_namespace',
    before: 'on personal_access_token_scopes (namespace_id) where namespace_id is not null',
    after: 'on personal_access_token_scopes (namespace_id) include (token_id) where namespace_id is not null',
  },
  {
    name: 'memberships_namespace',
    before: 'on memberships (namespace_id)',
    after: 'on memberships (namespace_id) include (user_id)',
  },
  {
    name: 'pat_broad_by_user',
    before: "on personal_access_tokens (user_id) where kind = 'legacy' or all_memberships",
    after: "on personal_access_tokens (user_id) include (id) where kind = 'legacy' or all_memberships",
  },
]

async function replace(db: Kysely<unknown>, name: string, definition: string): Promise<void> {
  await sql.raw(`create index ${name}_next ${definition}`).execute(db)
  await sql.raw(`drop index ${name}`).execute(db)
  await sql.raw(`alter index ${name}_next rename to ${name}`).execute(db)
}

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const index of INDEXES) await replace(db, index.name, index.after)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of INDEXES) await replace(db, index.name, index.before)
}
