// More keycloak-js parity through the real realm server, both packages (reference
// keycloak-js §1.2-§1.8, §2.2-§2.13, §11, §12 rows the other suites leave open):
// constructor errors and option defaults, the init guard and option validation, option
// properties an app assigns after init (read back when a method uses them, as keycloak-js
// reads its own fields), init with tokens (iframe off and on), clearToken and the derived
// properties, timeSkew / isTokenExpired / token decoding errors, the callback storage's
// records, purge and quota retry, the cookie fallback when localStorage is unreachable,
// callbacks with an unknown or reused state, OAuth errors without a description or after
// prompt=none, the authentication_expired re-login keeping its options, URL clean-up
// around app fragments, a custom adapter object, the `endpoints` property, register
// options, and init's locale on onLoad redirects. Where keycloak-wasm deliberately
// differs, the test says why and asserts each side.
//
// Scenarios that need their own instance (constructor forms, a custom adapter, tokens
// handed to init) build it inside the demo app's page with `import('keycloak-wasm')`,
// which the page's import map resolves to the adapter under test.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchBrowser, launchProfile, newPage, profilePage, thirdPartyCookies } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { TOKEN_ENDPOINT, eventNames, events, fillLogin, logInThroughApp, openApp, recordKeycloakLog, recordRequests, settled, startApiStack, text, until } from '../support/api-helpers.mjs'

let stack, browser
before(async () => {
  stack = await startApiStack()
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await stack?.stop()
})

const AUTH_REQUEST = /\/protocol\/openid-connect\/auth\?/

/** A logged-in demo app (alice), status iframe off unless `init` says otherwise. */
async function loggedIn (impl, init = {}, config) {
  const page = await newPage(browser)
  await openApp(page, stack, impl, { checkLoginIframe: false, ...init }, config)
  await settled(page)
  await logInThroughApp(page)
  await page.locator('#events li', { hasText: 'onReady' }).waitFor()
  return page
}

/** The demo app, settled and not authenticated (status iframe off). */
async function loggedOut (impl, init = {}, config) {
  const page = await newPage(browser)
  await openApp(page, stack, impl, { checkLoginIframe: false, ...init }, config)
  assert.equal(await settled(page), 'not authenticated')
  return page
}

const currentTokens = (page) => page.evaluate(() => ({ token: window.keycloak.token, refreshToken: window.keycloak.refreshToken, idToken: window.keycloak.idToken }))

/** Runs `fn` in the page; an exception becomes { threw: { name, message } }. */
const attempt = `async (fn) => { try { return { value: await fn() } } catch (e) { return { threw: e instanceof Error ? { name: e.name, message: e.message } : e } } }`

