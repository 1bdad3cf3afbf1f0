// Whether a resource path given to /authorize could name anything in the directory at all. The
// directory only stores paths of its grammar (one segment: ^[A-Za-z0-9_][A-Za-z0-9_.-]*$, at most
// 255 characters; a full path joins segments with '/'), so anything else is simply not found, with
// no lookup: odd bytes (NUL, lone surrogates) never reach PostgreSQL or Redis, and cost nothing.
//
// On the hot path: RegExp#test on a non-global pattern allocates nothing. The character classes of
// a segment exclude '/', so the repetition is unambiguous and matching stays linear.

const SEGMENT = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}'
const USERNAME = new RegExp(`^${SEGMENT}$`)
const NAMESPACE_PATH = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*$`)

/** A username the directory could hold (users are one path segment). */
export function isPlausibleUsername(path: string): boolean {
  return USERNAME.test(path)
}

/** A group or project full path the directory could hold ("acme/platform/api"). */
export function isPlausibleNamespacePath(path: string): boolean {
  return NAMESPACE_PATH.test(path)
}
