// Callback handling (reference §1.5, §2.1, §2.6, §2.11, §2.12): OAuth errors in the
// callback, the query response mode, the implicit and hybrid flows, and login without
// PKCE. Each runs through the real realm server with the demo app, for both adapters.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { TOKEN_ENDPOINT, eventNames, events, fillLogin, logInThroughApp, openApp, recordRequests, settled, text } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const { stack, browser } = useStack({ api: true })

/** Top-level URLs the page visits from now on. */
function recordNavigations (page) {
  const urls = []
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) urls.push(f.url()) })
  return urls
}

const STANDARD_DISABLED = 'Client is not allowed to initiate browser login with given response_type. Standard flow is disabled for the client.'

for (const impl of IMPLS) {
  describe(impl, () => {
    describe('an OAuth error in the callback (prompt not none)', () => {
      const cases = [
        {
          name: 'standard flow disabled for the client',
          config: { clientId: 'nostd-app' },
          init: { checkLoginIframe: false },
          login: (page) => page.click('#login'),
          error: { error: 'unauthorized_client', error_description: STANDARD_DISABLED }
        },
        {
          name: 'an unknown scope',
          init: { checkLoginIframe: false },
          login: (page) => page.evaluate(() => { window.keycloak.login({ scope: 'no-such-scope' }) }),
          error: { error: 'invalid_scope', error_description: 'Invalid scopes: openid no-such-scope' }
        },
        {
          name: 'pkceMethod false with a client that requires S256',
          init: { checkLoginIframe: false, pkceMethod: false },
          login: (page) => page.click('#login'),
          error: { error: 'invalid_request', error_description: 'Missing parameter: code_challenge_method' }
        }
      ]
      for (const c of cases) {
        test(`${c.name}: onAuthError({error, error_description}), init rejects with that plain object`, async () => {
          const page = await newPage(browser)
          await openApp(page, stack, impl, c.init, c.config)
          assert.equal(await settled(page), 'not authenticated')
          const navigations = recordNavigations(page)
          await c.login(page)
          await page.locator('#init-result', { hasText: 'rejected' }).waitFor()
          // The realm really answered with the error in the fragment.
          assert.ok(navigations.some((u) => u.includes(`#error=${c.error.error}&`)), navigations.join('\n'))
          // The app prints JSON.stringify for anything that is not an Error: a plain
          // object with exactly these two keys, in this order.
          assert.equal(await text(page, 'error'), JSON.stringify(c.error))
          const evs = await events(page)
          assert.deepEqual(evs.map((e) => e.name), ['onAuthError'])
          assert.deepEqual(evs[0].args, [c.error])
          assert.equal(await text(page, 'status'), 'not authenticated')
          assert.equal(page.url(), stack.appUrl(impl), 'the callback parameters are removed from the URL')
          await page.context().close()
        })
      }
    })

    test("responseMode 'query': the callback comes in the query, login completes, the URL is cleaned", async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl, { checkLoginIframe: false, responseMode: 'query' })
      await settled(page)
      const navigations = recordNavigations(page)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      await logInThroughApp(page)
      const callback = navigations.find((u) => u.startsWith(stack.appUrl(impl) + '?'))
      assert.ok(callback, navigations.join('\n'))
      const query = new URL(callback).searchParams
      assert.deepEqual([...query.keys()], ['state', 'session_state', 'iss', 'code'])
      assert.ok(!callback.includes('#'), 'nothing in the fragment')
      assert.equal(page.url(), stack.appUrl(impl))
      assert.equal(await text(page, 'username'), 'alice')
      assert.equal(tokenRequests.length, 1)
      const body = new URLSearchParams(tokenRequests[0].postData)
      assert.deepEqual([...body.keys()], ['code', 'grant_type', 'client_id', 'redirect_uri', 'code_verifier'])
      assert.equal(body.get('code'), query.get('code'))
      assert.equal(body.get('redirect_uri'), stack.appUrl(impl))
      assert.deepEqual(await eventNames(page), ['onAuthSuccess', 'onReady'])
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('implicit flow: tokens from the fragment, no refresh token, isTokenExpired allowed, updateToken rejects', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl, { checkLoginIframe: false, flow: 'implicit' }, { clientId: 'implicit-app' })
      await settled(page)
      const navigations = recordNavigations(page)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      await logInThroughApp(page)
      const callback = navigations.find((u) => u.includes('#') && u.includes('access_token='))
      assert.ok(callback, navigations.join('\n'))
      assert.equal(page.url(), stack.appUrl(impl), 'the fragment is removed')
      assert.equal(await text(page, 'username'), 'alice')
      assert.equal(tokenRequests.length, 0, 'no code exchange in the implicit flow')
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const out = {
          flow: kc.flow,
          responseType: kc.responseType,
          token: typeof kc.token,
          idToken: typeof kc.idToken,
          refreshToken: kc.refreshToken === undefined ? 'undefined' : typeof kc.refreshToken,
          idTokenHasNonce: kc.idTokenParsed?.nonce !== undefined
        }
        try { out.expired = kc.isTokenExpired() } catch (e) { out.expired = `throws: ${e.message}` }
        try { out.expiredIn1000 = kc.isTokenExpired(1000) } catch (e) { out.expiredIn1000 = `throws: ${e.message}` }
        try { out.update = await kc.updateToken() } catch (e) { out.update = `rejects: ${e?.message}` }
        try { out.forced = await kc.updateToken(-1) } catch (e) { out.forced = `rejects: ${e?.message}` }
        return out
      })
      assert.deepEqual(r, {
        flow: 'implicit',
        responseType: 'id_token token',
        token: 'string',
        idToken: 'string',
        refreshToken: 'undefined',
        idTokenHasNonce: true,
        expired: false,
        expiredIn1000: true, // the implicit access token lives 900 s
        update: 'rejects: Unable to update token, no refresh token available.',
        forced: 'rejects: Unable to update token, no refresh token available.'
      })
      assert.equal(tokenRequests.length, 0)
      assert.deepEqual(await eventNames(page), ['onAuthSuccess', 'onReady'])
      assert.equal(await text(page, 'status'), 'authenticated')
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('hybrid flow: tokens from the fragment then the code exchange; onAuthSuccess once', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl, { checkLoginIframe: false, flow: 'hybrid' }, { clientId: 'implicit-app' })
      await settled(page)
      const navigations = recordNavigations(page)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      await logInThroughApp(page)
      const callback = navigations.find((u) => u.includes('access_token=') && u.includes('code='))
      assert.ok(callback, navigations.join('\n'))
      assert.equal(page.url(), stack.appUrl(impl))
      assert.equal(tokenRequests.length, 1, 'one code exchange')
      const body = new URLSearchParams(tokenRequests[0].postData)
      assert.equal(body.get('grant_type'), 'authorization_code')
      assert.ok(body.get('code_verifier'), 'the hybrid code is exchanged with the PKCE verifier')
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        return { responseType: kc.responseType, refresh: typeof kc.refreshToken, id: typeof kc.idToken, updated: await kc.updateToken(-1) }
      })
      assert.deepEqual(r, { responseType: 'code id_token token', refresh: 'string', id: 'string', updated: true })
      assert.deepEqual(await eventNames(page), ['onAuthSuccess', 'onReady', 'onAuthRefreshSuccess'])
      assert.equal(await text(page, 'username'), 'alice')
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('pkceMethod false with a client without PKCE: no challenge, no verifier, logged in', async () => {
      const page = await newPage(browser)
      await openApp(page, stack, impl, { checkLoginIframe: false, pkceMethod: false }, { clientId: 'nopkce-app' })
      await settled(page)
      const authRequests = recordRequests(page, /\/protocol\/openid-connect\/auth\?/)
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      await page.click('#login')
      await fillLogin(page)
      await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
      assert.equal(authRequests.length, 1)
      const auth = new URL(authRequests[0].url).searchParams
      assert.equal(auth.get('code_challenge'), null)
      assert.equal(auth.get('code_challenge_method'), null)
      assert.equal(tokenRequests.length, 1)
      assert.deepEqual([...new URLSearchParams(tokenRequests[0].postData).keys()], ['code', 'grant_type', 'client_id', 'redirect_uri'])
      assert.equal(await text(page, 'username'), 'alice')
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })
  })
}
