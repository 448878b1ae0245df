// A page with a strict Content-Security-Policy (no inline script but the page's own, by hash;
// connections and frames only to the app and the realm). keycloak-js needs nothing more.
// keycloak-wasm needs one thing more, deliberately: script-src 'wasm-unsafe-eval', without
// which no browser compiles a WebAssembly module (Chrome 97, Firefox 102, Safari 16). With
// it, check-sso with the silent iframe and the status iframe, a login and a refresh work and
// nothing is blocked; without it, init() rejects with our error naming the directive, the
// browser's as its cause (README "Content-Security-Policy").
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { launchProfile, profilePage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { logInThroughApp, openApp, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack } = useStack({ browser: false })

const MESSAGE = "keycloak-wasm: the browser did not compile its WebAssembly module (with a Content-Security-Policy, script-src needs 'wasm-unsafe-eval'; the cause says more)."

/** The policy for the app's page `html`: its inline scripts by hash, `wasm`: 'wasm-unsafe-eval'. */
function policy (html, wasm) {
  const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)]
    .map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`)
  const realm = new URL(stack.realmUrl).origin
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(' ')}${wasm ? " 'wasm-unsafe-eval'" : ''}`,
    "style-src 'self'",
    `connect-src 'self' ${realm}`,
    `frame-src 'self' ${realm}`,
    "img-src 'self'",
    "base-uri 'none'"
  ].join('; ')
}

/** A page (a profile of its own, third-party cookies allowed) whose app documents come with
 * the policy; it records what the policy blocks. The header is added by the browser's own
 * interception at the response stage (Playwright's route() refetches the document, and the
 * realm's third-party-cookie probe then never answers). Without the hashes the demo page
 * does not start at all: the policy is enforced. */
async function cspPage (wasm) {
  // A document the interception fulfils counts as from the public network for Chromium's
  // Local Network Access checks, which would then block its frames of the (loopback) realm:
  // off, since a real deployment's page and realm are not on loopback.
  const context = await launchProfile({ thirdPartyCookies: true, args: ['--disable-features=LocalNetworkAccessChecks'] })
  const page = await profilePage(context)
  const cdp = await context.newCDPSession(page)
  cdp.on('Fetch.requestPaused', async (e) => {
    try {
      const { body, base64Encoded } = await cdp.send('Fetch.getResponseBody', { requestId: e.requestId })
      const html = base64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body
      const headers = [...e.responseHeaders, { name: 'Content-Security-Policy', value: policy(html, wasm) }]
      // (fulfillRequest: a header given to continueResponse is not enforced.)
      await cdp.send('Fetch.fulfillRequest', { requestId: e.requestId, responseCode: e.responseStatusCode, responseHeaders: headers, body: Buffer.from(html).toString('base64') })
    } catch (x) {
      await cdp.send('Fetch.continueResponse', { requestId: e.requestId }).catch(() => {})
    }
  })
  const app = new URL(stack.appUrl('keycloak-wasm')).origin
  await cdp.send('Fetch.enable', { patterns: ['/', '/keycloak-js/'].map((p) => ({ urlPattern: app + p, resourceType: 'Document', requestStage: 'Response' })) })
  await page.addInitScript(() => {
    window.__blocked = []
    document.addEventListener('securitypolicyviolation', (e) => window.__blocked.push(`${e.violatedDirective} ${e.blockedURI}`))
  })
  return page
}

const blocked = (page) => page.evaluate(() => window.__blocked)

/** Runs `body` on a page with the policy; the page's profile closes whatever happens. */
async function withPolicy (wasm, body) {
  const page = await cspPage(wasm)
  try {
    await body(page)
  } finally {
    await page.context().close()
  }
}

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
      if (impl === 'keycloak-js') {
        // keycloak-js is plain JavaScript: the directive does not concern it.
        assert.equal(await settled(page), 'not authenticated')
        assert.deepEqual(await blocked(page), [])
        return
      }
      assert.equal(await page.locator('#init-result').textContent(), 'rejected')
      assert.equal(await page.locator('#error').textContent(), MESSAGE)
      const again = await page.evaluate(() => new window.keycloak.constructor({ url: 'http://idp.invalid', realm: 'r', clientId: 'c' }).init()
        .catch((e) => [e.message, e.cause?.name, String(e.cause?.message)]))
      assert.equal(again[0], MESSAGE)
      assert.equal(again[1], 'CompileError', "the browser's error is the cause")
      assert.match(again[2], /wasm-unsafe-eval|Content Security Policy|CSP/i)
      assert.ok((await blocked(page)).some((b) => b.startsWith('script-src')), 'the browser reported the blocked compile')
    }))
  })
}
