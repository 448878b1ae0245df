// Time from navigation to onReady in headless Chromium, keycloak-wasm vs keycloak-js,
// interleaved (A B A B ...) after a warm-up, third-party cookies allowed; and the requests
// each adapter sends to the realm before onReady, with the least a scenario needs.
//
// Two network profiles: loopback as it is, and a throttled one as Lighthouse's slow 4G
// (150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up, cache off) through Chromium's
// network emulation. Emulation applies per renderer target, and under site isolation the
// realm's cross-site iframes are targets of their own; the throttled runs therefore use a
// browser without site isolation, so the page's emulation covers its iframes too.
//
// Both adapters are served as an app ships them: minified (keycloak-js through the same
// esbuild command as the bytes table; pkg/keycloak.js is minified already) and gzip -9.
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchProfile, profilePage } from '../tests/support/browser.mjs'
import { ensureRealmBuilt } from '../scripts/serve/realm.mjs'
import { IMPLS, startStack } from '../tests/support/fixture.mjs'

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] }
const median = (xs) => quantile(xs, 0.5)

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** keycloak-js 26.2.4 as a bundler ships it: esbuild --bundle --minify, ESM. */
function minifiedKeycloakJs () {
  const out = path.join(root, 'target/bench/keycloak-js.min.js')
  mkdirSync(path.dirname(out), { recursive: true })
  execFileSync(path.join(root, 'node_modules/.bin/esbuild'), [path.join(root, 'node_modules/keycloak-js/lib/keycloak.js'), '--bundle', '--minify', '--format=esm', '--log-level=error', `--outfile=${out}`])
  return out
}

export const PROFILES = {
  loopback: null,
  throttled: { latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 }
}

