// The published gitleaks rule (docs/secret-scanning/gitleaks.toml) finds every token this service
// issues, in every prefix form it issues, and nothing that merely looks similar. The checksum is
// beyond a regular expression: a near-miss with a wrong checksum matches the rule and is rejected by
// the checksum (isWellFormedToken), which is what a leak report of it gets (false_positive).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { generateToken, isWellFormedToken } from '../../src/domain/token-format.js'
import { repoRoot } from '../../src/repo-root.js'

const toml = readFileSync(join(repoRoot(), 'docs', 'secret-scanning', 'gitleaks.toml'), 'utf8')
const field = (name: string) => {
  const m = new RegExp(`^${name}\\s*=\\s*(.+)$`, 'm').exec(toml)
  if (!m) throw new Error(`gitleaks.toml has no ${name}`)
  return m[1].trim()
}
// RE2 (gitleaks) and JavaScript agree on this regex: classes, a group, \b (ASCII), a count.
const source = /^'''(.*)'''$/.exec(field('regex'))![1]
const rule = new RegExp(source, 'g')
const keywords = JSON.parse(field('keywords')) as string[]
const entropy = Number(field('entropy'))
t.equal(field('secretGroup'), '1')

/** gitleaks' Shannon entropy of the secret group (bits per character). */
function shannon(s: string): number {
  const counts = new Map<string, number>()
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1)
  let h = 0
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length)
  return h
}

/** What the rule reports in a text: the secret groups that pass the keyword and entropy filters. */
function findings(text: string): string[] {
  if (!keywords.some((k) => text.toLowerCase().includes(k.toLowerCase()))) return []
  return [...text.matchAll(rule)].map((m) => m[1]).filter((s) => shannon(s) >= entropy)
}

// The prefixes tokens are issued with: TOKEN_PREFIX's default and the legacy prefix (config.ts).
const PREFIXES = ['fgpat-', 'lgpat-']

t.test('every freshly generated token is found, alone or inside text', async (t) => {
  for (const prefix of PREFIXES) {
    for (let i = 0; i < 2000; i++) {
      const token = generateToken(prefix)
      const found = findings(`export GITLAB_TOKEN="${token}"\nurl: https://x:${token}@gitlab.example.com/`)
      if (found.length !== 2 || found.some((f) => f !== token)) t.fail(`${prefix} token ${i} not found twice: ${JSON.stringify(found)}`)
    }
    t.pass(`${prefix}: 2000 tokens, each found where it was written`)
  }
})

t.test('near-misses are not found', async (t) => {
  const token = generateToken('fgpat-')
  const body = token.slice('fgpat-'.length)
  const misses: [string, string][] = [
    ['one character short', token.slice(0, -1)],
    ['one character long', `${token}x`],
    ['glued to a word before it', `my${token}`],
    ['upper-case prefix', `FGPAT-${body}`],
    ['another prefix', `ghp_-${body}`],
    ['underscore instead of dash', `fgpat_${body}`],
    ['a non-base62 character inside', `fgpat-${body.slice(0, 20)}_${body.slice(21)}`],
    ['a dash inside', `fgpat-${body.slice(0, 20)}-${body.slice(21)}`],
    ['low entropy (a placeholder)', `fgpat-${'x'.repeat(49)}`],
    ['a documentation placeholder', 'fgpat-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'],
  ]
  for (const [name, text] of misses) t.same(findings(`token: ${text}`), [], name)
})

t.test('a wrong checksum matches the rule; the checksum rejects it', async (t) => {
  for (const prefix of PREFIXES) {
    const token = generateToken(prefix)
    const last = token.at(-1)!
    const wrong = token.slice(0, -1) + (last === 'A' ? 'B' : 'A')
    t.same(findings(wrong), [wrong], `${prefix}: the regex cannot see the checksum`)
    t.equal(isWellFormedToken(token), true)
    t.equal(isWellFormedToken(wrong), false, `${prefix}: the CRC32 check rejects it (a leak report of it is a false_positive)`)
  }
})
