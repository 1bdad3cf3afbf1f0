// Reuse detection (issue 13): what happens when a secret revoked by rotation is presented again.
//   instance_settings.reuse_detection      'revoke_family' (default, as GitLab) or 'notify'
//   group_token_policies.reuse_detection   null (no opinion) or either value
// The stricter wins: the family is revoked unless the instance and every group the token reaches
// say 'notify'. Numbered 0008: 0007 is the group-access removals of the same issue.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table instance_settings add column reuse_detection text not null default 'revoke_family'
      check (reuse_detection in ('revoke_family', 'notify'));
    alter table group_token_policies add column reuse_detection text
      check (reuse_detection in ('revoke_family', 'notify'));
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table group_token_policies drop column reuse_detection;
    alter table instance_settings drop column reuse_detection;
  `.execute(db)
}
