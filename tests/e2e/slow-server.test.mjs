// A realm that accepts connections and never answers. `init` with stored tokens must
// refresh them (status iframe off), so it talks to that server: keycloak-wasm gives up
// after `requestTimeout` and rejects; keycloak-js waits forever (asserted as a known,
// deliberate difference).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { useStack } from '../support/use-stack.mjs'

let silent
const sockets = new Set()
const { stack, browser } = useStack({
  async setup () {
    silent = net.createServer((s) => { sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)) })
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
  },
  teardown () {
    for (const s of sockets) s.destroy()
    silent?.close()
  }
})

const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
const jwt = (claims) => `${b64url({ alg: 'none' })}.${b64url(claims)}.x`

for (const impl of IMPLS) {
  describe(impl, () => {
    test(impl === 'keycloak-wasm' ? 'a silent server: init rejects after requestTimeout' : 'a silent server: init stays pending (known keycloak-js hang)', async () => {
      const page = await newPage(browser)
      await page.goto(new URL('/app.css', stack.appUrl(impl)).href)
      const now = Math.floor(Date.now() / 1000)
      await page.evaluate(([options, config]) => {
        sessionStorage.setItem('demo.init', JSON.stringify(options))
        sessionStorage.setItem('demo.config', JSON.stringify(config))
      }, [
        { checkLoginIframe: false, requestTimeout: 1000, token: jwt({ sub: 'u', iat: now, exp: now + 300 }), refreshToken: jwt({ typ: 'Refresh', iat: now, exp: now + 1800 }) },
        { url: `http://idp.localhost:${silent.address().port}` }
      ])
      await page.goto(stack.appUrl(impl))
      if (impl === 'keycloak-wasm') {
        await page.locator('#init-result', { hasText: 'rejected' }).waitFor({ timeout: 5000 })
        assert.match(await page.locator('#error').textContent(), /timed out/i)
        // As in keycloak-js, only an HTTP 400 clears the stored tokens, so they stay set.
        assert.match(await page.locator('#events').textContent(), /onAuthError/)
      } else {
        await page.waitForTimeout(4000)
        assert.equal(await page.locator('#init-result').textContent(), 'pending')
      }
      assert.ok(sockets.size > 0 || impl === 'keycloak-wasm', 'the request reached the silent server')
      await page.context().close()
    })
  })
}
