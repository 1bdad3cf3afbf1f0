import type { FastifyReply, FastifyRequest } from 'fastify'

export interface PageInfo {
  /** null: too many to count exactly (see inventory EXACT_TOTAL_UP_TO); X-Total(-Pages) and rel="last" are left out, as GitLab does. */
  total: number | null
  page: number
  perPage: number
  /** Whether a next page exists; needed when total is null. */
  hasNext?: boolean
}

/** GitLab's offset pagination headers: X-Total, X-Total-Pages, X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, Link. */
export function setPaginationHeaders(request: FastifyRequest, reply: FastifyReply, p: PageInfo) {
  const totalPages = p.total === null ? null : Math.max(1, Math.ceil(p.total / p.perPage))
  const hasNext = totalPages === null ? p.hasNext === true : p.page < totalPages
  const base = new URL(request.url, 'http://placeholder')
  const link = (page: number, rel: string) => {
    base.searchParams.set('page', String(page))
    base.searchParams.set('per_page', String(p.perPage))
    return `<${request.protocol}://${request.host}${base.pathname}${base.search}>; rel="${rel}"`
  }
  const links = [link(1, 'first')]
  if (totalPages !== null) links.push(link(totalPages, 'last'))
  if (p.page > 1) links.unshift(link(p.page - 1, 'prev'))
  if (hasNext) links.unshift(link(p.page + 1, 'next'))
  reply.headers({
    ...(p.total === null ? {} : { 'x-total': String(p.total), 'x-total-pages': String(totalPages) }),
    'x-page': String(p.page),
    'x-per-page': String(p.perPage),
    'x-next-page': hasNext ? String(p.page + 1) : '',
    'x-prev-page': p.page > 1 ? String(p.page - 1) : '',
    link: links.join(', '),
  })
}
