// A new token starts its own rotation family (family_id = its id; rotations inherit the family).
// The id comes from the sequence, so the API inserted the row and then updated family_id in a second
// statement: one more round trip in every creation's transaction, and a second version of the row
// just written (bench/README.md, write cost). A BEFORE INSERT trigger sets it from the id the row
// already has. Rows written before this migration with no family keep it null: every reader takes
// `family_id ?? id`, so they are left as they are rather than rewriting the table.
// Frozen in time: never import application code from a migration.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function fgpat_token_family_default() returns trigger language plpgsql as $$
    begin
      new.family_id := coalesce(new.family_id, new.id);
      return new;
    end $$;
    create trigger personal_access_tokens_family_default before insert on personal_access_tokens
    for each row execute function fgpat_token_family_default();
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop trigger personal_access_tokens_family_default on personal_access_tokens;
    drop function fgpat_token_family_default();
  `.execute(db)
}
