// One Prometheus registry per process. Modules register their own metrics here; GET /metrics
// serves it. Metric names are prefixed fgpat_.
import { collectDefaultMetrics, Registry } from 'prom-client'

export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: 'fgpat_' })
