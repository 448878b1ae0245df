// Headless Debian Chromium through playwright-core, with flags for a closed network.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { probeThirdPartyCookies } from './in-page.mjs'

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage']

export async function launchBrowser (opts = {}) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, ...opts })
  // Playwright kills the browser process when Node exits; also close it on a signal, so
  // an interrupted run (Ctrl-C, test runner timeout) leaves no Chromium behind.
  const onSignal = (sig) => { browser.close().catch(() => {}).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143)) }
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, onSignal)
  browser.once('disconnected', () => { for (const sig of ['SIGINT', 'SIGTERM']) process.off(sig, onSignal) })
  return browser
}

// Console errors of the realm's own iframe pages (e.g. storage-access denials when
// third-party cookies are blocked) are the server's business, not the app's.
function fromApp (message) {
  try {
    return new URL(message.location().url).hostname !== 'idp.localhost'
  } catch {
    return true
  }
}

export const TIMEOUT_MS = 15000

/** A fresh context (own cookies and storage) whose waits and navigations time out after 15 s. */
export async function newContext (browser, opts = {}) {
  const context = await browser.newContext(opts)
  context.setDefaultTimeout(TIMEOUT_MS)
  context.setDefaultNavigationTimeout(TIMEOUT_MS)
  return context
}

/** A page in a fresh context (see newContext) with captured errors in `page.errors`. */
export async function newPage (browser, opts = {}) {
  const context = await newContext(browser, opts)
  const page = await context.newPage()
  page.errors = []
  page.on('pageerror', (e) => page.errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource') && fromApp(m)) page.errors.push(m.text()) })
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) page.errors.push(`${r.status()} ${r.url()}`) })
  return page
}

/**
 * A browser profile with third-party cookies allowed or blocked (Chromium's cookie
 * controls preference; blocked is Chromium's default here). Returns a persistent
 * context; `close()` also deletes the profile. Callers should confirm the state with
 * `thirdPartyCookies()` rather than assume it.
 */
export async function launchProfile ({ thirdPartyCookies, ignoreHTTPSErrors = false, args = [] }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-profile-'))
  mkdirSync(path.join(dir, 'Default'))
  writeFileSync(path.join(dir, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: thirdPartyCookies ? 0 : 1 } }))
  // ignoreHTTPSErrors: the realm server's --tls certificate is self-signed, made at start.
  const context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, ...args], ignoreHTTPSErrors })
  context.setDefaultTimeout(15000)
  context.setDefaultNavigationTimeout(15000)
  const close = context.close.bind(context)
  context.close = async () => { await close().catch(() => {}); rmSync(dir, { recursive: true, force: true }) }
  return context
}

/** Asks the realm's own probe page, from a page on `appUrl`: 'supported' or 'unsupported'. */
export async function thirdPartyCookies (context, appUrl, realmUrl) {
  const page = await context.newPage()
  try {
    await page.goto(new URL('/silent-check-sso.html', appUrl).href)
    return await page.evaluate(probeThirdPartyCookies, `${realmUrl}/realms/demo/protocol/openid-connect/3p-cookies/step1.html`)
  } finally {
    await page.close()
  }
}

/** A page in `context` with captured errors and a count of top-level navigations. */
export async function profilePage (context) {
  const page = await context.newPage()
  page.errors = []
  page.navigations = 0
  page.on('pageerror', (e) => page.errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource') && fromApp(m)) page.errors.push(m.text()) })
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) page.navigations++ })
  return page
}
