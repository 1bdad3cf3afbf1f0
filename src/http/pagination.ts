import type { FastifyReply, FastifyRequest } from 'fastify'

/** GitLab's offset pagination headers: X-Total, X-Total-Pages, X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, Link. */
export function setPaginationHeaders(request: FastifyRequest, reply: FastifyReply, p: { total: number; page: number; perPage: number }) {
  const totalPages = Math.max(1, Math.ceil(p.total / p.perPage))
  const base = new URL(request.url, 'http://placeholder')
  const link = (page: number, rel: string) => {
    base.searchParams.set('page', String(page))
    base.searchParams.set('per_page', String(p.perPage))
    return `<${request.protocol}://${request.host}${base.pathname}${base.search}>; rel="${rel}"`
  }
  const links = [link(1, 'first'), link(totalPages, 'last')]
  if (p.page > 1) links.unshift(link(p.page - 1, 'prev'))
  if (p.page < totalPages) links.unshift(link(p.page + 1, 'next'))
  reply.headers({
    'x-total': String(p.total),
    'x-total-pages': String(totalPages),
    'x-page': String(p.page),
    'x-per-page': String(p.perPage),
    'x-next-page': p.page < totalPages ? String(p.page + 1) : '',
    'x-prev-page': p.page > 1 ? String(p.page - 1) : '',
    link: links.join(', '),
  })
}
