// Counters for the hot path. prom-client's `inc(labels)` hashes the label object on every call,
// which costs about a microsecond: several per /authorize call add up. Here the hot path bumps a
// plain number in a cell bound to its label values once, and the cells are folded into the
// prom-client counter when /metrics is scraped (prom-client calls `collect` then).
import { Counter } from 'prom-client'
import { registry } from './registry.js'

export interface CounterCell {
  n: number
}

export interface HotCounter<L extends string> {
  /** The cell for these label values: keep it, and do `cell.n++` on the hot path. */
  cell: (labels: Record<L, string>) => CounterCell
}

export function hotCounter<L extends string>(opts: { name: string; help: string; labelNames: readonly L[] }): HotCounter<L> {
  const cells = new Map<string, { labels: Record<L, string>; cell: CounterCell }>()
  const counter: Counter<L> = new Counter<L>({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames,
    registers: [registry],
    collect() {
      for (const { labels, cell } of cells.values()) {
        if (cell.n === 0) continue
        const n = cell.n
        cell.n = 0
        counter.inc(labels as Partial<Record<L, string | number>>, n)
      }
    },
  })
  return {
    cell(labels) {
      const key = opts.labelNames.map((l) => labels[l]).join('\u0000')
      let entry = cells.get(key)
      if (!entry) cells.set(key, (entry = { labels: { ...labels }, cell: { n: 0 } }))
      return entry.cell
    },
  }
}
