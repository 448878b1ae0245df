// More keycloak-js parity through the real realm server, both packages (reference
// keycloak-js §1.2-§1.8, §2.2-§2.13, §11, §12 rows the other suites leave open; the
// api-constructor, api-assigned-properties, api-init-tokens, api-callback-storage,
// api-callback-url, api-adapter-endpoints and api-register-onload files, one topic each).
// This file: the callback storage's records in localStorage, their purge and the quota
// retry, and the cookie fallback when localStorage is unreachable.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { fillLogin, openApp, settled, text } from '../support/api-helpers.mjs'
import { demoApp } from '../support/parity-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })
const { loggedOut } = demoApp({ stack, browser })

for (const impl of IMPLS) {
  describe(`API parity, more rows [${impl}]`, { timeout: 90000 }, () => {
    test('callback state in localStorage: the record, its 1 h expiry, purge of stale entries, one retry after a quota error (row 26)', async () => {
      const page = await loggedOut(impl)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const keys = () => Object.keys(localStorage).filter((k) => k.startsWith('kc-callback-')).sort()
        localStorage.clear()
        // Entries a purge removes (expired, malformed, without expiry) and keeps.
        localStorage.setItem('kc-callback-expired', JSON.stringify({ state: 'expired', expires: Date.now() - 1000 }))
        localStorage.setItem('kc-callback-junk', '{not json')
        localStorage.setItem('kc-callback-noexpiry', JSON.stringify({ state: 'noexpiry' }))
        localStorage.setItem('kc-callback-valid', JSON.stringify({ state: 'valid', expires: Date.now() + 60000 }))
        localStorage.setItem('unrelated', 'kept')
        const before = Date.now()
        const url = new URL(await kc.createLoginUrl({ scope: 'email', prompt: 'login' }))
        const state = url.searchParams.get('state')
        const record = JSON.parse(localStorage.getItem(`kc-callback-${state}`))
        const afterPurge = keys()
        // A quota error on the first write: every kc-callback- entry goes, the write is retried once.
        const setItem = Storage.prototype.setItem
        let failures = 0
        Storage.prototype.setItem = function (key, value) {
          if (key.startsWith('kc-callback-') && failures === 0) { failures++; throw new DOMException('full', 'QuotaExceededError') }
          return setItem.call(this, key, value)
        }
        let second
        try {
          second = new URL(await kc.createLoginUrl()).searchParams.get('state')
        } finally {
          Storage.prototype.setItem = setItem
        }
        return {
          fields: Object.keys(record).sort(),
          state: record.state === state,
          nonce: record.nonce === url.searchParams.get('nonce'),
          redirectUri: record.redirectUri,
          loginOptions: record.loginOptions,
          prompt: record.prompt,
          verifier: /^[A-Za-z0-9]{96}$/.test(record.pkceCodeVerifier),
          expiresInAnHour: record.expires >= before + 3600000 && record.expires <= Date.now() + 3600000,
          afterPurge: afterPurge.filter((k) => k !== `kc-callback-${state}`),
          failures,
          afterQuota: keys().map((k) => (k === `kc-callback-${second}` ? 'second' : k)),
          unrelated: localStorage.getItem('unrelated')
        }
      })
      assert.deepEqual(r, {
        fields: ['expires', 'loginOptions', 'nonce', 'pkceCodeVerifier', 'prompt', 'redirectUri', 'state'],
        state: true,
        nonce: true,
        redirectUri: stack.appUrl(impl),
        loginOptions: { scope: 'email', prompt: 'login' },
        prompt: 'login',
        verifier: true,
        expiresInAnHour: true,
        afterPurge: ['kc-callback-valid'],
        failures: 1,
        afterQuota: ['second'],
        unrelated: 'kept'
      })
      await page.context().close()
    })

    test('localStorage that cannot be reached (SecurityError): the state goes to a cookie and the login completes (row 27)', async () => {
      const page = await newPage(browser)
      // As in a browser that blocks site storage: reading window.localStorage throws.
      await page.addInitScript(() => {
        Object.defineProperty(window, 'localStorage', { configurable: true, get () { throw new DOMException('Access is denied for this document.', 'SecurityError') } })
      })
      await openApp(page, stack, impl)
      assert.equal(await settled(page), 'not authenticated')
      await page.click('#login')
      await page.locator('#kc-form-login').waitFor()
      const jar = await page.context().cookies(stack.appUrl(impl))
      const cookie = jar.find((c) => c.name.startsWith('kc-callback-'))
      assert.ok(cookie, 'the state waits in a kc-callback- cookie')
      const stored = JSON.parse(decodeURIComponent(cookie.value))
      assert.deepEqual(Object.keys(stored).sort(), ['nonce', 'pkceCodeVerifier', 'redirectUri', 'state'])
      assert.equal(cookie.name, `kc-callback-${stored.state}`)
      await fillLogin(page)
      await page.waitForURL((u) => u.hostname === 'app.localhost')
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(await text(page, 'init-result'), 'resolved')
      const after = await page.context().cookies(stack.appUrl(impl))
      assert.ok(!after.some((c) => c.name.startsWith('kc-callback-')), 'and is removed once used')
      await page.context().close()
    })
  })
}
