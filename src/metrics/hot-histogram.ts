// A label-less histogram for the hot path. prom-client's `observe` allocates closures and label
// objects on every call; this one only bumps a bucket. It is registered with the same registry as
// any metric (prom-client asks each metric for `get()` at scrape) and prints the same exposition.
import type { Metric } from 'prom-client'
import { registry } from './registry.js'

export class HotHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly counts: Float64Array
  private sum = 0
  private count = 0

  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[], register = registry) {
    this.counts = new Float64Array(bounds.length + 1) // the last one is +Inf
    register.registerMetric(this as unknown as Metric)
  }

  observe(value: number): void {
    let i = 0
    while (i < this.bounds.length && value > this.bounds[i]) i++
    this.counts[i]++
    this.sum += value
    this.count++
  }

  async get() {
    let cumulative = 0
    const values = this.bounds.map((le, i) => {
      cumulative += this.counts[i]
      return { labels: { le }, value: cumulative, metricName: `${this.name}_bucket` }
    })
    values.push({ labels: { le: '+Inf' as unknown as number }, value: this.count, metricName: `${this.name}_bucket` })
    return {
      name: this.name, help: this.help, type: this.type, aggregator: this.aggregator,
      values: [...values, { labels: {}, value: this.sum, metricName: `${this.name}_sum` }, { labels: {}, value: this.count, metricName: `${this.name}_count` }],
    }
  }

  reset(): void {
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
  }
}
