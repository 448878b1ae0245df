// Time from navigation to onReady in headless Chromium, keycloak-wasm vs keycloak-js,
// interleaved (A B A B ...) after a warm-up. A benchmark, not a test: it never fails on
// a number. Usage: node bench/onready.mjs [--runs 15] [--json FILE]
import { writeFileSync } from 'node:fs'
import { launchProfile, profilePage } from '../tests/support/browser.mjs'
import { ensureRealmBuilt } from '../tests/support/realm.mjs'
import { IMPLS, startStack } from '../tests/support/fixture.mjs'

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt }
const RUNS = Number(arg('--runs', 15))

await ensureRealmBuilt()
const stack = await startStack()
const silent = (impl) => new URL('/silent-check-sso.html', stack.appUrl(impl)).href
const scenarios = [
  { name: 'check-sso, logged in (prompt=none redirect)', session: true, options: () => ({ onLoad: 'check-sso', checkLoginIframe: false }) },
  { name: 'silent check-sso, logged in', session: true, options: (impl) => ({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silent(impl) }) },
  { name: 'silent check-sso, logged out', session: false, options: (impl) => ({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silent(impl) }) }
]

async function once (context, impl, options) {
  const page = await profilePage(context)
  await page.goto(new URL('/app.css', stack.appUrl(impl)).href)
  await page.evaluate((o) => sessionStorage.setItem('demo.init', JSON.stringify(o)), options)
  const t0 = Date.now()
  await page.goto(stack.appUrl(impl), { waitUntil: 'commit' })
  await page.waitForFunction(() => window.__kcReadyAt, null, { timeout: 20000 })
  const ms = (await page.evaluate(() => window.__kcReadyAt)) - t0
  await page.close()
  return ms
}

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] }
const results = []
for (const allowedSession of [true, false]) {
  const context = await launchProfile({ thirdPartyCookies: true })
  if (allowedSession) {
    const page = await profilePage(context)
    await page.goto(new URL('/app.css', stack.appUrl('keycloak-wasm')).href)
    await page.evaluate(() => sessionStorage.setItem('demo.init', JSON.stringify({ checkLoginIframe: false })))
    await page.goto(stack.appUrl('keycloak-wasm'))
    await page.click('#login')
    await page.fill('#username', 'alice')
    await page.fill('#password', 'alice')
    await page.click('#kc-login')
    await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
    await page.close()
  }
  for (const sc of scenarios.filter((s) => s.session === allowedSession)) {
    const times = { 'keycloak-wasm': [], 'keycloak-js': [] }
    for (const impl of IMPLS) await once(context, impl, sc.options(impl)) // warm-up
    for (let i = 0; i < RUNS; i++) {
      for (const impl of i % 2 ? [...IMPLS].reverse() : IMPLS) times[impl].push(await once(context, impl, sc.options(impl)))
    }
    const row = { scenario: sc.name, runs: RUNS }
    for (const impl of IMPLS) row[impl] = { median: quantile(times[impl], 0.5), p90: quantile(times[impl], 0.9) }
    row.ratio = +(row['keycloak-wasm'].median / row['keycloak-js'].median).toFixed(2)
    results.push(row)
  }
  await context.close()
}
await stack.stop()

console.log(`\nTime from navigation to onReady (ms, ${RUNS} interleaved runs each, third-party cookies allowed)`)
console.log('scenario'.padEnd(46), 'wasm median/p90'.padStart(16), 'keycloak-js median/p90'.padStart(23), 'ratio'.padStart(6))
for (const r of results) {
  const w = r['keycloak-wasm']
  const k = r['keycloak-js']
  console.log(r.scenario.padEnd(46), `${w.median}/${w.p90}`.padStart(16), `${k.median}/${k.p90}`.padStart(23), String(r.ratio).padStart(6))
}
const json = arg('--json', null)
if (json) writeFileSync(json, JSON.stringify({ onReady: results }, null, 2))
