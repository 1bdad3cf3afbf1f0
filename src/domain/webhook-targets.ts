// Which addresses a webhook may be delivered to (SSRF protection). Pure: the resolving is done by
// the caller (src/modules/webhooks/target-guard.ts), at registration and again at each delivery,
// because a name that resolved to a public address yesterday may resolve to 127.0.0.1 today (DNS
// rebinding).
//
// Refused unless an administrator's allow range (WEBHOOK_ALLOWED_RANGES) contains the address:
// loopback, private (RFC 1918, CGNAT), link-local (incl. the 169.254.169.254 metadata service),
// unique-local, multicast, unspecified, reserved and benchmark ranges, in IPv4 and IPv6, and IPv4
// addresses wrapped in IPv6 (::ffff:a.b.c.d, NAT64 64:ff9b::/96, the deprecated ::a.b.c.d), which
// are judged as the IPv4 address they carry.
import { BlockList, isIP } from 'node:net'

const REFUSED_V4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved (benchmarking)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
]
const REFUSED_V6: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
]

/** Parses "10.0.0.0/8,fd00::/8,192.0.2.7" (WEBHOOK_ALLOWED_RANGES); throws a message saying what to fix. */
export function parseAllowedRanges(input: string): string[] {
  const entries = input.split(',').map((s) => s.trim()).filter(Boolean)
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/')
    const family = isIP(address)
    const ok = family !== 0 && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)))
    if (!ok) throw new Error(`"${entry}" is not an IP address or CIDR range; use a comma-separated list such as 10.20.0.0/16,fd00:1::/64`)
  }
  return entries
}

export function allowList(ranges: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of ranges) {
    const [address, bits] = entry.split('/')
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6'
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  return list
}

/** The 8 groups of an IPv6 address, or undefined for anything else. */
function groupsOf(v6: string): number[] | undefined {
  let text = v6.toLowerCase().replace(/^\[|\]$/g, '').split('%')[0]
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    if (isIP(dotted[1]) !== 4) return undefined
    const [a, b, c, d] = dotted[1].split('.').map(Number)
    text = text.slice(0, -dotted[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail, extra] = text.split('::')
  if (extra !== undefined) return undefined
  const h = head ? head.split(':') : []
  const t = tail !== undefined && tail ? tail.split(':') : []
  const fill = tail === undefined ? 0 : 8 - h.length - t.length
  if (fill < 0) return undefined
  const groups = [...h, ...Array(fill).fill('0'), ...t].map((g) => parseInt(g, 16))
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined
}

/** An IPv4 address carried inside an IPv6 one (mapped, NAT64, IPv4-compatible), else undefined. */
export function embeddedIPv4(v6: string): string | undefined {
  const g = groupsOf(v6)
  if (!g) return undefined
  const v4 = () => `${g[6] >> 8}.${g[6] & 0xff}.${g[7] >> 8}.${g[7] & 0xff}`
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0)
  if (zeros(5) && g[5] === 0xffff) return v4() // ::ffff:a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4() // 64:ff9b::/96
  if (zeros(6) && (g[6] !== 0 || g[7] > 1)) return v4() // ::a.b.c.d (deprecated), not :: or ::1
  return undefined
}

export type TargetVerdict = { ok: true } | { ok: false; reason: string }

const refusedV4 = new BlockList()
for (const [a, bits] of REFUSED_V4) refusedV4.addSubnet(a, bits, 'ipv4')
const refusedV6 = new BlockList()
for (const [a, bits] of REFUSED_V6) refusedV6.addSubnet(a, bits, 'ipv6')

function refusedKind(address: string, family: 4 | 6): string | undefined {
  const table = family === 4 ? REFUSED_V4 : REFUSED_V6
  for (const [a, bits, kind] of table) {
    const one = new BlockList()
    one.addSubnet(a, bits, family === 4 ? 'ipv4' : 'ipv6')
    if (one.check(address, family === 4 ? 'ipv4' : 'ipv6')) return kind
  }
  return undefined
}

/** May a delivery connect to `address` (a literal IP)? The allow list wins over the refused ranges. */
export function judgeAddress(address: string, allowed: BlockList): TargetVerdict {
  const bare = address.replace(/^\[|\]$/g, '')
  const family = isIP(bare)
  if (family === 0) return { ok: false, reason: `"${address}" is not an IP address` }
  const inner = family === 6 ? embeddedIPv4(bare) : undefined
  const [addr, fam] = inner ? [inner, 4 as const] : [bare, family as 4 | 6]
  const type = fam === 4 ? 'ipv4' : 'ipv6'
  if (allowed.check(addr, type) || (inner !== undefined && allowed.check(bare, 'ipv6'))) return { ok: true }
  const refused = fam === 4 ? refusedV4.check(addr, type) : refusedV6.check(addr, type)
  if (!refused) return { ok: true }
  const shown = inner ? `${bare} (IPv4 ${inner})` : bare
  return { ok: false, reason: `${shown} is a ${refusedKind(addr, fam)} address; webhooks go to public addresses unless an administrator allows the range (WEBHOOK_ALLOWED_RANGES)` }
}
