// Where keycloak-js is unsafe we differ on purpose (see the README's compatibility
// table); these scenarios show the difference to a user. Both adapters run each one.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack()

for (const impl of IMPLS) {
  describe(impl, () => {
    test(impl === 'keycloak-wasm'
      ? 'a callback whose iss is another server is refused before any token request (RFC 9207)'
      : 'a callback whose iss is another server is accepted and its code sent to the token endpoint (keycloak-js does not check iss)', async () => {
      const page = await newPage(browser)
      await page.goto(new URL('/app.css', stack.appUrl(impl)).href)
      await page.evaluate(() => sessionStorage.setItem('demo.init', JSON.stringify({ checkLoginIframe: false })))
      await page.goto(stack.appUrl(impl))
      await page.locator('#init-result', { hasText: 'resolved' }).waitFor()
      // A genuine pending login (state stored by the adapter), answered by someone else.
      const state = await page.evaluate(async () => new URL(await window.keycloak.createLoginUrl()).searchParams.get('state'))
      const tokenRequests = []
      page.on('request', (r) => { if (r.url().endsWith('/protocol/openid-connect/token')) tokenRequests.push(r.url()) })
      const forged = `${stack.appUrl(impl)}#state=${state}&session_state=x&iss=${encodeURIComponent('http://evil.localhost/realms/demo')}&code=stolen-code`
      await page.goto('about:blank') // a fresh load, not a same-document hash change
      await page.goto(forged)
      await page.locator('#init-result', { hasText: 'rejected' }).waitFor()
      assert.equal(await page.locator('#status').textContent(), 'not authenticated')
      assert.doesNotMatch(page.url(), /code=|state=/, 'the callback parameters are cleaned either way')
      if (impl === 'keycloak-wasm') {
        assert.equal(await page.locator('#error').textContent(), "The authorization response's issuer (iss) is not the expected issuer.")
        assert.deepEqual(tokenRequests, [], 'the code was never sent anywhere')
      } else {
        assert.equal(tokenRequests.length, 1)
        assert.equal(await page.locator('#error').textContent(), 'Server responded with an invalid status.')
      }
      await page.context().close()
    })
  })
}
