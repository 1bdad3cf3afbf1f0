// `docker-compose` (Debian 12 packages Compose 1.29; no Docker engine needed) only for
// `docker-compose config`, which validates the compose files in the test suite. Installed like
// redis-server when missing and we are root.
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { isRoot } from './os-user.js'

const CANDIDATES = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose']

export function findDockerCompose(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p))
}

export function ensureDockerComposeInstalled(log: (msg: string) => void): string {
  const found = findDockerCompose()
  if (found) return found
  if (!isRoot()) throw new Error('docker-compose is not installed. Install it with `sudo apt-get install -y docker-compose` to validate the compose files.')
  log('docker-compose not found; installing it from the OS packages (apt-get install docker-compose)')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execSync('apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null', { stdio: 'inherit', env, shell: '/bin/sh' })
  const installed = findDockerCompose()
  if (!installed) throw new Error('apt-get reported success but docker-compose is still missing')
  return installed
}
