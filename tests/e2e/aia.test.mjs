// Application-initiated actions through the real realm server, both packages (reference
// keycloak-js §1.8 onActionUpdate, §8 kc_action): login({ action: 'UPDATE_PASSWORD' })
// shows the realm's update-password page, and the app hears the outcome through
// onActionUpdate(status, action) before onAuthSuccess. A realm per package, since the
// scenario changes alice's password.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchBrowser, newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { events, fillLogin, logInThroughApp, openApp, settled, startApiStack } from '../support/api-helpers.mjs'

let browser
before(async () => { browser = await launchBrowser() })
after(async () => { await browser?.close() })

for (const impl of IMPLS) {
  describe(`kc_action and onActionUpdate [${impl}]`, { timeout: 90000 }, () => {
    let stack
    before(async () => { stack = await startApiStack() })
    after(async () => { await stack?.stop() })

    async function actionPage (page) {
      await page.evaluate(() => { window.keycloak.login({ action: 'UPDATE_PASSWORD' }) })
      await page.locator('#kc-passwd-update-form').waitFor()
      assert.equal(new URL(page.url()).hostname, 'idp.localhost')
    }
    async function backInApp (page) {
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      return (await events(page)).filter((e) => e.name === 'onActionUpdate' || e.name === 'onAuthSuccess')
    }

    test('cancel: onActionUpdate("cancelled", "UPDATE_PASSWORD"), still logged in', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      await logInThroughApp(page)
      await actionPage(page)
      await page.click('button[name="cancel-aia"]')
      const seen = await backInApp(page)
      assert.deepEqual(seen.map((e) => [e.name, e.args]), [['onActionUpdate', ['cancelled', 'UPDATE_PASSWORD']], ['onAuthSuccess', undefined]])
      await page.context().close()
    })

    test('update: a mismatch keeps the form; success reports ("success", "UPDATE_PASSWORD") and the new password works', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl)
      await settled(page)
      await logInThroughApp(page)
      await actionPage(page)
      await page.fill('#password-new', 'new-secret')
      await page.fill('#password-confirm', 'other')
      await page.click('#kc-passwd-update-form input[type=submit]')
      await page.locator('#input-error-password', { hasText: "Passwords don't match." }).waitFor()
      await page.fill('#password-new', 'new-secret')
      await page.fill('#password-confirm', 'new-secret')
      await page.click('#kc-passwd-update-form input[type=submit]')
      const seen = await backInApp(page)
      assert.deepEqual(seen.map((e) => [e.name, e.args]), [['onActionUpdate', ['success', 'UPDATE_PASSWORD']], ['onAuthSuccess', undefined]])
      // A fresh browser logs in with the new password only.
      const other = await newPage(browser)
      await openApp(other, stack, impl)
      await settled(other)
      await other.click('#login')
      await fillLogin(other, { username: 'alice', password: 'alice' })
      await other.locator('#input-error', { hasText: 'Invalid username or password.' }).waitFor()
      await fillLogin(other, { username: 'alice', password: 'new-secret' })
      await other.waitForURL((u) => u.hostname === 'app.localhost')
      await other.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      await other.context().close()
      await page.context().close()
    })
  })
}
