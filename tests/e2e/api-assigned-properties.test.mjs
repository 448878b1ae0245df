// More keycloak-js parity through the real realm server, both packages (reference
// keycloak-js §1.2-§1.8, §2.2-§2.13, §11, §12 rows the other suites leave open; the
// api-constructor, api-assigned-properties, api-init-tokens, api-callback-storage,
// api-callback-url, api-adapter-endpoints and api-register-onload files, one topic each).
// This file: option properties an app assigns after init (read back when a method uses
// them, as keycloak-js reads its own fields): redirectUri, scope, responseMode and the
// like, timeSkew, enableLogging, onTokenExpired, loginRequired with clearToken and the
// derived properties, and the token itself.
// Where keycloak-wasm deliberately differs, the test says why and asserts each side.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { IMPLS } from '../support/fixture.mjs'
import { TOKEN_ENDPOINT, eventNames, fillLogin, recordKeycloakLog, recordRequests, until } from '../support/api-helpers.mjs'
import { AUTH_REQUEST, demoApp } from '../support/parity-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })
const { loggedIn, loggedOut } = demoApp({ stack, browser })

for (const impl of IMPLS) {
  describe(`API parity, more rows [${impl}]`, { timeout: 90000 }, () => {
    test('option properties assigned after init are used by createLoginUrl, login, createLogoutUrl, createAccountUrl (rows 9, 19, 44, 47)', async () => {
      const page = await loggedOut(impl)
      const target = `${stack.appUrl(impl)}?assigned=1`
      const r = await page.evaluate(async (target) => {
        const kc = window.keycloak
        kc.redirectUri = target
        kc.scope = 'email'
        kc.responseMode = 'query'
        kc.pkceMethod = false
        kc.responseType = 'code id_token'
        const login = new URL(await kc.createLoginUrl()).searchParams
        kc.responseType = 'code'
        const logout = new URL(kc.createLogoutUrl()).searchParams
        const account = new URL(kc.createAccountUrl()).searchParams
        kc.logoutMethod = 'POST'
        const postLogout = kc.createLogoutUrl()
        kc.logoutMethod = 'GET'
        kc.responseMode = 'fragment'
        kc.pkceMethod = 'S256'
        return {
          login: { redirect: login.get('redirect_uri'), scope: login.get('scope'), mode: login.get('response_mode'), type: login.get('response_type'), challenge: login.get('code_challenge') },
          logout: logout.get('post_logout_redirect_uri'),
          account: account.get('referrer_uri'),
          postLogout
        }
      }, target)
      assert.deepEqual(r, {
        login: { redirect: target, scope: 'openid email', mode: 'query', type: 'code id_token', challenge: null },
        logout: target,
        account: target,
        postLogout: `${stack.realmUrl}/realms/demo/protocol/openid-connect/logout`
      })
      // login() with the assigned redirectUri and scope: the realm sends the user back there.
      const authRequests = recordRequests(page, AUTH_REQUEST)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      await page.click('#login')
      await fillLogin(page)
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(page.url(), target, 'back on the assigned redirect URI, callback parameters removed')
      const auth = new URL(authRequests[0].url).searchParams
      assert.equal(auth.get('redirect_uri'), target)
      assert.equal(auth.get('scope'), 'openid email')
      assert.equal(auth.get('code_challenge_method'), 'S256')
      assert.equal(new URLSearchParams(tokenRequests[0].postData).get('redirect_uri'), target)
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('timeSkew, enableLogging and onTokenExpired assigned after login (rows 37-39, 59)', async () => {
      const page = await loggedIn(impl, {}, { clientId: 'short-app' })
      const log = recordKeycloakLog(page)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const skew = kc.timeSkew
        const out = { skewIsInteger: Number.isInteger(skew), skewSmall: Math.abs(skew) <= 3 }
        kc.timeSkew = -1000
        out.farBehind = kc.isTokenExpired()
        kc.timeSkew = 1000
        out.farAhead = kc.isTokenExpired()
        out.farAheadMin = kc.isTokenExpired(2000)
        kc.enableLogging = true
        kc.timeSkew = null
        out.unknown = kc.isTokenExpired()
        kc.timeSkew = skew
        // A handler assigned now: keycloak-js passes the function itself to setTimeout when
        // a token is set, so the current token's timer keeps the demo's handler and the
        // next token's timer gets this one.
        window.__late = 0
        kc.onTokenExpired = () => { window.__late++ }
        return out
      })
      assert.deepEqual(r, { skewIsInteger: true, skewSmall: true, farBehind: true, farAhead: false, farAheadMin: true, unknown: true })
      await until(() => log.length >= 1, 3000)
      assert.deepEqual(log, [{ type: 'info', text: '[KEYCLOAK] Unable to determine if token is expired as timeskew is not set' }])
      // The 3 s token's timer was set with the demo app's handler.
      await page.locator('#events li', { hasText: 'onTokenExpired' }).first().waitFor({ timeout: 10000 })
      assert.equal(await page.evaluate(() => window.__late), 0, 'the timer already running keeps the handler it was set with')
      const refreshed = await page.evaluate(() => window.keycloak.updateToken(-1))
      assert.equal(refreshed, true)
      assert.equal(await until(() => page.evaluate(() => window.__late), 10000), 1, 'the next token calls the assigned handler')
      assert.equal((await eventNames(page)).filter((n) => n === 'onTokenExpired').length, 1)
      // enableLogging assigned after init logs the refresh.
      assert.ok(log.some((l) => l.text === '[KEYCLOAK] Refreshing token: forced refresh'), JSON.stringify(log))
      assert.ok(log.some((l) => /^\[KEYCLOAK\] Token expires in \d s$/.test(l.text)), JSON.stringify(log))
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('loginRequired assigned after login: clearToken() fires onAuthLogout and starts a login, which SSO completes (rows 36, 43)', async () => {
      const page = await loggedIn(impl)
      const r = await page.evaluate(() => {
        const kc = window.keycloak
        const t = kc.tokenParsed
        return {
          sessionId: kc.sessionId === t.sid && typeof t.sid === 'string',
          subject: kc.subject === t.sub && kc.subject === kc.idTokenParsed.sub,
          realmAccess: JSON.stringify(kc.realmAccess) === JSON.stringify(t.realm_access),
          resourceAccess: JSON.stringify(kc.resourceAccess) === JSON.stringify(t.resource_access),
          authenticated: kc.authenticated
        }
      })
      assert.deepEqual(r, { sessionId: true, subject: true, realmAccess: true, resourceAccess: true, authenticated: true })
      // clearToken without loginRequired: everything but sessionId goes (keycloak-js quirk 11).
      const cleared = await page.evaluate(() => {
        const kc = window.keycloak
        const sid = kc.sessionId
        kc.clearToken()
        const state = {
          gone: ['token', 'tokenParsed', 'refreshToken', 'refreshTokenParsed', 'idToken', 'idTokenParsed', 'subject', 'realmAccess', 'resourceAccess'].filter((p) => kc[p] !== undefined),
          authenticated: kc.authenticated,
          sessionIdKept: kc.sessionId === sid
        }
        kc.clearToken() // nothing left to clear: no second event
        return state
      })
      assert.deepEqual(cleared, { gone: [], authenticated: false, sessionIdKept: true })
      assert.deepEqual((await eventNames(page)).filter((n) => n === 'onAuthLogout'), ['onAuthLogout'])
      await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
      // Log in again, then set loginRequired: clearToken now also calls login().
      await page.click('#login')
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      const authRequests = recordRequests(page, AUTH_REQUEST)
      await page.evaluate(() => {
        window.keycloak.loginRequired = true
        window.keycloak.clearToken()
      })
      assert.ok(await until(() => authRequests.length > 0, 10000), 'clearToken() with loginRequired set calls login()')
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(authRequests.length, 1)
      assert.equal(new URL(authRequests[0].url).searchParams.get('prompt'), null, 'a plain login, no prompt')
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test(impl === 'keycloak-wasm'
      ? 'token assigned by the app: not used by loadUserInfo (deliberate difference)'
      : 'token assigned by the app: loadUserInfo sends it (keycloak-js reads its own field)', async () => {
      // keycloak-wasm keeps the tokens inside the wasm and mirrors them into the
      // properties; writing `keycloak.token` does not change what the adapter sends
      // (README, "Other differences"). keycloak-js builds the header from `this.token`.
      const page = await loggedIn(impl)
      const requests = recordRequests(page, /\/protocol\/openid-connect\/userinfo$/)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const real = kc.token
        kc.token = 'assigned-by-the-app'
        try {
          const info = await kc.loadUserInfo()
          return { resolved: info.preferred_username, real }
        } catch (e) {
          return { rejected: e?.message, status: e?.response?.status, real }
        }
      })
      assert.equal(requests.length, 1)
      if (impl === 'keycloak-wasm') {
        assert.equal(r.resolved, 'alice')
        assert.equal(requests[0].headers.authorization, `bearer ${r.real}`)
      } else {
        assert.deepEqual({ rejected: r.rejected, status: r.status }, { rejected: 'Server responded with an invalid status.', status: 401 })
        assert.equal(requests[0].headers.authorization, 'bearer assigned-by-the-app')
      }
      await page.context().close()
    })
  })
}
