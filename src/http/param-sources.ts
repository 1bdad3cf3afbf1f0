// Which body parameters of a request came from its query string (gitlab-wire.ts merges them into
// the body), so that a validation error names `query.expires_at` rather than `body.expires_at`.
const fromQuery = new WeakMap<object, ReadonlySet<string>>()

export function markQueryParams(body: object, names: ReadonlySet<string>): void {
  if (names.size > 0) fromQuery.set(body, names)
}

export function cameFromQuery(body: unknown, name: string): boolean {
  return typeof body === 'object' && body !== null && fromQuery.get(body)?.has(name) === true
}