export async function measureOnReady ({ runs = 15, profile = 'loopback', only } = {}) {
  const network = PROFILES[profile]
  await ensureRealmBuilt()
  const stack = await startStack({ keycloakJs: minifiedKeycloakJs() })
  const realmHost = new URL(stack.realmUrl).host
  const silent = (impl) => new URL('/silent-check-sso.html', stack.appUrl(impl)).href
  const stored = {} // tokens from a login, per implementation (init with stored tokens)

  // `minimum`: realm requests the scenario cannot do without.
  const scenarios = [
    { name: 'login callback (code exchange)', session: true, minimum: 1, why: 'token', callback: true, options: () => ({ checkLoginIframe: false }) },
    { name: 'check-sso, logged in (prompt=none redirect)', session: true, minimum: 2, why: 'authorize + token', options: () => ({ onLoad: 'check-sso', checkLoginIframe: false }) },
    // keycloak-js's defaults (status iframe on): it redirects after the probe and the status
    // iframe's `changed`; on a returning visit keycloak-wasm's hint sends the redirect at once.
    { name: 'check-sso by redirect, status iframe on, logged in', session: true, minimum: 2, why: 'authorize + token', options: () => ({ onLoad: 'check-sso' }) },
    { name: 'check-sso by redirect, status iframe on, logged in, first visit', session: true, forget: true, minimum: 2, why: 'authorize + token', options: () => ({ onLoad: 'check-sso' }) },
    // A returning visit: the load before in this browser had a session (keycloak-wasm keeps a
    // hint then, and starts its silent check beside the probe and the status iframe).
    { name: 'silent check-sso, logged in', session: true, minimum: 2, why: 'authorize (iframe) + token', options: (impl) => ({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silent(impl) }) },
    // A first visit with a session from elsewhere in the realm: no hint, keycloak-js's order.
    { name: 'silent check-sso, logged in, first visit', session: true, forget: true, minimum: 2, why: 'authorize (iframe) + token', options: (impl) => ({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silent(impl) }) },
    { name: 'init with stored tokens', session: true, minimum: 1, why: 'refresh (status iframe off)', options: (impl) => ({ ...stored[impl], checkLoginIframe: false }) },
    { name: 'silent check-sso, logged out', session: false, minimum: 1, why: 'authorize (iframe)', options: (impl) => ({ onLoad: 'check-sso', silentCheckSsoRedirectUri: silent(impl) }) },
    // What each package offers for a reload: ours restores the kept session; keycloak-js
    // asks the realm through silent check-sso.
    // An app that uses an addition imports keycloak-wasm/full (one module, no chunk).
    { name: 'reload with a session (wasm persistSession, kjs silent check-sso)', session: true, full: true, minimum: 0, why: 'none; kjs: authorize (iframe) + token', options: (impl) => (impl === 'keycloak-wasm' ? { persistSession: 'local', checkLoginIframe: false } : { onLoad: 'check-sso', silentCheckSsoRedirectUri: silent(impl) }) }
  ].filter((s) => !only || s.name.includes(only))

  async function login (context, impl) {
    const page = await profilePage(context)
    await page.goto(new URL('/app.css', stack.appUrl(impl)).href)
    // persistSession: our login also keeps the session for the reload scenario (keycloak-js ignores it).
    await page.evaluate(() => { sessionStorage.clear(); sessionStorage.setItem('demo.init', JSON.stringify({ checkLoginIframe: false, persistSession: 'local' })) })
    await page.goto(stack.appUrl(impl))
    await page.locator('#init-result', { hasText: 'resolved' }).waitFor()
    await page.click('#login')
    const form = page.locator('#kc-form-login')
    if (await form.isVisible().catch(() => false) || await form.waitFor({ timeout: 3000 }).then(() => true, () => false)) {
      await page.fill('#username', 'alice')
      await page.fill('#password', 'alice')
      await page.click('#kc-login')
    }
    await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
    stored[impl] = await page.evaluate(() => ({ token: window.keycloak.token, refreshToken: window.keycloak.refreshToken, idToken: window.keycloak.idToken }))
    // The kept session is written after its encryption (asynchronous): wait for it.
    if (impl === 'keycloak-wasm') await page.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('keycloak-wasm ')))
    await page.close()
  }

  async function throttle (page) {
    if (!network) return
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
    await cdp.send('Network.emulateNetworkConditions', { offline: false, ...network })
  }

  async function once (context, impl, sc) {
    const appUrl = stack.appUrl(impl === 'keycloak-wasm' && sc.full ? 'keycloak-wasm/full' : impl)
    const page = await profilePage(context)
    await throttle(page)
    await page.goto(new URL('/app.css', appUrl).href)
    await page.evaluate(([o, forget]) => {
      sessionStorage.clear()
      sessionStorage.setItem('demo.init', JSON.stringify(o))
      if (forget) for (const k of Object.keys(localStorage)) if (k.startsWith('kc-wasm-sso-')) localStorage.removeItem(k)
    }, [sc.options(impl), !!sc.forget])
    let t0
    if (sc.callback) {
      // Up to the callback: the app starts a login; the realm (session exists) answers
      // at once with a code. The clock starts with the navigation back to the app.
      await page.goto(appUrl)
      await page.locator('#init-result', { hasText: 'resolved' }).waitFor()
      await page.evaluate(() => { window.__kcReadyAt = undefined })
      const back = page.waitForRequest((r) => {
        const hit = r.isNavigationRequest() && r.frame() === page.mainFrame() && r.redirectedFrom() && new URL(r.url()).host !== realmHost
        if (hit) t0 = Date.now()
        return hit
      })
      await page.evaluate(() => { window.keycloak.login() })
      await back
    }
    const realm = []
    page.on('request', (r) => { if (new URL(r.url()).host === realmHost) realm.push(Date.now()) })
    if (!sc.callback) {
      t0 = Date.now()
      await page.goto(appUrl, { waitUntil: 'commit' })
    }
    await page.waitForFunction(() => window.__kcReadyAt, null, { timeout: 20000 })
    const readyAt = await page.evaluate(() => window.__kcReadyAt)
    const authenticated = await page.evaluate(() => window.keycloak.authenticated)
    await page.close()
    if (authenticated !== sc.session) throw new Error(`${impl}, ${sc.name}: expected authenticated=${sc.session}`)
    return { ms: Math.round(readyAt - t0), requests: realm.filter((t) => t <= readyAt).length }
  }

  const results = []
  try {
    for (const withSession of [true, false]) {
      const context = await launchProfile({ thirdPartyCookies: true, args: network ? ['--disable-site-isolation-trials', '--disable-features=IsolateOrigins,site-per-process'] : [] })
      if (withSession) for (const impl of IMPLS) await login(context, impl)
      const group = scenarios.filter((s) => s.session === withSession)
      if (!group.length) {
        await context.close()
        continue
      }
      for (const sc of group) {
        const samples = { 'keycloak-wasm': [], 'keycloak-js': [] }
        for (const impl of IMPLS) await once(context, impl, sc) // warm-up
        for (let i = 0; i < runs; i++) {
          for (const impl of i % 2 ? [...IMPLS].reverse() : IMPLS) samples[impl].push(await once(context, impl, sc))
        }
        const row = { scenario: sc.name, profile, runs, minimumRequests: sc.minimum, minimumWhy: sc.why }
        for (const impl of IMPLS) {
          const ms = samples[impl].map((s) => s.ms)
          row[impl] = { median: median(ms), p90: quantile(ms, 0.9), requests: median(samples[impl].map((s) => s.requests)) }
        }
        row.ratio = +(row['keycloak-wasm'].median / row['keycloak-js'].median).toFixed(2)
        results.push(row)
      }
      await context.close()
    }
  } finally {
    await stack.stop()
  }
  return results
}

export function printOnReady (rows) {
  console.log(`\nTime from navigation to onReady, ${rows[0]?.profile} (ms, ${rows[0]?.runs} interleaved runs each after a warm-up; third-party cookies allowed)`)
  console.log('  ' + 'scenario'.padEnd(45) + 'wasm med/p90'.padStart(14) + 'kjs med/p90'.padStart(13) + 'ratio'.padStart(7) + '  realm requests wasm/kjs (least)')
  for (const r of rows) {
    const w = r['keycloak-wasm']
    const k = r['keycloak-js']
    console.log('  ' + r.scenario.padEnd(45) + `${w.median}/${w.p90}`.padStart(14) + `${k.median}/${k.p90}`.padStart(13) + String(r.ratio).padStart(7) + `  ${w.requests}/${k.requests} (${r.minimumRequests}: ${r.minimumWhy})`)
  }
}
