// One message model, two renderings: the plain-text and HTML parts always say the same thing, and
// every value reaches the HTML through one escape.

export interface MessageModel {
  subject: string
  greeting: string
  /** Plain sentences, in order. */
  paragraphs: string[]
  /** Label/value pairs shown as a small table (token name, hint, dates, who, why). */
  facts: [string, string][]
  /** Titled bullet lists (e.g. permissions added / removed). */
  lists: { title: string; items: string[] }[]
  links: { label: string; url: string }[]
  /** Why the user got this mail and what to do if it is unexpected. */
  footer: string
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)
}

// The plain-text part stays 7-bit ASCII with lines under 78 characters where it can (RFC 5322),
// so mail clients show it as is and an .eml file reads cleanly with `cat` (no quoted-printable).
const ASCII: Record<string, string> = { '…': '...', '→': '->', '—': '--' }
const toAscii = (s: string) => s.replace(/[…→—]/g, (c) => ASCII[c] ?? c)

function wrap(text: string, width = 76): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines
}

export function renderText(m: MessageModel): string {
  return toAscii(renderTextLines(m))
}

function renderTextLines(m: MessageModel): string {
  const out: string[] = [m.greeting, '']
  for (const p of m.paragraphs) out.push(...wrap(p), '')
  if (m.facts.length > 0) {
    const width = Math.max(...m.facts.map(([label]) => label.length))
    for (const [label, value] of m.facts) out.push(`  ${`${label}:`.padEnd(width + 1)} ${value}`)
    out.push('')
  }
  for (const list of m.lists) {
    out.push(`${list.title}:`, ...list.items.map((i) => `  - ${i}`), '')
  }
  for (const link of m.links) out.push(`${link.label}: ${link.url}`)
  if (m.links.length > 0) out.push('')
  out.push('-- ', ...wrap(m.footer), '')
  return out.join('\n')
}

export function renderHtml(m: MessageModel): string {
  const e = escapeHtml
  const parts: string[] = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${e(m.subject)}</title></head>`,
    '<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; color: #1f2328; line-height: 1.5; max-width: 640px">',
    `<p>${e(m.greeting)}</p>`,
    ...m.paragraphs.map((p) => `<p>${e(p)}</p>`),
  ]
  if (m.facts.length > 0) {
    parts.push('<table style="border-collapse: collapse; margin: 12px 0">')
    for (const [label, value] of m.facts) {
      parts.push(`<tr><th style="text-align: left; padding: 2px 16px 2px 0; font-weight: 600">${e(label)}</th><td style="padding: 2px 0">${e(value)}</td></tr>`)
    }
    parts.push('</table>')
  }
  for (const list of m.lists) {
    parts.push(`<p style="margin-bottom: 4px"><strong>${e(list.title)}</strong></p><ul style="margin-top: 0">`)
    parts.push(...list.items.map((i) => `<li>${e(i)}</li>`), '</ul>')
  }
  if (m.links.length > 0) {
    parts.push('<p>', m.links.map((l) => `<a href="${e(l.url)}">${e(l.label)}</a>`).join(' &middot; '), '</p>')
  }
  parts.push(`<hr style="border: 0; border-top: 1px solid #d0d7de"><p style="color: #59636e; font-size: 13px">${e(m.footer)}</p>`, '</body></html>')
  return parts.join('\n')
}
