// A page with a strict Content-Security-Policy, sent by the app server (tests/support/csp.mjs:
// no script but the page's own files and inline scripts by hash; connections and frames only
// to the app and the realm). keycloak-js needs nothing more. keycloak-wasm needs one thing
// more, deliberately: script-src 'wasm-unsafe-eval', without which no browser runs a
// WebAssembly module. With it, check-sso with the silent and status iframes, a login and a
// refresh work and nothing is blocked; without it, init() rejects with our error naming the
// directive, the browser's as its cause (README "Content-Security-Policy").
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchProfile, profilePage } from '../support/browser.mjs'
import { COMPILE_ERROR, strictPolicy } from '../support/csp.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { logInThroughApp, openApp, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack } = useStack({ browser: false })

/** Runs `body` on a page (a profile of its own, third-party cookies allowed) under the policy;
 * the page records what the policy blocks. */
async function withPolicy (wasm, body) {
  stack.setPolicy(strictPolicy(stack.realmUrl, wasm))
  const context = await launchProfile({ thirdPartyCookies: true })
  try {
    const page = await profilePage(context)
    await page.addInitScript(() => {
      window.__blocked = []
      document.addEventListener('securitypolicyviolation', (e) => window.__blocked.push(`${e.violatedDirective} ${e.blockedURI}`))
    })
    await body(page)
  } finally {
    await context.close()
    stack.setPolicy(null)
  }
}

const blocked = (page) => page.evaluate(() => window.__blocked)

for (const impl of IMPLS) {
  describe(`${impl} under a strict Content-Security-Policy`, () => {
    test(`check-sso with the silent and status iframes, a login and a refresh, nothing blocked${impl === 'keycloak-wasm' ? " (with 'wasm-unsafe-eval')" : ''}`, () => withPolicy(true, async (page) => {
      const silent = new URL('/silent-check-sso.html', stack.appUrl(impl)).href
      await openApp(page, stack, impl, { onLoad: 'check-sso', silentCheckSsoRedirectUri: silent })
      assert.equal(await settled(page), 'not authenticated')
      assert.match(await page.evaluate(() => document.querySelector('iframe')?.src ?? ''), /login-status-iframe\.html$/, 'the status iframe is there')
      await logInThroughApp(page)
      assert.equal(await page.evaluate(() => window.keycloak.updateToken(-1)), true)
      assert.deepEqual(await blocked(page), [])
      assert.deepEqual(page.errors, [])
    }))

    test("without 'wasm-unsafe-eval'", () => withPolicy(false, async (page) => {
      await openApp(page, stack, impl, { onLoad: 'check-sso', checkLoginIframe: false })
      await page.locator('#init-result', { hasText: /resolved|rejected/ }).waitFor()
      // The policy is enforced: an inline script not in it does not run.
      assert.equal(await page.evaluate(() => {
        const s = document.createElement('script')
        s.textContent = 'window.__ran = true'
        document.body.append(s)
        return window.__ran ?? false
      }), false)
      if (impl === 'keycloak-js') {
        // keycloak-js is plain JavaScript: the directive does not concern it.
        assert.equal(await settled(page), 'not authenticated')
        assert.ok((await blocked(page)).every((b) => b.startsWith('script-src-elem inline')), 'nothing but the probe above is blocked')
        return
      }
      assert.equal(await page.locator('#init-result').textContent(), 'rejected')
      assert.equal(await page.locator('#error').textContent(), COMPILE_ERROR)
      const again = await page.evaluate(() => new window.keycloak.constructor({ url: 'http://idp.invalid', realm: 'r', clientId: 'c' }).init()
        .catch((e) => [e.message, e.cause?.name, String(e.cause?.message)]))
      assert.equal(again[0], COMPILE_ERROR)
      assert.equal(again[1], 'CompileError', "the browser's error is the cause")
      assert.match(again[2], /wasm-unsafe-eval|Content Security Policy|CSP/i)
      assert.ok((await blocked(page)).some((b) => b.startsWith('script-src')), 'the browser reported the blocked compile')
    }))
  })
}
