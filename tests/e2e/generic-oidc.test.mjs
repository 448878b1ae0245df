// Generic OIDC mode (`new Keycloak({ clientId, oidcProvider: '<issuer>' })`, discovery)
// against a provider that is not Keycloak and not our realm server: panva's certified
// oidc-provider (tests/oidc/server.mjs), which issues opaque access and refresh tokens,
// rotates refresh tokens, answers CORS without credentials and has no
// check_session_iframe. keycloak-wasm must work with it unchanged: log in through the
// real redirect (code flow + PKCE S256), keep the opaque tokens (their *Parsed stay
// undefined), take subject from the ID token, send token requests without credentials,
// run no status iframe, and refresh, load the user info and log out.
//
// keycloak-js 26.2.4 cannot use such a provider, a deliberate difference asserted below:
// with the status iframe on (its default) it rejects init on the callback because the
// provider publishes no check_session_iframe ('Not supported by the OIDC server'); with
// it off it sends the code exchange with `credentials: 'include'`, which the provider's
// CORS answer (no Access-Control-Allow-Credentials) makes the browser refuse, so init
// rejects with fetch's TypeError. Had it got that far, it would also decode the opaque
// access token as a JWT and fail.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startAppServer } from '../../scripts/serve/app-server.mjs'
import { launchBrowser, newPage } from '../support/browser.mjs'
import { eventNames, events, recordRequests, text } from '../support/api-helpers.mjs'

// The provider lives in its own nested project, installed on demand from its lock file.
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
const isOpaque = (t) => typeof t === 'string' && t.length > 0 && t.split('.').length !== 3
const settledInit = (page) => page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()

/** The demo app in generic OIDC mode (demo.config.oidcProvider = the issuer). */
async function openApp (page, impl, init = {}) {
  await page.goto(new URL('/app.css', app.baseUrl).href)
  await page.evaluate(([o, c]) => {
    sessionStorage.clear()
    sessionStorage.setItem('demo.init', JSON.stringify(o))
    sessionStorage.setItem('demo.config', JSON.stringify(c))
  }, [{ pkceMethod: 'S256', ...init }, { oidcProvider: provider.issuer, clientId: provider.clientId }])
  await page.goto(appUrl(impl))
  await settledInit(page)
}

/** The provider's login page (tests/oidc/server.mjs). */
async function signIn (page, login = 'alice', password = 'alice') {
  await page.locator('#login-form input[name="login"]').waitFor()
  assert.equal(new URL(page.url()).hostname, 'oidc.localhost', 'on the provider, another site')
  await page.fill('input[name="login"]', login)
  await page.fill('input[name="password"]', password)
  await page.click('#login-form button[type="submit"]')
}

