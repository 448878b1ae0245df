// More keycloak-js parity through the real realm server, both packages (reference
// keycloak-js §1.2-§1.8, §2.2-§2.13, §11, §12 rows the other suites leave open; the
// api-constructor, api-assigned-properties, api-init-tokens, api-callback-storage,
// api-callback-url, api-adapter-endpoints and api-register-onload files, one topic each).
// This file: constructor errors and option defaults, the init guard and option
// validation, and the options init stores as properties.
//
// Scenarios that need their own instance (constructor forms, init's option checks)
// build it inside the demo app's page with `import('keycloak-wasm')`, which the page's
// import map resolves to the adapter under test.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { IMPLS } from '../support/fixture.mjs'
import { attempt, demoApp } from '../support/parity-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { loggedOut } = demoApp(useStack({ api: true }))

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
  })
}
