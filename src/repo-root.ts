// The project root: the nearest folder above the calling file with a package.json (dist/src/… when
// compiled, which the tests import too; /app in the image), so files beside the code (the built
// console, the committed OpenAPI document) are found however the service was started.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}
