// Headless Debian Chromium through playwright-core, with flags for a closed network.
import { chromium } from 'playwright-core'

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage']

export async function launchBrowser (opts = {}) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, ...opts })
  const close = () => browser.close().catch(() => {})
  process.once('exit', close)
  return browser
}

/** A fresh context (own cookies and storage) with bounded waits and captured errors. */
export async function newPage (browser) {
  const context = await browser.newContext()
  context.setDefaultTimeout(15000)
  context.setDefaultNavigationTimeout(15000)
  const page = await context.newPage()
  page.errors = []
  page.on('pageerror', (e) => page.errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.errors.push(m.text()) })
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) page.errors.push(`${r.status()} ${r.url()}`) })
  return page
}
