// SQL for stored token templates (built-ins live in code).
import { sql } from 'kysely'
import type { Db, Trx } from '../../db/index.js'
import type { GranularScopeInput } from '../../domain/scopes.js'

type Q = Db | Trx

export interface TemplateRow {
  id: number
  owner_type: 'instance' | 'group' | 'user'
  owner_id: number | null
  name: string
  description: string | null
  granular_scopes: GranularScopeInput[]
  default_lifetime_days: number | null
}

const COLUMNS = sql`id, owner_type, owner_id, name, description, granular_scopes, default_lifetime_days`

export async function findTemplate(db: Q, id: number, lock = false): Promise<TemplateRow | undefined> {
  const { rows } = await sql<TemplateRow>`select ${COLUMNS} from token_templates where id = ${id} ${lock ? sql`for update` : sql``}`.execute(db)
  return rows[0]
}

/** Instance templates, those of the given groups and the user's own. */
export async function listTemplates(db: Q, userId: number | null, groupIds: number[]): Promise<TemplateRow[]> {
  const { rows } = await sql<TemplateRow>`select ${COLUMNS} from token_templates
    where owner_type = 'instance'
      or (owner_type = 'group' and owner_id = any(${groupIds}::bigint[]))
      or (owner_type = 'user' and owner_id = ${userId ?? 0}::bigint)
    order by id`.execute(db)
  return rows
}

export async function insertTemplate(trx: Trx, v: Omit<TemplateRow, 'id'> & { created_by: string }): Promise<TemplateRow> {
  const { rows } = await sql<TemplateRow>`insert into token_templates (owner_type, owner_id, name, description, granular_scopes, default_lifetime_days, created_by)
    values (${v.owner_type}, ${v.owner_id}, ${v.name}, ${v.description}, ${JSON.stringify(v.granular_scopes)}::jsonb, ${v.default_lifetime_days}, ${v.created_by})
    returning ${COLUMNS}`.execute(trx)
  return rows[0]
}

export async function updateTemplate(trx: Trx, id: number, v: Pick<TemplateRow, 'name' | 'description' | 'granular_scopes' | 'default_lifetime_days'>): Promise<TemplateRow> {
  const { rows } = await sql<TemplateRow>`update token_templates set name = ${v.name}, description = ${v.description},
    granular_scopes = ${JSON.stringify(v.granular_scopes)}::jsonb, default_lifetime_days = ${v.default_lifetime_days}, updated_at = now()
    where id = ${id} returning ${COLUMNS}`.execute(trx)
  return rows[0]
}

export async function deleteTemplate(trx: Trx, id: number): Promise<void> {
  await sql`delete from token_templates where id = ${id}`.execute(trx)
}

export async function nameTaken(db: Q, ownerType: string, ownerId: number | null, name: string, exceptId: number): Promise<boolean> {
  const { rows } = await sql`select 1 from token_templates where owner_type = ${ownerType} and coalesce(owner_id, 0) = ${ownerId ?? 0}::bigint
    and lower(name) = lower(${name}) and id <> ${exceptId}`.execute(db)
  return rows.length > 0
}

/** Groups whose templates a user may use: any group on the path of one of their live memberships. */
export async function memberGroupIds(db: Q, userId: number, today: string): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`select distinct g.id from memberships m join namespaces n on n.id = m.namespace_id
    join namespaces g on g.id = any(n.traversal_ids) and g.kind = 'group'
    where m.user_id = ${userId} and (m.expires_at is null or m.expires_at > ${today}::date)`.execute(db)
  return rows.map((r) => Number(r.id))
}
