import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { PassThrough, pipeline, Readable } from 'node:stream'
import { stringify } from 'csv-stringify'
import { Type } from 'typebox'
import type { Caller } from '../../auth/caller.js'
import { auditContext } from '../../http/context.js'
import { setPaginationHeaders } from '../../http/pagination.js'
import { errorResponses } from '../../http/schemas.js'
import { GroupAccessRemoval, RevokeBody, RotateBody, Token } from '../tokens/schemas.js'
import type { GroupAccessService } from './group-access.js'
import type { LegacyReportService } from './legacy-report.js'
import * as S from './schemas.js'
import { groupOwnerRotateRefused, type InventoryService } from './service.js'

const caller = (request: FastifyRequest): Caller => request.caller as Caller
const TokenRef = Type.Ref('PersonalAccessToken')
const wantsCsv = (request: FastifyRequest) => /\btext\/csv\b/.test(request.headers.accept ?? '')

/** Streams CSV records through csv-stringify: rows leave as they are read, memory stays flat. */
function sendCsv(request: FastifyRequest, reply: FastifyReply, records: AsyncIterable<string[]>) {
  const out = new PassThrough()
  pipeline(Readable.from(records), stringify(), out, (err) => {
    if (err) request.log.warn({ err: err.message }, 'inventory CSV export stopped')
  })
  return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="personal_access_tokens.csv"').send(out)
}

const LIST_DESCRIPTION =
  'Filters combine. As on GitLab, `X-Total` and `X-Total-Pages` (and the `last` link) are left out when more than 10,000 tokens match; ' +
  '`X-Next-Page` and the other `Link` relations remain. Send `Accept: text/csv` for a CSV export of every matching token (streamed; pagination does not apply).'

