// Helpers of the API parity suites split by topic (api-constructor, api-assigned-properties,
// api-init-tokens, api-callback-storage, api-callback-url, api-adapter-endpoints,
// api-register-onload .test.mjs), moved unchanged from the former api-parity-extra.
import assert from 'node:assert/strict'
import { newPage } from './browser.mjs'
import { logInThroughApp, openApp, settled } from './api-helpers.mjs'

export const AUTH_REQUEST = /\/protocol\/openid-connect\/auth\?/

/** `loggedIn` and `loggedOut` pages of the demo app on `stack`, in `browser` (see useStack). */
export function demoApp ({ stack, browser }) {
  /** A logged-in demo app (alice), status iframe off unless `init` says otherwise. */
  async function loggedIn (impl, init = {}, config) {
    const page = await newPage(browser)
    await openApp(page, stack, impl, { checkLoginIframe: false, ...init }, config)
    await settled(page)
    await logInThroughApp(page)
    await page.locator('#events li', { hasText: 'onReady' }).waitFor()
    return page
  }

  /** The demo app, settled and not authenticated (status iframe off). */
  async function loggedOut (impl, init = {}, config) {
    const page = await newPage(browser)
    await openApp(page, stack, impl, { checkLoginIframe: false, ...init }, config)
    assert.equal(await settled(page), 'not authenticated')
    return page
  }

  return { loggedIn, loggedOut }
}

export const currentTokens = (page) => page.evaluate(() => ({ token: window.keycloak.token, refreshToken: window.keycloak.refreshToken, idToken: window.keycloak.idToken }))

/** Runs `fn` in the page; an exception becomes { threw: { name, message } }. */
export const attempt = `async (fn) => { try { return { value: await fn() } } catch (e) { return { threw: e instanceof Error ? { name: e.name, message: e.message } : e } } }`