describe('generic OIDC provider with opaque tokens [keycloak-wasm]', { timeout: 60000 }, () => {
  test('login (code + PKCE), opaque tokens kept, subject from the ID token, refresh, userinfo, logout', async () => {
    const page = await newPage(browser)
    const statusIframe = recordRequests(page, /check_session|login-status-iframe|3p-cookies/)
    const discovery = recordRequests(page, /\/\.well-known\/openid-configuration$/)
    const authRequests = recordRequests(page, /\/auth\?/)
    const tokenRequests = recordRequests(page, /\/token$/)
    // The status iframe is on (the default): the provider has no check_session_iframe,
    // so there is simply none, and init does not fail over it.
    await openApp(page, 'keycloak-wasm', { scope: 'openid email' })
    assert.equal(await text(page, 'init-result'), 'resolved')
    assert.equal(await text(page, 'status'), 'not authenticated')
    assert.deepEqual(discovery.map((r) => r.url), [`${provider.issuer}/.well-known/openid-configuration`])

    await page.click('#login')
    await signIn(page, 'alice', 'wrong')
    await page.locator('#error', { hasText: 'Invalid username or password.' }).waitFor()
    await signIn(page)
    await page.waitForURL((u) => u.hostname === 'app.localhost')
    await settledInit(page)
    assert.equal(await text(page, 'init-result'), 'resolved', await text(page, 'error'))
    await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
    assert.equal(page.url(), appUrl('keycloak-wasm'), 'callback parameters removed')
    assert.deepEqual(await eventNames(page), ['onAuthSuccess', 'onReady'])

    // The real redirect: authorization code with PKCE S256, exchanged with the verifier.
    assert.equal(authRequests.length, 1)
    const auth = new URL(authRequests[0].url).searchParams
    assert.deepEqual([auth.get('client_id'), auth.get('response_type'), auth.get('scope'), auth.get('code_challenge_method')], [provider.clientId, 'code', 'openid email', 'S256'])
    assert.match(auth.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
    assert.equal(tokenRequests.length, 1)
    const exchange = new URLSearchParams(tokenRequests[0].postData)
    assert.deepEqual([...exchange.keys()], ['code', 'grant_type', 'client_id', 'redirect_uri', 'code_verifier'])
    assert.equal(exchange.get('grant_type'), 'authorization_code')

    const s = await page.evaluate(() => {
      const kc = window.keycloak
      return {
        token: kc.token,
        tokenParsed: kc.tokenParsed,
        refreshToken: kc.refreshToken,
        refreshTokenParsed: kc.refreshTokenParsed,
        idSub: kc.idTokenParsed?.sub,
        subject: kc.subject,
        sessionIdFromIdToken: kc.sessionId === kc.idTokenParsed?.sid,
        authenticated: kc.authenticated,
        realmAccess: kc.realmAccess,
        hasRealmRole: kc.hasRealmRole('user'),
        expired: kc.isTokenExpired(),
        expiredIn400: kc.isTokenExpired(400)
      }
    })
    assert.ok(isOpaque(s.token), `opaque access token: ${s.token}`)
    assert.ok(isOpaque(s.refreshToken), `opaque refresh token: ${s.refreshToken}`)
    assert.deepEqual({ ...s, token: 'opaque', refreshToken: 'opaque' }, {
      token: 'opaque',
      tokenParsed: undefined,
      refreshToken: 'opaque',
      refreshTokenParsed: undefined,
      idSub: 'alice',
      subject: 'alice',
      sessionIdFromIdToken: true,
      authenticated: true,
      realmAccess: undefined,
      hasRealmRole: false,
      expired: false, // expires_in is 300 s
      expiredIn400: true
    })
    assert.equal(await text(page, 'subject'), 'alice')
    assert.equal(statusIframe.length, 0, 'no check_session_iframe: no status iframe, no third-party-cookie probe')

    // updateToken: only when needed, and -1 forces it; the provider rotates the refresh token.
    const refreshed = await page.evaluate(async () => {
      const kc = window.keycloak
      const before = { token: kc.token, refreshToken: kc.refreshToken }
      const notNeeded = await kc.updateToken(5)
      const forced = await kc.updateToken(-1)
      return { notNeeded, forced, newToken: kc.token !== before.token, rotated: kc.refreshToken !== before.refreshToken, old: before.refreshToken, token: kc.token, refreshToken: kc.refreshToken, subject: kc.subject }
    })
    assert.deepEqual({ notNeeded: refreshed.notNeeded, forced: refreshed.forced, newToken: refreshed.newToken, rotated: refreshed.rotated, subject: refreshed.subject },
      { notNeeded: false, forced: true, newToken: true, rotated: true, subject: 'alice' })
    assert.ok(isOpaque(refreshed.token) && isOpaque(refreshed.refreshToken))
    assert.equal(tokenRequests.length, 2)
    assert.deepEqual([...new URLSearchParams(tokenRequests[1].postData).entries()], [['grant_type', 'refresh_token'], ['refresh_token', refreshed.old], ['client_id', provider.clientId]])
    assert.deepEqual((await eventNames(page)).slice(2), ['onAuthRefreshSuccess'])

    // loadUserInfo with the opaque token as bearer.
    const userinfoRequests = recordRequests(page, /\/me$/)
    const info = await page.evaluate(async () => {
      const kc = window.keycloak
      const r = await kc.loadUserInfo()
      return { r, stored: kc.userInfo }
    })
    assert.deepEqual(info.r, { sub: 'alice', email: 'alice@example.com' }, 'the claims of the granted scopes (openid email)')
    assert.deepEqual(info.stored, info.r)
    assert.equal(userinfoRequests.length, 1)
    assert.equal(userinfoRequests[0].headers.authorization, `bearer ${refreshed.token}`)

    // Logout through the provider's end_session_endpoint, with the ID token hint.
    const idToken = await page.evaluate(() => window.keycloak.idToken)
    const logoutRequests = recordRequests(page, /\/session\/end\?/)
    await page.click('#logout')
    // The provider asks for a confirmation, then returns to the app.
    await page.locator('button[autofocus], button[type="submit"]').first().click()
    await page.waitForURL((u) => u.hostname === 'app.localhost')
    await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
    assert.equal(logoutRequests.length, 1)
    const logout = new URL(logoutRequests[0].url).searchParams
    assert.deepEqual(Object.fromEntries(logout), { client_id: provider.clientId, post_logout_redirect_uri: appUrl('keycloak-wasm'), id_token_hint: idToken })
    // The provider's session is gone: logging in again shows its login form.
    await page.click('#login')
    await page.locator('#login-form').waitFor()
    assert.deepEqual(page.errors, [])
    await page.context().close()
  })

  test('an account the provider does not know is refused; bob logs in with scope profile', async () => {
    const page = await newPage(browser)
    await openApp(page, 'keycloak-wasm', { scope: 'profile' })
    await page.click('#login')
    await signIn(page, 'mallory', 'mallory')
    await page.locator('#error', { hasText: 'Invalid username or password.' }).waitFor()
    await signIn(page, 'bob', 'bob')
    await page.waitForURL((u) => u.hostname === 'app.localhost')
    await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
    assert.deepEqual(await page.evaluate(() => [window.keycloak.subject, window.keycloak.idTokenParsed.sub]), ['bob', 'bob'])
    assert.deepEqual(await page.evaluate(() => window.keycloak.loadUserInfo()), { sub: 'bob', name: 'Bob Builder', preferred_username: 'bob' })
    await page.context().close()
  })
})

describe('generic OIDC provider with opaque tokens [keycloak-js: deliberate difference]', { timeout: 60000 }, () => {
  test('status iframe on (default): init rejects on the callback, the provider has no check_session_iframe', async () => {
    const page = await newPage(browser)
    const tokenRequests = recordRequests(page, /\/token$/)
    await openApp(page, 'keycloak-js')
    assert.equal(await text(page, 'init-result'), 'resolved', 'no callback yet: nothing asks for the iframe')
    await page.click('#login')
    await signIn(page)
    await page.waitForURL((u) => u.hostname === 'app.localhost')
    await settledInit(page)
    assert.equal(await text(page, 'init-result'), 'rejected')
    assert.equal(await text(page, 'error'), 'Not supported by the OIDC server')
    assert.equal(await text(page, 'status'), 'not authenticated')
    assert.equal(tokenRequests.length, 0, 'it fails before the code exchange')
    await page.context().close()
  })

  test('status iframe off: the code exchange carries credentials, the browser refuses the CORS answer, init rejects', async () => {
    const page = await newPage(browser)
    const tokenRequests = recordRequests(page, /\/token$/)
    await openApp(page, 'keycloak-js', { checkLoginIframe: false })
    await page.click('#login')
    await signIn(page)
    await page.waitForURL((u) => u.hostname === 'app.localhost')
    await settledInit(page)
    assert.equal(tokenRequests.length, 1, 'the code exchange was sent')
    assert.equal(await text(page, 'init-result'), 'rejected')
    assert.equal(await text(page, 'error'), 'Failed to fetch')
    const evs = await events(page)
    assert.deepEqual(evs.map((e) => e.name), ['onAuthError'])
    assert.equal(evs[0].args, undefined, 'onAuthError without arguments (a failed exchange)')
    assert.ok(page.errors.some((e) => /Access-Control-Allow-Credentials/.test(e)), page.errors.join('\n'))
    assert.equal(await text(page, 'status'), 'not authenticated')
    await page.context().close()
  })
})
