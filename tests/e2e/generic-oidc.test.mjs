// Generic OIDC mode against a provider that is not Keycloak: panva's certified
// oidc-provider (tests/oidc), which issues opaque access and refresh tokens and has no
// check_session_iframe. keycloak-wasm must work with it unchanged: keep the opaque tokens
// (their *Parsed stay undefined), take subject and session from the ID token, send
// token requests without credentials (the provider's CORS allows none), run no status
// iframe, and refresh, load the user info and log out.
//
// keycloak-js 26.2.4 cannot use such a provider (a deliberate difference we assert): it
// wants a status iframe the provider does not have, and it sends credentials the
// provider's CORS refuses, and would decode the opaque access token as a JWT.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startAppServer } from '../support/app-server.mjs'
import { launchBrowser, newPage } from '../support/browser.mjs'
import { recordRequests } from '../support/api-helpers.mjs'

const oidcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../oidc')
if (!existsSync(path.join(oidcDir, 'node_modules/oidc-provider'))) {
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', oidcDir], { stdio: 'inherit' })
}
const { startOidcProvider } = await import('../oidc/server.mjs')

let app, provider, browser
before(async () => {
  app = await startAppServer()
  provider = await startOidcProvider({ appOrigin: app.baseUrl })
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await Promise.allSettled([app?.stop(), provider?.stop()])
})

const appUrl = (impl) => (impl === 'keycloak-js' ? `${app.baseUrl}/keycloak-js/` : `${app.baseUrl}/`)

async function openApp (page, impl, init = {}) {
  await page.goto(new URL('/app.css', app.baseUrl).href)
  await page.evaluate(([o, c]) => {
    sessionStorage.clear()
    sessionStorage.setItem('demo.init', JSON.stringify(o))
    sessionStorage.setItem('demo.config', JSON.stringify(c))
  }, [{ pkceMethod: 'S256', ...init }, { oidcProvider: provider.issuer, clientId: provider.clientId }])
  await page.goto(appUrl(impl))
  await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
}

// The provider's development login page: any password for an account name.
async function signIn (page, login = 'alice') {
  await page.locator('input[name="login"]').waitFor()
  await page.fill('input[name="login"]', login)
  await page.fill('input[name="password"]', 'anything')
  await page.click('button[type="submit"]')
}

describe('generic OIDC provider with opaque tokens [keycloak-wasm]', { timeout: 60000 }, () => {
  test('login, opaque tokens kept, subject from the ID token, refresh, userinfo, logout', async () => {
    const page = await newPage(browser)
    const statusIframe = recordRequests(page, /check_session|login-status-iframe/)
    const tokenRequests = recordRequests(page, /\/token$/)
    await openApp(page, 'keycloak-wasm', { scope: 'openid email' })
    assert.equal(await page.locator('#status').textContent(), 'not authenticated')
    await page.click('#login')
    await signIn(page)
    await page.waitForURL((u) => u.hostname === 'app.localhost')
    await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
    assert.equal(await page.locator('#init-result').textContent(), 'resolved', await page.locator('#error').textContent())
    await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()

    const s = await page.evaluate(() => {
      const kc = window.keycloak
      return {
        opaque: typeof kc.token === 'string' && kc.token.split('.').length !== 3,
        tokenParsed: kc.tokenParsed,
        refresh: typeof kc.refreshToken === 'string' && kc.refreshToken.length > 0,
        refreshTokenParsed: kc.refreshTokenParsed,
        idSub: kc.idTokenParsed?.sub,
        subject: kc.subject,
        expired: kc.isTokenExpired(),
        expiredIn400: kc.isTokenExpired(400)
      }
    })
    assert.deepEqual(s, { opaque: true, tokenParsed: undefined, refresh: true, refreshTokenParsed: undefined, idSub: 'alice', subject: 'alice', expired: false, expiredIn400: true })
    assert.equal(statusIframe.length, 0, 'no check_session_iframe: no status iframe')
    assert.equal(tokenRequests.length, 1)

    const refreshed = await page.evaluate(async () => {
      const before = window.keycloak.token
      const r = await window.keycloak.updateToken(-1)
      return { r, changed: window.keycloak.token !== before, opaque: window.keycloak.token.split('.').length !== 3 }
    })
    assert.deepEqual(refreshed, { r: true, changed: true, opaque: true })
    const info = await page.evaluate(() => window.keycloak.loadUserInfo())
    assert.equal(info.sub, 'alice')
    assert.equal(info.email, 'alice@example.com')

    await page.click('#logout')
    // The provider asks for a confirmation, then returns to the app.
    await page.locator('button[autofocus], button[type="submit"]').first().click()
    await page.waitForURL((u) => u.hostname === 'app.localhost')
    await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
    await page.context().close()
  })
})

describe('generic OIDC provider with opaque tokens [keycloak-js: deliberate difference]', { timeout: 60000 }, () => {
  test('keycloak-js cannot complete the login', async () => {
    const page = await newPage(browser)
    await openApp(page, 'keycloak-js')
    await page.click('#login')
    await signIn(page)
    await page.waitForURL((u) => u.hostname === 'app.localhost')
    await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
    // It rejects init: the status iframe endpoint is missing ("Not supported by the OIDC
    // server"); with checkLoginIframe: false it fails on the token request instead.
    assert.equal(await page.locator('#init-result').textContent(), 'rejected')
    assert.equal(await page.locator('#error').textContent(), 'Not supported by the OIDC server')
    assert.equal(await page.locator('#status').textContent(), 'not authenticated')
    await page.context().close()
  })
})
