// `npm run build:console`: type-checks the console against the typed API client (client/, made from
// the committed OpenAPI document by `npm run openapi`), so an API change that breaks it fails here,
// and builds it with Vite into dist/console, which the service serves at /console/.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { allOf, runBeside } from './commands.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The type check and the Vite build run side by side (Vite does not wait for types); both must pass. */
export async function buildConsole() {
  await allOf([runBeside('npx vue-tsc -p console/tsconfig.json'), runBeside('npx vite build --config console/vite.config.ts --logLevel warn')])
  writeFileSync(join(root, 'dist', 'console', '.build-stamp'), new Date().toISOString())
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildConsole()
