// `npm run build:console`: type-checks the console against the typed API client (client/, made from
// the committed OpenAPI document by `npm run openapi`), so an API change that breaks it fails here,
// then builds it with Vite into dist/console, which the service serves at /console/.
import { execSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

export function buildConsole() {
  const run = (cmd) => {
    console.error(`[fgpat] ${cmd}`)
    execSync(cmd, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
  }
  run('npx vue-tsc -p console/tsconfig.json')
  run('npx vite build --config console/vite.config.ts --logLevel warn')
  writeFileSync(join(root, 'dist', 'console', '.build-stamp'), new Date().toISOString())
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildConsole()
