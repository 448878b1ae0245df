// More checklist rows through the realm server, both packages (reference keycloak-js
// §2.4 cookie fallback, §2.6 authentication_expired, §2.8 nonce, §7 accountManagement).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { eventNames, fillLogin, logInThroughApp, openApp, recordRequests, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })

for (const impl of IMPLS) {
  describe(`more API rows [${impl}]`, { timeout: 60000 }, () => {
    test('localStorage unusable: the callback state goes to a cookie and the login completes', async () => {
      const page = await newPage(browser)
      await page.addInitScript(() => {
        Storage.prototype.setItem = function () { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError') }
      })
      await openApp(page, stack, impl).catch(() => {})
      // openApp writes the options to sessionStorage, which this page cannot: go on defaults.
      await page.goto(stack.appUrl(impl))
      await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
      await page.click('#login')
      await page.locator('#kc-form-login').waitFor()
      const jar = await page.context().cookies(stack.appUrl(impl))
      assert.ok(jar.some((c) => /^kc-callback-[0-9a-f-]{36}$/.test(c.name)), 'the state waits in a kc-callback- cookie')
      await fillLogin(page)
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      const after = await page.context().cookies(stack.appUrl(impl))
      assert.ok(!after.some((c) => c.name.startsWith('kc-callback-')), 'and is removed once used')
      await page.context().close()
    })

    test('accountManagement() opens the account console with referrer and referrer_uri', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      await logInThroughApp(page)
      await page.evaluate(() => { window.keycloak.accountManagement() })
      await page.waitForURL((u) => u.pathname === '/realms/demo/account')
      const u = new URL(page.url())
      assert.equal(u.searchParams.get('referrer'), 'demo-app')
      assert.equal(u.searchParams.get('referrer_uri'), stack.appUrl(impl))
      await page.context().close()
    })

    test('error_description=authentication_expired starts a new login, which SSO completes', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      await logInThroughApp(page)
      const loginUrl = await page.evaluate(() => window.keycloak.createLoginUrl())
      const state = new URL(loginUrl).searchParams.get('state')
      const authRequests = recordRequests(page, /\/protocol\/openid-connect\/auth\?/)
      await page.goto(`${new URL(stack.appUrl(impl)).origin}/app.css`)
      await page.goto(`${stack.appUrl(impl)}#error=temporarily_unavailable&error_description=authentication_expired&state=${state}`)
      await page.waitForURL((u) => u.hostname === 'app.localhost' && !u.hash.includes('error='))
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(authRequests.length, 1, 'one new authorization request')
      assert.ok(!(await eventNames(page)).includes('onAuthError'))
      await page.context().close()
    })

    test('an ID token whose nonce does not match: init rejects, no tokens are kept', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      // The stored callback state gets another nonce than the one the server puts into
      // the ID token (as if the response belonged to another login).
      const loginUrl = await page.evaluate(() => window.keycloak.createLoginUrl())
      const state = new URL(loginUrl).searchParams.get('state')
      await page.evaluate((key) => {
        const fromStorage = localStorage.getItem(key)
        const record = JSON.parse(fromStorage)
        record.nonce = 'forged'
        localStorage.setItem(key, JSON.stringify(record))
      }, `kc-callback-${state}`)
      await page.goto(loginUrl)
      await fillLogin(page)
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
      assert.equal(await page.locator('#init-result').textContent(), 'rejected')
      assert.equal(await page.locator('#status').textContent(), 'not authenticated')
      assert.equal(await page.evaluate(() => window.keycloak.token), undefined)
      await page.context().close()
    })
  })
}
