// More keycloak-js parity through the real realm server, both packages (reference
// keycloak-js §1.2-§1.8, §2.2-§2.13, §11, §12 rows the other suites leave open; the
// api-constructor, api-assigned-properties, api-init-tokens, api-callback-storage,
// api-callback-url, api-adapter-endpoints and api-register-onload files, one topic each).
// This file: callbacks with an unknown or reused state, OAuth errors without a
// description or after prompt=none, the authentication_expired re-login keeping its
// options, and URL clean-up around app fragments and queries.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { TOKEN_ENDPOINT, eventNames, events, logInThroughApp, openApp, recordRequests, settled, text } from '../support/api-helpers.mjs'
import { AUTH_REQUEST, demoApp } from '../support/parity-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })
const { loggedIn, loggedOut } = demoApp({ stack, browser })

for (const impl of IMPLS) {
  describe(`API parity, more rows [${impl}]`, { timeout: 90000 }, () => {
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
  })
}
