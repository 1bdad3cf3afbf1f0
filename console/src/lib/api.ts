// The one API client of the console: the typed client shipped in client/, with the signed-in
// credential added to every request. Errors come back as problem+json; `must` turns them into an
// ApiError the views show next to the fields they name.
import { createFgpatClient } from '../../../client/index.js'
import type { components } from '../../../client/index.js'
import { session } from './session.js'

export type Token = components['schemas']['PersonalAccessToken']
export type Problem = components['schemas']['Problem']
export type Permission = components['schemas']['Permission']

export const api = createFgpatClient({ baseUrl: window.location.origin, credential: () => session.credential ?? undefined })

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Partial<Problem>) {
    super(problem.detail ?? problem.message ?? `Request failed (${status})`)
  }
  /** The message for one field (`body.name`, `name`, …), if the API named it. */
  forField(field: string): string | undefined {
    return this.problem.errors?.find((e) => e.path === field || e.path.endsWith(`.${field}`) || e.path.endsWith(`/${field}`))?.message
  }
  get code() {
    return this.problem.code
  }
}

/** The data of a successful answer, or an ApiError (a 401 also signs the tab out). */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call
  if (response.ok) return data as T
  if (response.status === 401) session.expired()
  const problem = (typeof error === 'object' && error !== null ? error : { detail: String(error ?? response.statusText) }) as Partial<Problem>
  throw new ApiError(response.status, problem)
}

/** GitLab's pagination headers of a list answer. */
export function pageOf(response: Response) {
  const n = (h: string) => (response.headers.get(h) ? Number(response.headers.get(h)) : null)
  return { total: n('x-total'), totalPages: n('x-total-pages'), page: n('x-page') ?? 1, perPage: n('x-per-page') ?? 20, nextPage: n('x-next-page') }
}

/** A list call with its pagination. */
export async function mustPage<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<{ items: T; page: ReturnType<typeof pageOf> }> {
  const settled = await call
  const items = await must(Promise.resolve(settled))
  return { items, page: pageOf(settled.response) }
}