export const inventoryRoutes: FastifyPluginAsyncTypebox<{ service: InventoryService; groupAccess: GroupAccessService; legacyReport: LegacyReportService }> = async (app, opts) => {
  const inventory = opts.service
  const groupAccess = opts.groupAccess
  // Token schemas are registered per plugin (encapsulation): the same definition as the tokens module's.
  app.addSchema(Token)
  const tags = ['governance']
  const user = { onRequest: app.requireUser({ tokenPermission: null, allowAdminService: true }) }

  app.get('/admin/personal_access_tokens', {
    ...user,
    schema: {
      tags, operationId: 'adminListPersonalAccessTokens', summary: 'Credential inventory: every token (administrators)', description: LIST_DESCRIPTION,
      querystring: S.InventoryQuery, response: { 200: Type.Array(TokenRef), ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    if (wantsCsv(request)) return sendCsv(request, reply, await inventory.csv(caller(request), undefined, request.query))
    const page = await inventory.list(caller(request), undefined, request.query)
    setPaginationHeaders(request, reply, page)
    return page.items
  })

  app.get('/admin/personal_access_tokens/summary', {
    ...user,
    schema: {
      tags, operationId: 'adminPersonalAccessTokenSummary', summary: 'Credential inventory counts (administrators)',
      querystring: S.InventoryQuery, response: { 200: S.InventorySummary, ...errorResponses(400, 401, 403) },
    },
  }, async (request) => inventory.summary(caller(request), undefined, request.query))

  const LEGACY_REPORT = 'Live legacy tokens with their owner, last use, conversion status and the usage recommendation for each ' +
    '(what POST /personal_access_tokens/:id/convert would give the fine-grained successor), most recently used first; and a summary: how many there are, ' +
    'used in the last 30 days, with a proposal, being converted, and how many would stop working at the cut-off (the enforcement date in force, or ?cutoff= ' +
    'to ask "what if"). Pagination headers (X-Total, Link…) describe `tokens`.'

  app.get('/admin/personal_access_tokens/legacy_report', {
    ...user,
    schema: {
      tags, operationId: 'adminLegacyTokenReport', summary: 'Legacy token report: what converting to fine-grained involves (administrators)',
      description: `${LEGACY_REPORT} The cut-off is the instance's legacy_tokens_blocked_from.`,
      querystring: S.LegacyReportQuery, response: { 200: S.LegacyReport, ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const { page, body } = await opts.legacyReport.report(caller(request), undefined, request.query)
    setPaginationHeaders(request, reply, page)
    return body
  })

  app.get('/groups/:id/personal_access_tokens/legacy_report', {
    ...user,
    schema: {
      tags, operationId: 'groupLegacyTokenReport', summary: 'Legacy tokens reaching this group: what enforcing fine-grained tokens involves (owners, administrators)',
      description: `${LEGACY_REPORT} The tokens are those the group's inventory lists (reaching the group, below it or through a group above it); the cut-off is ` +
        'the enforce_fine_grained_from of the group\'s top-level group. A proposal shows only the groups and projects within this group ' +
        '(scopes_outside_group counts the others).',
      params: S.GroupParams, querystring: S.LegacyReportQuery, response: { 200: S.LegacyReport, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    const { page, body } = await opts.legacyReport.report(caller(request), request.params.id, request.query)
    setPaginationHeaders(request, reply, page)
    return body
  })

  app.get('/groups/:id/manage/personal_access_tokens', {
    ...user,
    schema: {
      tags, operationId: 'groupListPersonalAccessTokens', summary: 'Tokens that can reach this group (owners, administrators)',
      description: 'Scoped on this group, below it or above it, and legacy / all_memberships tokens of members of any of those; each row\'s `reach` ' +
        'says whether it reaches the group directly or only through a group above (inherited). ' + LIST_DESCRIPTION,
      params: S.GroupParams, querystring: S.InventoryQuery, response: { 200: Type.Array(TokenRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    if (wantsCsv(request)) return sendCsv(request, reply, await inventory.csv(caller(request), request.params.id, request.query))
    const page = await inventory.list(caller(request), request.params.id, request.query)
    setPaginationHeaders(request, reply, page)
    return page.items
  })

  app.get('/groups/:id/manage/personal_access_tokens/summary', {
    ...user,
    schema: {
      tags, operationId: 'groupPersonalAccessTokenSummary', summary: 'Counts of the tokens that can reach this group (owners, administrators)',
      params: S.GroupParams, querystring: S.InventoryQuery, response: { 200: S.InventorySummary, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => inventory.summary(caller(request), request.params.id, request.query))

  app.delete('/groups/:id/manage/personal_access_tokens/:token_id', {
    ...user,
    schema: {
      tags, operationId: 'groupRevokePersonalAccessToken', summary: 'Revoke a token that reaches this group directly (revoke_reason group_owner)',
      description: 'For a token scoped on this group or below it, or a legacy / all_memberships token of a member of the group or of something below it. ' +
        'A token that reaches the group only through a group above it (`reach: inherited` in the inventory) is refused with ' +
        '`403 group_owner_cannot_revoke_inherited`: revoking it would end its access above too. Remove this group\'s access instead (`…/remove_access`).',
      params: S.GroupTokenParams, body: RevokeBody, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    await inventory.revoke(caller(request), request.params.id, request.params.token_id, auditContext(request), request.body?.reason)
    return reply.code(204).send(null)
  })

  app.post('/groups/:id/manage/personal_access_tokens/:token_id/rotate', {
    ...user,
    schema: {
      tags, operationId: 'groupRotatePersonalAccessToken', deprecated: true,
      summary: 'Refused: group owners revoke or remove the group\'s access instead (403 group_owner_cannot_rotate)',
      description: 'Kept so that existing clients get an explanation rather than a 404. A rotation returns the new secret, and nobody but the token\'s owner ' +
        '(or an administrator, through POST /personal_access_tokens/:id/rotate) receives it. Nothing changes; the answer is the same whoever asks.',
      params: S.GroupTokenParams, body: RotateBody, response: { ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    throw groupOwnerRotateRefused(request.params.id, request.params.token_id)
  })

  app.post('/groups/:id/manage/personal_access_tokens/:token_id/remove_access', {
    ...user,
    schema: {
      tags, operationId: 'groupRemovePersonalAccessTokenAccess', summary: 'Remove this group\'s access from a token that can reach it (owners, administrators)',
      description: 'The token keeps working elsewhere; every decision on this group and everything below it denies with `access_removed_by_group`, ' +
        'whatever its scopes. Its owner is told by mail. 201 when removed now, 200 (the same removal, nothing recorded again) when it already was. ' +
        'A rotation successor or duplicate of the token keeps the removal; a new token does not.',
      params: S.GroupTokenParams, body: S.RemoveAccessBody, response: { 200: GroupAccessRemoval, 201: GroupAccessRemoval, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => {
    const { created, removal } = await groupAccess.remove(caller(request), request.params.id, request.params.token_id, request.body?.reason, auditContext(request))
    return reply.code(created ? 201 : 200).send(removal)
  })

  app.delete('/groups/:id/manage/personal_access_tokens/:token_id/remove_access', {
    ...user,
    schema: {
      tags, operationId: 'groupRestorePersonalAccessTokenAccess', summary: 'Restore this group\'s access to a token (take a removal back; owners, administrators)',
      description: 'Decisions on the group follow the token\'s scopes again at once. 204 whether or not there was a removal.',
      params: S.GroupTokenParams, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
    },
  }, async (request, reply) => {
    await groupAccess.restore(caller(request), request.params.id, request.params.token_id, auditContext(request))
    return reply.code(204).send(null)
  })
}
