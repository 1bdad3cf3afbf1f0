// Migration 0009 on a database that already has tagged events: the tags of a token's own reach
// become `reached` (so the groups below see those events), the others stay as they were, and no
// event is tagged for a group it did not concern when it was written.
import { Migrator, sql } from 'kysely'
import t from 'tap'
import { migrations } from '../../../migrations/index.js'
import { migrateToLatest } from '../../../src/db/migrate.js'
import { emptyDatabase } from '../../helpers/app.js'

t.test('0009 marks the existing tags of a token\'s own reach', async (t) => {
  const db = await emptyDatabase(t, 't_reach_migration') // migrated step by step below, not cloned from the template
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const before = await migrator.migrateTo('0008_reuse_detection')
  t.notOk(before.error)
  await sql`
    insert into users (id, username, name, email) values (1, 'alice', 'Alice', 'alice@example.com');
    insert into namespaces (id, kind, parent_id, path, full_path, name, traversal_ids) values
      (100, 'group', null, 'acme', 'acme', 'acme', '{100}'),
      (101, 'group', 100, 'platform', 'acme/platform', 'platform', '{100,101}'),
      (106, 'group', 100, 'other', 'acme/other', 'other', '{100,106}');
    insert into personal_access_tokens (id, user_id, name, kind, token_digest, token_hint, created_by) overriding system value values
      (1, 1, 'on acme', 'fine_grained', 'd1', 'fgpat-aaaa', 'test'),
      (2, 1, 'on acme/other', 'fine_grained', 'd2', 'fgpat-bbbb', 'test');
    insert into personal_access_token_scopes (token_id, access, namespace_id, permissions) values
      (1, 'selected_memberships', 100, '{read_code}'), (2, 'selected_memberships', 106, '{read_code}');
    insert into audit_events (actor_type, actor_id, action, target_type, target_id) values
      ('user', '1', 'token.created', 'personal_access_token', '1'),
      ('user', '1', 'token.created', 'personal_access_token', '2'),
      ('user', '1', 'token.group_access_removed', 'personal_access_token', '1');
  `.execute(db)

  t.same((await migrateToLatest(db))[0], '0009_audit_reach_from_ancestors', '0009 runs next (later migrations after it)')
  const tags = await sql<{ event: string; group_id: number; reached: boolean }>`
    select e.action || ' ' || e.target_id as event, g.group_id, g.reached
    from audit_event_groups g join audit_events e on e.id = g.event_id order by e.id, g.group_id`.execute(db)
  t.same(tags.rows, [
    { event: 'token.created 1', group_id: 100, reached: true },
    { event: 'token.created 2', group_id: 100, reached: false },
    { event: 'token.created 2', group_id: 106, reached: true },
  ], 'reached where the token is scoped; a group above a reached one only contains it; a removal is tagged by its group alone (none here)')
})
