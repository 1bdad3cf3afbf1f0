// kill -9 of the whole embedded default with a mail backlog, and Redis comes back empty (a Redis
// without persistence, a failover to a lagging replica): every queued job is gone, only PostgreSQL
// knows what must be sent, and the reconciler sends it. The scenario is in crash.ts.
import t from 'tap'
import { crashAndRestart } from './crash.js'

crashAndRestart(t, { name: 'Redis comes back empty (no persistence, a failover to a lagging replica)', loseRedis: true })