for (const impl of IMPLS) {
  describe(`API parity, more rows [${impl}]`, { timeout: 90000 }, () => {
    test('constructor: exact errors for missing or wrong configuration; class semantics (rows 1, 3, 4)', async () => {
      const page = await loggedOut(impl)
      const r = await page.evaluate(async (attemptSrc) => {
        const attempt = eval(attemptSrc) // eslint-disable-line no-eval
        const { default: Keycloak } = await import('keycloak-wasm')
        const make = (...args) => attempt(() => { const k = new Keycloak(...args); return typeof k.init })
        return {
          none: await make(),
          nul: await make(null),
          number: await make(42),
          bool: await make(true),
          noUrl: await make({ realm: 'demo', clientId: 'demo-app' }),
          noRealm: await make({ url: 'http://x', clientId: 'demo-app' }),
          noClient: await make({ url: 'http://x', realm: 'demo' }),
          // 26.2 checks with `in`: empty strings and undefined values pass.
          empty: await make({ url: '', realm: '', clientId: '' }),
          undefinedValues: await make({ url: undefined, realm: undefined, clientId: undefined }),
          oidcNoClient: await make({ oidcProvider: 'http://x' }),
          oidc: await make({ clientId: 'c', oidcProvider: 'http://x' }),
          string: await make('http://x/keycloak.json'),
          withoutNew: await attempt(() => { Keycloak({ url: 'http://x', realm: 'r', clientId: 'c' }) }).then((r) => r.threw?.name)
        }
      }, attempt)
      const missing = (p) => ({ threw: { name: 'Error', message: `The configuration object is missing the required '${p}' property.` } })
      const notConfig = { threw: { name: 'Error', message: "The 'Keycloak' constructor must be provided with a configuration object, or a URL to a JSON configuration file." } }
      assert.deepEqual(r, {
        none: notConfig,
        nul: notConfig,
        number: notConfig,
        bool: notConfig,
        noUrl: missing('url'),
        noRealm: missing('realm'),
        noClient: missing('clientId'),
        empty: { value: 'function' },
        undefinedValues: { value: 'function' },
        oidcNoClient: missing('clientId'),
        oidc: { value: 'function' },
        string: { value: 'function' },
        withoutNew: 'TypeError'
      })
      await page.context().close()
    })

    test('defaults before init, didInitialize set synchronously, a failed init cannot be retried, option validation messages (rows 6, 8, 9)', async () => {
      const page = await loggedOut(impl)
      const r = await page.evaluate(async (attemptSrc) => {
        const attempt = eval(attemptSrc) // eslint-disable-line no-eval
        const { default: Keycloak } = await import('keycloak-wasm')
        const cfg = window.__KC_CONFIG__
        const k = new Keycloak(cfg)
        const pick = (o) => ({
          didInitialize: o.didInitialize,
          authenticated: o.authenticated,
          loginRequired: o.loginRequired,
          responseMode: o.responseMode,
          responseType: o.responseType,
          flow: o.flow,
          timeSkew: o.timeSkew,
          redirectUri: o.redirectUri ?? 'undefined',
          silentCheckSsoRedirectUri: o.silentCheckSsoRedirectUri ?? 'undefined',
          silentCheckSsoFallback: o.silentCheckSsoFallback,
          pkceMethod: o.pkceMethod,
          enableLogging: o.enableLogging,
          logoutMethod: o.logoutMethod,
          scope: o.scope ?? 'undefined',
          messageReceiveTimeout: o.messageReceiveTimeout,
          token: o.token ?? 'undefined'
        })
        const fresh = pick(k)
        const invalid = async (options) => {
          const kc = new Keycloak(cfg)
          const p = kc.init(options)
          const sync = kc.didInitialize
          const first = await attempt(() => p)
          const again = await attempt(() => kc.init({ checkLoginIframe: false }))
          return { sync, first, again }
        }
        const afterInit = new Keycloak(cfg)
        const resolved = await afterInit.init({ checkLoginIframe: false })
        return {
          fresh,
          responseMode: await invalid({ responseMode: 'form_post' }),
          flow: await invalid({ flow: 'device' }),
          pkce: await invalid({ pkceMethod: 'plain' }),
          onLoad: await invalid({ onLoad: 'sometimes', checkLoginIframe: false }),
          // A falsy onLoad or responseMode is ignored, as keycloak-js's truthiness checks do.
          falsy: await attempt(() => new Keycloak(cfg).init({ onLoad: '', responseMode: '', flow: '', checkLoginIframe: false })),
          resolved,
          afterInit: pick(afterInit),
          appInstanceAgain: await attempt(() => window.keycloak.init({}))
        }
      }, attempt)
      const once = { threw: { name: 'Error', message: "A 'Keycloak' instance can only be initialized once." } }
      const defaults = {
        didInitialize: false,
        authenticated: false,
        loginRequired: false,
        responseMode: 'fragment',
        responseType: 'code',
        flow: 'standard',
        timeSkew: null,
        redirectUri: 'undefined',
        silentCheckSsoRedirectUri: 'undefined',
        silentCheckSsoFallback: true,
        pkceMethod: 'S256',
        enableLogging: false,
        logoutMethod: 'GET',
        scope: 'undefined',
        messageReceiveTimeout: 10000,
        token: 'undefined'
      }
      assert.deepEqual(r, {
        fresh: defaults,
        responseMode: { sync: true, first: { threw: { name: 'Error', message: 'Invalid value for responseMode' } }, again: once },
        flow: { sync: true, first: { threw: { name: 'Error', message: 'Invalid value for flow' } }, again: once },
        pkce: { sync: true, first: { threw: { name: 'TypeError', message: "Invalid value for pkceMethod', expected 'S256' or false but got plain." } }, again: once },
        onLoad: { sync: true, first: { threw: { name: 'Error', message: 'Invalid value for onLoad' } }, again: once },
        falsy: { value: false },
        resolved: false,
        afterInit: { ...defaults, didInitialize: true },
        appInstanceAgain: once
      })
      await page.context().close()
    })

    test('init stores its options as properties; ignored values keep the defaults (rows 9, 37)', async () => {
      const page = await loggedOut(impl)
      const r = await page.evaluate(async () => {
        const { default: Keycloak } = await import('keycloak-wasm')
        const cfg = window.__KC_CONFIG__
        const pick = (o) => ({
          loginRequired: o.loginRequired,
          responseMode: o.responseMode,
          responseType: o.responseType,
          flow: o.flow,
          timeSkew: o.timeSkew,
          redirectUri: o.redirectUri ?? 'undefined',
          silentCheckSsoFallback: o.silentCheckSsoFallback,
          pkceMethod: o.pkceMethod,
          enableLogging: o.enableLogging,
          logoutMethod: o.logoutMethod,
          scope: o.scope ?? 'undefined',
          messageReceiveTimeout: o.messageReceiveTimeout
        })
        const set = new Keycloak(cfg)
        await set.init({ checkLoginIframe: false, responseMode: 'query', flow: 'implicit', timeSkew: 0, redirectUri: 'http://app.localhost/r', silentCheckSsoFallback: false, pkceMethod: false, logoutMethod: 'POST', scope: 'email', messageReceiveTimeout: 1234 })
        const ignored = new Keycloak(cfg)
        await ignored.init({ checkLoginIframe: false, timeSkew: '5', redirectUri: '', silentCheckSsoFallback: 'no', enableLogging: 'yes', logoutMethod: 'PUT', scope: 42, messageReceiveTimeout: 0 })
        const negative = new Keycloak(cfg)
        await negative.init({ checkLoginIframe: false, messageReceiveTimeout: -5, timeSkew: -3 })
        return { set: pick(set), ignored: pick(ignored), negative: { messageReceiveTimeout: negative.messageReceiveTimeout, timeSkew: negative.timeSkew } }
      })
      assert.deepEqual(r, {
        set: { loginRequired: false, responseMode: 'query', responseType: 'id_token token', flow: 'implicit', timeSkew: 0, redirectUri: 'http://app.localhost/r', silentCheckSsoFallback: false, pkceMethod: false, enableLogging: false, logoutMethod: 'POST', scope: 'email', messageReceiveTimeout: 1234 },
        ignored: { loginRequired: false, responseMode: 'fragment', responseType: 'code', flow: 'standard', timeSkew: null, redirectUri: 'undefined', silentCheckSsoFallback: true, pkceMethod: 'S256', enableLogging: false, logoutMethod: 'GET', scope: 'undefined', messageReceiveTimeout: 10000 },
        negative: { messageReceiveTimeout: 10000, timeSkew: -3 }
      })
      await page.context().close()
    })

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

    test('init with token, refreshToken, idToken and the status iframe off: a forced refresh validates them; a 400 rejects init (rows 10, 37, 52)', async () => {
      const page = await loggedIn(impl)
      const tokens = await currentTokens(page)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      await openApp(page, stack, impl, { checkLoginIframe: false, ...tokens })
      assert.equal(await settled(page), 'authenticated')
      assert.equal(tokenRequests.length, 1)
      const body = new URLSearchParams(tokenRequests[0].postData)
      assert.deepEqual([...body.entries()], [['grant_type', 'refresh_token'], ['refresh_token', tokens.refreshToken], ['client_id', 'demo-app']])
      assert.deepEqual(await eventNames(page), ['onAuthRefreshSuccess', 'onAuthSuccess', 'onReady'])
      const refreshed = await page.evaluate(() => ({ token: window.keycloak.token, skew: window.keycloak.timeSkew }))
      assert.notEqual(refreshed.token, tokens.token)
      assert.ok(Number.isInteger(refreshed.skew), 'the refresh computed timeSkew')

      // The realm session ends: the forced refresh answers 400. onAuthError() without
      // arguments, init rejects with the NetworkError (no onLoad to fall back on).
      const fresh = await currentTokens(page)
      await page.goto(await page.evaluate(() => window.keycloak.createLogoutUrl()))
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await openApp(page, stack, impl, { checkLoginIframe: false, ...fresh })
      await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
      assert.equal(await text(page, 'init-result'), 'rejected')
      assert.equal(await text(page, 'error'), 'Server responded with an invalid status.')
      const evs = await events(page)
      assert.deepEqual(evs.map((e) => e.name), ['onAuthLogout', 'onAuthRefreshError', 'onAuthError'])
      assert.equal(evs[2].args, undefined, 'onAuthError without arguments')
      assert.equal(await text(page, 'status'), 'not authenticated')

      // With onLoad: 'check-sso' the failure falls back to it: a prompt=none redirect, which
      // comes back without a session; init resolves false.
      const authRequests = recordRequests(page, AUTH_REQUEST)
      await openApp(page, stack, impl, { checkLoginIframe: false, onLoad: 'check-sso', ...fresh })
      await page.waitForURL((u) => u.hostname === 'app.localhost' && authRequests.length > 0)
      assert.equal(await settled(page), 'not authenticated')
      assert.equal(await text(page, 'init-result'), 'resolved')
      assert.equal(new URL(authRequests[0].url).searchParams.get('prompt'), 'none')
      await page.context().close()
    })

    describe('third-party cookies allowed (the status iframe works)', () => {
      let context
      before(async () => {
        context = await launchProfile({ thirdPartyCookies: true })
        assert.equal(await thirdPartyCookies(context, stack.appUrl(impl), stack.realmUrl), 'supported')
      })
      after(async () => { await context?.close() })

      test('init with tokens and the status iframe on: no request, timeSkew as given (rows 10, 16, 37)', async () => {
        await context.clearCookies()
        const page = await profilePage(context)
        await openApp(page, stack, impl, { checkLoginIframe: false })
        await settled(page)
        await logInThroughApp(page)
        const tokens = await currentTokens(page)
        const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
        await openApp(page, stack, impl, { timeSkew: 7, ...tokens })
        assert.equal(await settled(page), 'authenticated')
        await page.locator('#events li', { hasText: 'onReady' }).waitFor()
        assert.equal(tokenRequests.length, 0)
        assert.deepEqual(await eventNames(page), ['onAuthSuccess', 'onReady'])
        assert.deepEqual(await page.evaluate(() => ({ token: window.keycloak.token, skew: window.keycloak.timeSkew, user: window.keycloak.tokenParsed.preferred_username })),
          { token: tokens.token, skew: 7, user: 'alice' })
        assert.deepEqual(page.errors, [])
        await page.close()
      })

      test('init with an already expired token and timeSkew 0: onTokenExpired at once, then the iframe check (row 38)', async () => {
        await context.clearCookies()
        const page = await profilePage(context)
        await openApp(page, stack, impl, { checkLoginIframe: false }, { clientId: 'short-app' })
        await settled(page)
        await logInThroughApp(page)
        const tokens = await currentTokens(page)
        await page.locator('#events li', { hasText: 'onTokenExpired' }).first().waitFor({ timeout: 10000 })
        await openApp(page, stack, impl, { timeSkew: 0, ...tokens }, { clientId: 'short-app' })
        assert.equal(await settled(page), 'authenticated')
        await page.locator('#events li', { hasText: 'onReady' }).waitFor()
        assert.deepEqual(await eventNames(page), ['onTokenExpired', 'onAuthSuccess', 'onReady'])
        assert.equal(await page.evaluate(() => window.keycloak.isTokenExpired()), true)
        assert.equal(await page.evaluate(() => window.keycloak.updateToken()), true, 'updateToken refreshes the expired token')
        assert.deepEqual(page.errors, [])
        await page.close()
      })
    })

    test('isTokenExpired errors and token decoding errors of init tokens (rows 35, 39)', async () => {
      const page = await loggedIn(impl)
      const refreshToken = await page.evaluate(() => window.keycloak.refreshToken)
      const r = await page.evaluate(async ([attemptSrc, refreshToken]) => {
        const attempt = eval(attemptSrc) // eslint-disable-line no-eval
        const { default: Keycloak } = await import('keycloak-wasm')
        const kc = window.keycloak
        const fresh = new Keycloak(window.__KC_CONFIG__)
        await fresh.init({ checkLoginIframe: false })
        const decode = async (token) => {
          const k = new Keycloak(window.__KC_CONFIG__)
          const result = await attempt(() => k.init({ checkLoginIframe: false, token, refreshToken }))
          return { result, authenticated: k.authenticated, token: k.token === undefined ? 'undefined' : 'set', refreshTokenKept: k.refreshToken !== undefined }
        }
        const b64 = (o) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
        return {
          notLoggedIn: await attempt(() => fresh.isTokenExpired()),
          word: await attempt(() => kc.isTokenExpired('soon')),
          nan: await attempt(() => kc.isTokenExpired(NaN)), // falsy: ignored
          zero: await attempt(() => kc.isTokenExpired(0)),
          big: await attempt(() => kc.isTokenExpired(1e6)),
          noPayload: await decode('no-dots-at-all'),
          badBase64: await decode('a.!!!!.c'),
          badLength: await decode('a.abcde.c'),
          badJson: await decode(`a.${btoa('not json').replace(/=+$/, '')}.c`),
          // Tokens kept after a refresh that failed without an HTTP answer (a realm that
          // does not listen): then isTokenExpired reads the init tokens and timeSkew.
          unreachable: await (async () => {
            const k = new Keycloak({ url: 'http://localhost:9', realm: 'demo', clientId: 'demo-app' })
            const now = Math.floor(Date.now() / 1000)
            const init = await attempt(() => k.init({ checkLoginIframe: false, timeSkew: 0, token: `a.${b64({ sub: 'x', iat: now })}.c`, refreshToken: `a.${b64({ typ: 'Refresh' })}.c` }))
            const noExp = await attempt(() => k.isTokenExpired())
            const withMin = await attempt(() => k.isTokenExpired(1e6))
            return { rejected: init.threw?.name, authenticated: k.authenticated, subject: k.subject, noExp, withMin }
          })()
        }
      }, [attempt, refreshToken])
      const decodeError = (message) => ({ threw: { name: 'Error', message } })
      // keycloak-js sets the refresh and ID tokens before it decodes the access token and
      // leaves them (and the undecodable `token`) set when that fails; keycloak-wasm decodes all three before it changes
      // anything (README, "Other differences").
      const kept = impl === 'keycloak-js'
      const token = kept ? 'set' : 'undefined' // keycloak-js assigns `token` before decoding it
      assert.deepEqual(r, {
        notLoggedIn: decodeError('Not authenticated'),
        word: decodeError('Invalid minValidity'),
        nan: { value: false },
        zero: { value: false },
        big: { value: true },
        noPayload: { result: decodeError('Unable to decode token, payload not found.'), authenticated: false, token, refreshTokenKept: kept },
        badBase64: { result: decodeError('Unable to decode token, payload is not a valid Base64URL value.'), authenticated: false, token, refreshTokenKept: kept },
        badLength: { result: decodeError('Unable to decode token, payload is not a valid Base64URL value.'), authenticated: false, token, refreshTokenKept: kept },
        badJson: { result: decodeError('Unable to decode token, payload is not a valid JSON value.'), authenticated: false, token, refreshTokenKept: kept },
        // A token without a numeric exp never counts as expired (26.2).
        unreachable: { rejected: 'TypeError', authenticated: true, subject: 'x', noExp: { value: false }, withMin: { value: false } }
      })
      await page.context().close()
    })

    test('callback state in localStorage: the record, its 1 h expiry, purge of stale entries, one retry after a quota error (row 26)', async () => {
      const page = await loggedOut(impl)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const keys = () => Object.keys(localStorage).filter((k) => k.startsWith('kc-callback-')).sort()
        localStorage.clear()
        // Entries a purge removes (expired, malformed, without expiry) and keeps.
        localStorage.setItem('kc-callback-expired', JSON.stringify({ state: 'expired', expires: Date.now() - 1000 }))
        localStorage.setItem('kc-callback-junk', '{not json')
        localStorage.setItem('kc-callback-noexpiry', JSON.stringify({ state: 'noexpiry' }))
        localStorage.setItem('kc-callback-valid', JSON.stringify({ state: 'valid', expires: Date.now() + 60000 }))
        localStorage.setItem('unrelated', 'kept')
        const before = Date.now()
        const url = new URL(await kc.createLoginUrl({ scope: 'email', prompt: 'login' }))
        const state = url.searchParams.get('state')
        const record = JSON.parse(localStorage.getItem(`kc-callback-${state}`))
        const afterPurge = keys()
        // A quota error on the first write: every kc-callback- entry goes, the write is retried once.
        const setItem = Storage.prototype.setItem
        let failures = 0
        Storage.prototype.setItem = function (key, value) {
          if (key.startsWith('kc-callback-') && failures === 0) { failures++; throw new DOMException('full', 'QuotaExceededError') }
          return setItem.call(this, key, value)
        }
        let second
        try {
          second = new URL(await kc.createLoginUrl()).searchParams.get('state')
        } finally {
          Storage.prototype.setItem = setItem
        }
        return {
          fields: Object.keys(record).sort(),
          state: record.state === state,
          nonce: record.nonce === url.searchParams.get('nonce'),
          redirectUri: record.redirectUri,
          loginOptions: record.loginOptions,
          prompt: record.prompt,
          verifier: /^[A-Za-z0-9]{96}$/.test(record.pkceCodeVerifier),
          expiresInAnHour: record.expires >= before + 3600000 && record.expires <= Date.now() + 3600000,
          afterPurge: afterPurge.filter((k) => k !== `kc-callback-${state}`),
          failures,
          afterQuota: keys().map((k) => (k === `kc-callback-${second}` ? 'second' : k)),
          unrelated: localStorage.getItem('unrelated')
        }
      })
      assert.deepEqual(r, {
        fields: ['expires', 'loginOptions', 'nonce', 'pkceCodeVerifier', 'prompt', 'redirectUri', 'state'],
        state: true,
        nonce: true,
        redirectUri: stack.appUrl(impl),
        loginOptions: { scope: 'email', prompt: 'login' },
        prompt: 'login',
        verifier: true,
        expiresInAnHour: true,
        afterPurge: ['kc-callback-valid'],
        failures: 1,
        afterQuota: ['second'],
        unrelated: 'kept'
      })
      await page.context().close()
    })

    test('localStorage that cannot be reached (SecurityError): the state goes to a cookie and the login completes (row 27)', async () => {
      const page = await newPage(browser)
      // As in a browser that blocks site storage: reading window.localStorage throws.
      await page.addInitScript(() => {
        Object.defineProperty(window, 'localStorage', { configurable: true, get () { throw new DOMException('Access is denied for this document.', 'SecurityError') } })
      })
      await openApp(page, stack, impl)
      assert.equal(await settled(page), 'not authenticated')
      await page.click('#login')
      await page.locator('#kc-form-login').waitFor()
      const jar = await page.context().cookies(stack.appUrl(impl))
      const cookie = jar.find((c) => c.name.startsWith('kc-callback-'))
      assert.ok(cookie, 'the state waits in a kc-callback- cookie')
      const stored = JSON.parse(decodeURIComponent(cookie.value))
      assert.deepEqual(Object.keys(stored).sort(), ['nonce', 'pkceCodeVerifier', 'redirectUri', 'state'])
      assert.equal(cookie.name, `kc-callback-${stored.state}`)
      await fillLogin(page)
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(await text(page, 'init-result'), 'resolved')
      const after = await page.context().cookies(stack.appUrl(impl))
      assert.ok(!after.some((c) => c.name.startsWith('kc-callback-')), 'and is removed once used')
      await page.context().close()
    })

    test('a callback whose state is unknown, or was already used, is stripped from the URL and ignored (rows 26, 28, 29)', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl, { checkLoginIframe: false })
      await settled(page)
      const navigations = []
      page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()) })
      await logInThroughApp(page)
      const callback = navigations.find((u) => u.includes('code='))
      assert.ok(callback, navigations.join('\n'))
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      // The same callback again: its state was consumed by the first load.
      await page.goto('about:blank')
      await page.goto(callback)
      assert.equal(await settled(page), 'not authenticated')
      assert.equal(await text(page, 'init-result'), 'resolved')
      assert.equal(page.url(), stack.appUrl(impl))
      // A state this browser never issued, next to an app fragment that stays.
      await page.goto('about:blank')
      await page.goto(`${stack.appUrl(impl)}#tab=2&state=never-issued&code=abc&session_state=x`)
      assert.equal(await settled(page), 'not authenticated')
      assert.equal(page.url(), `${stack.appUrl(impl)}#tab=2`)
      assert.equal(tokenRequests.length, 0)
      assert.deepEqual(await eventNames(page), ['onReady'])
      await page.context().close()
    })

    test('OAuth error callbacks: no description, and errors after prompt=none are swallowed (rows 28, 30)', async () => {
      const page = await loggedOut(impl)
      const forge = async (loginOptions, fragment) => {
        const state = await page.evaluate(async (o) => new URL(await window.keycloak.createLoginUrl(o)).searchParams.get('state'), loginOptions)
        await page.goto('about:blank')
        await page.goto(`${stack.appUrl(impl)}#${fragment.replace('STATE', state)}`)
        await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
        return { result: await text(page, 'init-result'), error: await text(page, 'error'), events: await events(page), url: page.url() }
      }
      const denied = await forge({}, 'error=access_denied&state=STATE')
      // keycloak-js passes { error, error_description: undefined }; the app prints JSON.
      assert.deepEqual(denied, { result: 'rejected', error: '{"error":"access_denied"}', events: [{ name: 'onAuthError', args: [{ error: 'access_denied' }], time: denied.events[0]?.time }], url: stack.appUrl(impl) })
      const uri = await forge({}, 'error=server_error&error_description=Boom%20here&error_uri=https%3A%2F%2Fx&state=STATE')
      assert.equal(uri.error, '{"error":"server_error","error_description":"Boom here"}')
      assert.equal(uri.url, stack.appUrl(impl))
      for (const error of ['login_required', 'interaction_required', 'consent_required']) {
        const silent = await forge({ prompt: 'none' }, `error=${error}&state=STATE`)
        assert.equal(silent.result, 'resolved', error)
        assert.deepEqual(silent.events.map((e) => e.name), ['onReady'], error)
        assert.equal(silent.url, stack.appUrl(impl))
      }
      await page.context().close()
    })

    test('authentication_expired: the new login repeats the original login options (row 30)', async () => {
      const page = await loggedIn(impl)
      const options = { scope: 'email', loginHint: 'alice', locale: 'en', maxAge: 3600 }
      const state = await page.evaluate(async (o) => new URL(await window.keycloak.createLoginUrl(o)).searchParams.get('state'), options)
      const authRequests = recordRequests(page, AUTH_REQUEST)
      await page.goto('about:blank')
      await page.goto(`${stack.appUrl(impl)}#error=temporarily_unavailable&error_description=authentication_expired&state=${state}`)
      await page.waitForURL((u) => u.hostname === 'app.localhost' && !u.hash.includes('error='))
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(authRequests.length, 1)
      const q = new URL(authRequests[0].url).searchParams
      assert.deepEqual({ scope: q.get('scope'), hint: q.get('login_hint'), locale: q.get('ui_locales'), maxAge: q.get('max_age'), prompt: q.get('prompt') },
        { scope: 'openid email', hint: 'alice', locale: 'en', maxAge: '3600', prompt: null })
      assert.notEqual(q.get('state'), state, 'a new state')
      assert.ok(!(await eventNames(page)).includes('onAuthError'))
      await page.context().close()
    })

    test('the callback is removed around an app fragment or query, byte for byte (rows 28, 29)', async () => {
      const page = await loggedIn(impl)
      const app = stack.appUrl(impl)
      // Single sign-on from here on: login() goes to the realm and straight back.
      for (const start of [`${app}#section=preserved`, `${app}#/admin/users`, `${app}#/admin/users?tab=details&sort=asc`, `${app}#&&foo=bar&&baz=qux&=bax&fuz=`]) {
        await page.goto('about:blank')
        await page.goto(start)
        assert.equal(await settled(page), 'not authenticated', start)
        await page.evaluate(() => { window.keycloak.login() })
        await page.waitForURL((u) => u.hostname === 'app.localhost' && !u.href.includes('code='))
        await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
        assert.equal(page.url(), start)
      }
      // Query response mode: the app's own query and fragment survive.
      await openApp(page, stack, impl, { checkLoginIframe: false, responseMode: 'query' })
      await settled(page)
      const start = `${app}?foo=bar#/route`
      await page.goto(start)
      await settled(page)
      await page.evaluate(() => { window.keycloak.login() })
      await page.waitForURL((u) => u.hostname === 'app.localhost' && !u.href.includes('code='))
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(page.url(), start)
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('a custom adapter object gets login, register, logout, accountManagement and redirectUri with the caller\'s options (rows 7, 56)', async () => {
      const page = await loggedOut(impl)
      const r = await page.evaluate(async () => {
        const { default: Keycloak } = await import('keycloak-wasm')
        const calls = []
        const adapter = {
          login: async (o) => { calls.push(['login', o]); return 'from-login' },
          logout: async (o) => { calls.push(['logout', o]); return 'from-logout' },
          register: async (o) => { calls.push(['register', o]); return 'from-register' },
          accountManagement: async () => { calls.push(['accountManagement']); return 'from-account' },
          redirectUri: (o) => { calls.push(['redirectUri', o ?? null]); return o?.redirectUri ?? 'https://custom.example/cb' }
        }
        const kc = new Keycloak(window.__KC_CONFIG__)
        const authenticated = await kc.init({ adapter, checkLoginIframe: false })
        const results = [
          await kc.login({ scope: 'email' }),
          await kc.register({ locale: 'de' }),
          await kc.logout({ redirectUri: 'https://custom.example/bye' }),
          await kc.accountManagement()
        ]
        const loginRedirect = new URL(await kc.createLoginUrl({ prompt: 'login' })).searchParams.get('redirect_uri')
        const logoutRedirect = new URL(kc.createLogoutUrl()).searchParams.get('post_logout_redirect_uri')
        const accountRedirect = new URL(kc.createAccountUrl({ redirectUri: 'https://custom.example/acc' })).searchParams.get('referrer_uri')
        // Unknown adapter names fall back to the default adapter, as 'default' does.
        const named = {}
        for (const name of ['default', 'no-such-adapter']) {
          const k = new Keycloak(window.__KC_CONFIG__)
          await k.init({ adapter: name, checkLoginIframe: false })
          named[name] = new URL(await k.createLoginUrl()).searchParams.get('redirect_uri')
        }
        return { authenticated, results, calls, loginRedirect, logoutRedirect, accountRedirect, named, url: location.href }
      })
      assert.deepEqual(r, {
        authenticated: false,
        results: ['from-login', 'from-register', 'from-logout', 'from-account'],
        calls: [
          ['login', { scope: 'email' }],
          ['register', { locale: 'de' }],
          ['logout', { redirectUri: 'https://custom.example/bye' }],
          ['accountManagement'],
          ['redirectUri', { prompt: 'login' }],
          ['redirectUri', null],
          ['redirectUri', { redirectUri: 'https://custom.example/acc' }]
        ],
        loginRedirect: 'https://custom.example/cb',
        logoutRedirect: 'https://custom.example/cb',
        accountRedirect: 'https://custom.example/acc',
        named: { default: stack.appUrl(impl), 'no-such-adapter': stack.appUrl(impl) },
        url: stack.appUrl(impl)
      })
      await page.context().close()
    })

    test('the endpoints property: Keycloak paths, generic OIDC metadata, and what a provider lacks (rows 54, 55)', async () => {
      const page = await loggedOut(impl)
      const realm = `${stack.realmUrl}/realms/demo`
      const r = await page.evaluate(async () => {
        const { default: Keycloak } = await import('keycloak-wasm')
        const all = (e) => Object.fromEntries(['authorize', 'token', 'logout', 'checkSessionIframe', 'thirdPartyCookiesIframe', 'register', 'userinfo'].map((name) => {
          if (typeof e[name] !== 'function') return [name, typeof e[name]]
          try { return [name, e[name]()] } catch (err) { return [name, `throws: ${err.message}`] }
        }))
        const trailing = new Keycloak({ ...window.__KC_CONFIG__, url: `${window.__KC_CONFIG__.url}/`, realm: 'de mo/x' })
        await trailing.init({ checkLoginIframe: false })
        const oidc = new Keycloak({ clientId: 'c', oidcProvider: { authorization_endpoint: 'https://op.example/authorize', token_endpoint: 'https://op.example/token' } })
        await oidc.init({ checkLoginIframe: false })
        const full = new Keycloak({ clientId: 'c', oidcProvider: { authorization_endpoint: 'https://op.example/a', token_endpoint: 'https://op.example/t', userinfo_endpoint: 'https://op.example/u', end_session_endpoint: 'https://op.example/l', check_session_iframe: 'https://op.example/i' } })
        await full.init({ checkLoginIframe: false })
        return { keycloak: all(window.keycloak.endpoints), trailing: trailing.endpoints.token(), oidc: all(oidc.endpoints), full: all(full.endpoints) }
      })
      const unsupported = 'throws: Not supported by the OIDC server'
      assert.deepEqual(r, {
        keycloak: {
          authorize: `${realm}/protocol/openid-connect/auth`,
          token: `${realm}/protocol/openid-connect/token`,
          logout: `${realm}/protocol/openid-connect/logout`,
          checkSessionIframe: `${realm}/protocol/openid-connect/login-status-iframe.html`,
          thirdPartyCookiesIframe: `${realm}/protocol/openid-connect/3p-cookies/step1.html`,
          register: `${realm}/protocol/openid-connect/registrations`,
          userinfo: `${realm}/protocol/openid-connect/userinfo`
        },
        // One trailing slash of url is dropped; the realm is encodeURIComponent'ed.
        trailing: `${stack.realmUrl}/realms/de%20mo%2Fx/protocol/openid-connect/token`,
        oidc: {
          authorize: 'https://op.example/authorize',
          token: 'https://op.example/token',
          logout: unsupported,
          checkSessionIframe: unsupported,
          thirdPartyCookiesIframe: 'undefined',
          register: 'throws: Redirection to "Register user" page not supported in standard OIDC mode',
          userinfo: unsupported
        },
        full: {
          authorize: 'https://op.example/a',
          token: 'https://op.example/t',
          logout: 'https://op.example/l',
          checkSessionIframe: 'https://op.example/i',
          thirdPartyCookiesIframe: 'undefined',
          register: 'throws: Redirection to "Register user" page not supported in standard OIDC mode',
          userinfo: 'https://op.example/u'
        }
      })
      await page.context().close()
    })

    test('createRegisterUrl and register leave the caller\'s options untouched and reach the registration page (row 25)', async () => {
      const page = await loggedOut(impl)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const options = { loginHint: 'new@example.com', scope: 'email' }
        const url = new URL(await kc.createRegisterUrl(options))
        const loginOptions = { scope: 'email' }
        await kc.createLoginUrl(loginOptions)
        return { options, loginOptions, path: url.pathname, hint: url.searchParams.get('login_hint'), action: url.searchParams.get('kc_action') }
      })
      assert.deepEqual(r, {
        options: { loginHint: 'new@example.com', scope: 'email' },
        loginOptions: { scope: 'email' },
        path: '/realms/demo/protocol/openid-connect/registrations',
        hint: 'new@example.com',
        action: null
      })
      await page.evaluate(() => { window.keycloak.register({ locale: 'en' }) })
      await page.locator('#kc-register-form').waitFor()
      await page.context().close()
    })

    test("onLoad redirects carry init's locale: login-required without prompt (loginRequired true), check-sso with prompt=none (rows 11, 12)", async () => {
      const page = await newPage(browser)
      const authRequests = recordRequests(page, AUTH_REQUEST)
      await openApp(page, stack, impl, { checkLoginIframe: false, onLoad: 'login-required', locale: 'de' })
      await fillLogin(page)
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      const first = new URL(authRequests[0].url).searchParams
      assert.deepEqual([first.get('ui_locales'), first.get('prompt')], ['de', null])
      assert.equal(await page.evaluate(() => window.keycloak.loginRequired), true)
      await openApp(page, stack, impl, { checkLoginIframe: false, onLoad: 'check-sso', locale: 'fr-CA fr' })
      await page.waitForURL((u) => u.hostname === 'app.localhost' && authRequests.length === 2)
      assert.equal(await settled(page), 'authenticated')
      const second = new URL(authRequests[1].url).searchParams
      assert.deepEqual([second.get('ui_locales'), second.get('prompt')], ['fr-CA fr', 'none'])
      assert.equal(await page.evaluate(() => window.keycloak.loginRequired), false)
      await page.context().close()
    })
  })
}
