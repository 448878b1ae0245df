// More keycloak-js parity through the real realm server, both packages (reference
// keycloak-js §1.2-§1.8, §2.2-§2.13, §11, §12 rows the other suites leave open; the
// api-constructor, api-assigned-properties, api-init-tokens, api-callback-storage,
// api-callback-url, api-adapter-endpoints and api-register-onload files, one topic each).
// This file: register options (createRegisterUrl, register), and init's locale on
// onLoad redirects (login-required, check-sso).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { fillLogin, openApp, recordRequests, settled } from '../support/api-helpers.mjs'
import { AUTH_REQUEST, demoApp } from '../support/parity-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })
const { loggedOut } = demoApp({ stack, browser })

for (const impl of IMPLS) {
  describe(`API parity, more rows [${impl}]`, { timeout: 90000 }, () => {
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
