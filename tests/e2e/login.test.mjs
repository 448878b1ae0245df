// The first login, end to end: the demo app on app.localhost, the realm on idp.localhost,
// real redirects, the realm's login form, code exchange with PKCE, refresh and logout.
// Every scenario runs against keycloak-wasm and keycloak-js; they must agree.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack()

const text = (page, id) => page.locator(`#${id}`).textContent()

async function openApp (page, impl) {
  await page.goto(stack.appUrl(impl))
  await page.locator('#status', { hasText: /authenticated/ }).waitFor()
  assert.equal(await text(page, 'impl'), impl)
}

async function logIn (page, username, password) {
  await page.locator('#username').waitFor()
  assert.match(page.url(), /^http:\/\/idp\.localhost:\d+\/realms\/demo\//, 'on the realm, another site')
  await page.fill('#username', username)
  await page.fill('#password', password)
  await page.click('#kc-login')
}

for (const impl of IMPLS) {
  describe(impl, () => {
    test('log in through the realm form, see roles, refresh the token, log out', async () => {
      const page = await newPage(browser)
      await openApp(page, impl)
      assert.equal(await text(page, 'status'), 'not authenticated')

      await page.click('#login')
      await logIn(page, 'alice', 'alice')
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(await text(page, 'username'), 'alice')
      assert.match(await text(page, 'realm-roles'), /\buser\b/)
      assert.match(await text(page, 'client-roles'), /\bviewer\b/)
      assert.doesNotMatch(page.url(), /[#&?](code|state|session_state|iss)=/, 'callback parameters are cleaned from the URL')
      // onAuthSuccess already renders "authenticated"; onReady follows when init settles.
      await page.locator('#events', { hasText: 'onReady' }).waitFor()
      const events = await text(page, 'events')
      assert.match(events, /onAuthSuccess[\s\S]*onReady \[true\]/)
      const expiresIn = Number(await text(page, 'token-expires'))
      assert.ok(expiresIn > 250 && expiresIn <= 300, `token expires in ${expiresIn} s`)

      const before = await text(page, 'token-parsed')
      await page.click('#refresh')
      await page.locator('#refresh-result', { hasText: 'true' }).waitFor()
      assert.notEqual(await text(page, 'token-parsed'), before, 'the refreshed token differs (new iat/jti)')
      assert.match(await text(page, 'events'), /onAuthRefreshSuccess/)

      await page.click('#logout')
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
      // The session really ended: logging in again shows the form instead of SSO.
      await page.click('#login')
      await page.locator('#username').waitFor()
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('a wrong password shows the error and stays on the form', async () => {
      const page = await newPage(browser)
      await openApp(page, impl)
      await page.click('#login')
      await logIn(page, 'alice', 'wrong')
      await page.locator('#input-error').waitFor()
      assert.match(await page.locator('#input-error').textContent(), /Invalid username or password/)
      assert.match(page.url(), /^http:\/\/idp\.localhost:/)
      await page.context().close()
    })

    test('plain init (no onLoad, no status iframe): login works, a reload forgets the tokens', async () => {
      const page = await newPage(browser)
      await openApp(page, impl)
      // The first slice's options: no check-sso, so nothing restores a session on load.
      await page.evaluate(() => sessionStorage.setItem('demo.init', JSON.stringify({ checkLoginIframe: false, pkceMethod: 'S256' })))
      await page.reload()
      await page.locator('#events', { hasText: 'onReady' }).waitFor()
      assert.equal(await text(page, 'status'), 'not authenticated')
      assert.match(await text(page, 'events'), /onReady \[false\]/)

      await page.click('#login')
      await logIn(page, 'alice', 'alice')
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(await text(page, 'username'), 'alice')
      assert.doesNotMatch(page.url(), /[#&?](code|state|session_state|iss)=/)
      await page.locator('#events', { hasText: 'onReady' }).waitFor()
      assert.match(await text(page, 'events'), /onAuthSuccess[\s\S]*onReady \[true\]/)

      // Tokens live in memory only, and plain init does not ask the realm: the realm session
      // still exists, but the reloaded page is not authenticated until the user logs in.
      await page.reload()
      await page.locator('#status', { hasText: /^not authenticated$/ }).waitFor()
      assert.equal(await text(page, 'init-result'), 'resolved')
      // ...and logging in again is single sign-on: through the realm and straight back,
      // without the form (nobody fills it in here).
      const authResponses = []
      page.on('response', (r) => { if (r.request().isNavigationRequest() && r.url().includes('/protocol/openid-connect/auth')) authResponses.push(r.status()) })
      await page.click('#login')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.deepEqual(authResponses, [302], 'the auth endpoint redirected straight back (no login form)')
      assert.equal(await text(page, 'username'), 'alice')
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test("onLoad: 'login-required' sends the user to the form and back authenticated", async () => {
      const page = await newPage(browser)
      await openApp(page, impl)
      await page.check('#login-required')
      await page.reload()
      await logIn(page, 'bob', 'bob')
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(await text(page, 'username'), 'bob')
      assert.doesNotMatch(await text(page, 'realm-roles'), /\buser\b/)
      assert.equal(await text(page, 'client-roles'), '')
      await page.context().close()
    })
  })
}
