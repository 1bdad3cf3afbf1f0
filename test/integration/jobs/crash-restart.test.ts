// kill -9 of the whole embedded default with a mail backlog; Redis restarts from its append-only
// file (what npm start runs). The scenario is in crash.ts.
import t from 'tap'
import { crashAndRestart } from './crash.js'

crashAndRestart(t, { name: 'Redis restarts from its append-only file', loseRedis: false })
