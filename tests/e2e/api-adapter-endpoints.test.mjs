// More keycloak-js parity through the real realm server, both packages (reference
// keycloak-js §1.2-§1.8, §2.2-§2.13, §11, §12 rows the other suites leave open; the
// api-constructor, api-assigned-properties, api-init-tokens, api-callback-storage,
// api-callback-url, api-adapter-endpoints and api-register-onload files, one topic each).
// This file: a custom adapter object, and the `endpoints` property for a Keycloak
// realm and for generic OIDC metadata.
//
// Scenarios that need their own instance (a custom adapter, other configurations'
// endpoints) build it inside the demo app's page with `import('keycloak-wasm')`, which
// the page's import map resolves to the adapter under test.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { IMPLS } from '../support/fixture.mjs'
import { demoApp } from '../support/parity-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })
const { loggedOut } = demoApp({ stack, browser })

for (const impl of IMPLS) {
  describe(`API parity, more rows [${impl}]`, { timeout: 90000 }, () => {
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
  })
}
