// Semantic checks on a policy after merging the change into the current values: every problem is
// named by its field so an admin form can show it beside the input.
import { isIP } from 'node:net'
import { isValidDate } from '../../domain/dates.js'
import { getPermission, PERMISSIONS } from '../../domain/permissions/index.js'
import { closestName } from '../../domain/suggest.js'
import { AppError, type FieldError } from '../../http/errors.js'

interface Knobs {
  max_lifetime_days: number | null
  default_lifetime_days: number | null
  blocked_permissions: string[]
  allowed_ip_ranges: string[]
}

export function cidrProblem(range: string): string | undefined {
  const [net, bits, extra] = range.split('/')
  const family = isIP(net ?? '')
  // isIP accepts an IPv6 zone ("fe80::1%eth0"); PostgreSQL's inet does not, and a zone means nothing in a policy.
  if (net.includes('%')) return `"${range}" has an IPv6 zone (%…); give the address or range without it`
  if (family === 0 || extra !== undefined) return `"${range}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)`
  if (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 6 ? 128 : 32))) return `"${range}" has a prefix length outside 0-${family === 6 ? 128 : 32}`
  return undefined
}

function knobProblems(v: Knobs, maxForDefault: number): FieldError[] {
  const errors: FieldError[] = []
  if (v.default_lifetime_days !== null && v.default_lifetime_days > maxForDefault) {
    errors.push({ path: 'body.default_lifetime_days', message: `must not exceed the maximum lifetime (${maxForDefault} days)` })
  }
  v.blocked_permissions.forEach((name, i) => {
    if (getPermission(name)) return
    const hint = closestName(name, PERMISSIONS.map((p) => p.name))
    errors.push({ path: `body.blocked_permissions[${i}]`, message: `unknown permission "${name}"${hint ? `; did you mean "${hint}"?` : ''}` })
  })
  v.allowed_ip_ranges.forEach((range, i) => {
    const problem = cidrProblem(range)
    if (problem) errors.push({ path: `body.allowed_ip_ranges[${i}]`, message: problem })
  })
  return errors
}

function fail(errors: FieldError[]): void {
  if (errors.length > 0) throw new AppError(400, 'validation_failed', errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors)
}

export function validateInstanceSettings(
  v: Knobs & { max_lifetime_days: number; legacy_tokens_blocked_from: string | null; token_prefix: string | null },
  legacyPrefix: string,
): void {
  const errors = knobProblems(v, v.max_lifetime_days)
  if (v.legacy_tokens_blocked_from !== null && !isValidDate(v.legacy_tokens_blocked_from)) {
    errors.push({ path: 'body.legacy_tokens_blocked_from', message: 'must be a date (YYYY-MM-DD)' })
  }
  if (v.token_prefix !== null) {
    if (!/^[a-z][a-z0-9]{1,15}-$/.test(v.token_prefix)) {
      errors.push({ path: 'body.token_prefix', message: 'must be 2-16 lowercase letters/digits followed by "-", e.g. "acme-"' })
    } else if (v.token_prefix === legacyPrefix) {
      errors.push({ path: 'body.token_prefix', message: `"${legacyPrefix}" is the legacy token prefix; choose another` })
    }
  }
  fail(errors)
}

export function validateGroupPolicy(v: Knobs & { enforce_fine_grained_from: string | null }): void {
  const errors = knobProblems(v, v.max_lifetime_days ?? 400)
  if (v.enforce_fine_grained_from !== null && !isValidDate(v.enforce_fine_grained_from)) {
    errors.push({ path: 'body.enforce_fine_grained_from', message: 'must be a date (YYYY-MM-DD)' })
  }
  fail(errors)
}
