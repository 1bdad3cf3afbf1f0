// `npm start`: install and build when needed, then hand over to the compiled start command
// (embedded PostgreSQL and Redis when no URLs are configured, migrations, demo data, API + worker).
import { ensureBuilt, ensureInstalled } from './ensure.mjs'

ensureInstalled()
await ensureBuilt()
await import('../dist/src/cli/start.js')
