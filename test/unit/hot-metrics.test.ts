import { Histogram, Registry } from 'prom-client'
import t from 'tap'
import { HotHistogram } from '../../src/metrics/hot-histogram.js'

t.test('the hot histogram prints what prom-client prints for the same observations', async (t) => {
  const buckets = [0.00005, 0.0001, 0.001, 0.01, 0.25]
  const ours = new Registry()
  const theirs = new Registry()
  const hot = new HotHistogram('x_seconds', 'help text', buckets, ours)
  const reference = new Histogram({ name: 'x_seconds', help: 'help text', buckets, registers: [theirs] })
  for (const v of [0, 0.00005, 0.00007, 0.0001, 0.002, 0.3, 7, 0.01, 0.0099]) {
    hot.observe(v)
    reference.observe(v)
  }
  t.equal(await ours.metrics(), await theirs.metrics())
  hot.reset()
  reference.reset()
  t.match(await ours.metrics(), /x_seconds_count 0/)
})

t.test('hot counter cells reach the prom-client counter at scrape, once', async (t) => {
  const { hotCounter } = await import('../../src/metrics/hot-counter.js')
  const { registry } = await import('../../src/metrics/registry.js')
  const c = hotCounter({ name: 'test_hot_total', help: 'h', labelNames: ['kind'] })
  const a = c.cell({ kind: 'a' })
  t.equal(c.cell({ kind: 'a' }), a, 'one cell per label values')
  a.n += 3
  c.cell({ kind: 'b' }).n++
  const once = await registry.getSingleMetricAsString('test_hot_total')
  t.match(once, /test_hot_total\{kind="a"\} 3/)
  t.match(once, /test_hot_total\{kind="b"\} 1/)
  a.n++
  t.match(await registry.getSingleMetricAsString('test_hot_total'), /test_hot_total\{kind="a"\} 4/, 'counts are not added twice')
})
