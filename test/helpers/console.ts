// The console's end-to-end harness: a real service (its own database, the demo directory, the
// development sign-in on) listening on a loopback port, a real Chromium driven by playwright-core,
// screenshots at desktop and phone widths kept under test-artifacts/console/, and an axe scan.
import { execSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import AxeBuilder from '@axe-core/playwright'
import type { Test } from 'tap'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { demoDirectory } from '../../src/cli/demo-directory.js'
import { repoRoot } from '../../src/repo-root.js'
import { build, type TestContext } from './app.js'

type Tap = Pick<Test, 'teardown' | 'fail' | 'same'>

export const ARTIFACTS = join(repoRoot(), 'test-artifacts', 'console')
export const VIEWPORTS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const

export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execSync(`command -v ${name}`, { shell: '/bin/sh', encoding: 'utf8' }).trim()
    } catch {
      // try the next name
    }
  }
  return undefined
}

export interface ConsoleContext extends TestContext {
  baseUrl: string
  browser: Browser
  /** A new browser context (its own session storage) at a viewport; closed when the test ends. */
  newPage: (viewport?: keyof typeof VIEWPORTS) => Promise<Page>
}

/** The service with the demo directory and a browser, for one test file. */
export async function startConsole(t: Tap, env: Record<string, string> = {}): Promise<ConsoleContext> {
  if (!existsSync(join(repoRoot(), 'dist', 'console', 'index.html'))) {
    throw new Error('the console is not built: `npm test` builds it (scripts/ensure.mjs); or run `npm run build:console`')
  }
  const executablePath = chromiumPath()
  if (!executablePath) throw new Error('chromium is not installed: `npm test` installs it as root (apt-get install chromium), or set CHROMIUM_PATH')
  const ctx = await build(t, { env: { CONSOLE_DEV_SIGN_IN: 'true', ...env } })
  const seeded = await ctx.app.inject({
    method: 'POST', url: '/api/v4/directory/bulk',
    headers: { authorization: `Bearer ${await ctx.jwt.service('idp', ['directory:write'])}` },
    payload: demoDirectory,
  })
  if (seeded.statusCode !== 200) throw new Error(`seeding the demo directory failed: ${seeded.statusCode} ${seeded.body}`)
  const baseUrl = await ctx.app.listen({ host: '127.0.0.1', port: 0 })
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
  t.teardown(() => browser.close())
  const contexts: BrowserContext[] = []
  t.teardown(() => Promise.all(contexts.map((c) => c.close().catch(() => {}))))
  mkdirSync(ARTIFACTS, { recursive: true })
  return {
    ...ctx,
    baseUrl,
    browser,
    newPage: async (viewport = 'desktop') => {
      const context = await browser.newContext({ viewport: VIEWPORTS[viewport], baseURL: baseUrl, isMobile: viewport === 'phone', hasTouch: viewport === 'phone' })
      contexts.push(context)
      const page = await context.newPage()
      // A console page that throws or breaks the CSP is a failure even when the flow goes on.
      page.on('pageerror', (err) => t.fail(`page error: ${err.message}`))
      page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text())) t.fail(`CSP violation: ${msg.text()}`)
      })
      return page
    },
  }
}

/** Signs in through the development picker as a demo user (root, alice, bob). */
export async function signInAs(page: Page, username: string, path = '/console/tokens') {
  await page.goto(path)
  await page.getByTestId(`sign-in-as-${username}`).click()
  await page.getByTestId('signed-in-as').waitFor()
}

/** Keeps a screenshot of the page as a test artifact (full page). */
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

/** Fails the test on any serious or critical accessibility violation on the page as it is now. */
export async function expectAccessible(t: Tap, page: Page, where: string) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  t.same(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`),
    [],
    `${where}: no serious or critical accessibility violations`,
  )
}
