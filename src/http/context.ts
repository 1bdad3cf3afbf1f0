import type { FastifyRequest } from 'fastify'
import { actorOf } from '../auth/caller.js'
import type { AuditContext } from '../modules/audit/service.js'

/** Who did it, from where, under which request id: recorded with every audited change. */
export function auditContext(request: FastifyRequest): AuditContext {
  return {
    actor: request.caller ? actorOf(request.caller) : { type: 'anonymous', id: null },
    ip: request.ip ?? null,
    requestId: request.id,
  }
}
