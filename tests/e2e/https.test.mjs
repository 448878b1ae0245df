// The realm over HTTPS (realm server --tls, certificate made at start): the session
// cookies are SameSite=None; Secure as on a real deployment. Third-party cookies
// allowed, app on http://app.localhost (a secure context), realm on
// https://idp.localhost. Both adapters.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { profilePage, thirdPartyCookies } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, context } = useStack({
  tls: true,
  browser: false,
  profile: { thirdPartyCookies: true, ignoreHTTPSErrors: true },
  async setup ({ stack, context }) {
    assert.equal(await thirdPartyCookies(context, stack.appUrl('keycloak-wasm'), stack.realmUrl), 'supported')
  }
})

const text = (page, id) => page.locator(`#${id}`).textContent()

async function openApp (impl, initOptions) {
  const page = await profilePage(context)
  await page.goto(new URL('/app.css', stack.appUrl(impl)).href)
  await page.evaluate((o) => sessionStorage.setItem('demo.init', JSON.stringify(o)), initOptions)
  page.navigations = 0
  await page.goto(stack.appUrl(impl))
  await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
  return page
}

for (const impl of IMPLS) {
  describe(impl, () => {
    test('login over HTTPS, silent check-sso in a new tab, logout noticed by the status iframe', async () => {
      await context.clearCookies()
      assert.match(stack.realmUrl, /^https:\/\/idp\.localhost:/)
      const silentCheckSsoRedirectUri = new URL('/silent-check-sso.html', stack.appUrl(impl)).href
      const first = await openApp(impl, { onLoad: 'check-sso', silentCheckSsoRedirectUri, checkLoginIframeInterval: 1 })
      assert.equal(await text(first, 'status'), 'not authenticated')
      await first.click('#login')
      await first.fill('#username', 'alice')
      await first.fill('#password', 'alice')
      await first.click('#kc-login')
      await first.locator('#status', { hasText: /^authenticated$/ }).waitFor()

      const cookies = await context.cookies(`${stack.realmUrl}/realms/demo/`)
      const session = cookies.find((c) => c.name === 'KEYCLOAK_SESSION')
      assert.ok(session, 'KEYCLOAK_SESSION is set')
      assert.equal(session.secure, true)
      assert.equal(session.sameSite, 'None')

      const second = await openApp(impl, { onLoad: 'check-sso', silentCheckSsoRedirectUri })
      assert.equal(await text(second, 'status'), 'authenticated')
      assert.equal(second.navigations, 1, 'silent: no top-level navigation')

      await second.evaluate(() => { window.keycloak.logout() })
      await second.waitForURL((u) => u.hostname === 'app.localhost')
      await first.locator('#status', { hasText: /^not authenticated$/ }).waitFor({ timeout: 5000 })
      assert.match(await text(first, 'events'), /onAuthLogout/)
      assert.deepEqual(first.errors, [])
      await first.close()
      await second.close()
    })
  })
}
