// Constructor forms the demo app does not use (reference §1.2, §8), for both adapters:
// a URL string to a keycloak.json (served by a small CORS-enabled JSON server of our
// own), and a generic OIDC provider given as a discovery base URL or as metadata.
// A small page of our own (on harness.localhost, a registered redirect origin) builds
// the instance; each form logs in.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { TOKEN_ENDPOINT, fillLogin, openHarness, recordRequests, settled, startJsonServer, text } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

let json
const { stack, browser } = useStack({
  api: true,
  async setup ({ stack }) {
    json = await startJsonServer({
      '/keycloak.json': {
        realm: 'demo',
        'auth-server-url': `${stack.realmUrl}/`,
        'ssl-required': 'external',
        resource: 'demo-app',
        'public-client': true,
        'confidential-port': 0
      }
    })
  },
  teardown: () => json?.stop()
})

const harnessPage = () => newPage(browser)

/** From the harness, #login, the realm form, back on the harness authenticated. */
async function logIn (page, impl) {
  await page.click('#login')
  await fillLogin(page)
  await page.waitForURL((u) => u.hostname === 'harness.localhost')
  await page.locator('#status', { hasText: /^authenticated$/ }).waitFor()
  assert.equal(await text(page, 'username'), 'alice')
  assert.equal(page.url(), stack.harnessUrl(impl), 'callback parameters removed')
}

for (const impl of IMPLS) {
  describe(impl, () => {
    test('new Keycloak(<URL of a keycloak.json>) reads auth-server-url, realm, resource and logs in', async () => {
      const page = await harnessPage()
      const served = json.requests.length
      await openHarness(page, stack, impl, `${json.origin}/keycloak.json`)
      assert.equal(await settled(page), 'not authenticated')
      const fetched = json.requests.slice(served).filter((r) => r.method === 'GET')
      assert.equal(fetched.length, 1)
      assert.equal(fetched[0].url, '/keycloak.json')
      assert.equal(fetched[0].headers.accept, 'application/json')
      const props = await page.evaluate(() => {
        const kc = window.keycloak
        return { authServerUrl: kc.authServerUrl, realm: kc.realm, clientId: kc.clientId, token: kc.endpoints.token(), account: kc.createAccountUrl().split('?')[0] }
      })
      assert.deepEqual(props, {
        authServerUrl: `${stack.realmUrl}/`,
        realm: 'demo',
        clientId: 'demo-app',
        token: `${stack.realmUrl}/realms/demo/protocol/openid-connect/token`,
        account: `${stack.realmUrl}/realms/demo/account`
      })
      await logIn(page, impl)
      assert.equal(json.requests.slice(served).filter((r) => r.method === 'GET').length, 2, 'fetched again on the callback page load')
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test("a keycloak.json URL that answers 404 rejects init with 'Server responded with an invalid status.'", async () => {
      const page = await harnessPage()
      await openHarness(page, stack, impl, `${json.origin}/missing.json`)
      await page.locator('#init-result', { hasText: 'rejected' }).waitFor()
      assert.equal(await text(page, 'error'), 'Server responded with an invalid status.')
      await page.context().close()
    })

    test('new Keycloak({ clientId, oidcProvider: <discovery base URL> }) logs in through the discovered endpoints', async () => {
      const page = await harnessPage()
      const discovery = recordRequests(page, /\/\.well-known\/openid-configuration$/)
      const issuer = `${stack.realmUrl}/realms/demo`
      // One trailing slash is stripped before appending the well-known path.
      await openHarness(page, stack, impl, { clientId: 'demo-app', oidcProvider: `${issuer}/` })
      assert.equal(await settled(page), 'not authenticated')
      assert.deepEqual(discovery.map((r) => r.url), [`${issuer}/.well-known/openid-configuration`])
      const tokenRequests = recordRequests(page, TOKEN_ENDPOINT)
      await logIn(page, impl)
      assert.equal(tokenRequests.length, 1)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        const attempt = async (fn) => { try { return await fn() } catch (e) { return `throws: ${e?.message}` } }
        return {
          authServerUrl: kc.authServerUrl === undefined ? 'undefined' : kc.authServerUrl,
          realm: kc.realm === undefined ? 'undefined' : kc.realm,
          account: await attempt(() => kc.createAccountUrl()),
          profile: await attempt(() => kc.loadUserProfile()),
          register: await attempt(() => kc.createRegisterUrl()),
          userInfo: (await kc.loadUserInfo()).preferred_username,
          logout: kc.createLogoutUrl().split('?')[0],
          refreshed: await kc.updateToken(-1)
        }
      })
      assert.deepEqual(r, {
        authServerUrl: 'undefined',
        realm: 'undefined',
        account: 'throws: Unable to create account URL, make sure the adapter is not configured using a generic OIDC provider.',
        profile: 'throws: Unable to load user profile, make sure the adapter is not configured using a generic OIDC provider.',
        register: 'throws: Redirection to "Register user" page not supported in standard OIDC mode',
        userInfo: 'alice',
        logout: `${issuer}/protocol/openid-connect/logout`,
        refreshed: true
      })
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })

    test('new Keycloak({ clientId, oidcProvider: <metadata object> }) logs in without a discovery request', async () => {
      const page = await harnessPage()
      const discovery = recordRequests(page, /\/\.well-known\/openid-configuration$/)
      const oidc = `${stack.realmUrl}/realms/demo/protocol/openid-connect`
      await openHarness(page, stack, impl, {
        clientId: 'demo-app',
        oidcProvider: { authorization_endpoint: `${oidc}/auth`, token_endpoint: `${oidc}/token`, userinfo_endpoint: `${oidc}/userinfo`, end_session_endpoint: `${oidc}/logout` }
      })
      assert.equal(await settled(page), 'not authenticated')
      await logIn(page, impl)
      assert.equal(discovery.length, 0)
      const r = await page.evaluate(async () => {
        const kc = window.keycloak
        let iframe
        try { iframe = kc.endpoints.checkSessionIframe() } catch (e) { iframe = `throws: ${e.message}` }
        return { userInfo: (await kc.loadUserInfo()).email, iframe }
      })
      assert.deepEqual(r, { userInfo: 'alice@example.com', iframe: 'throws: Not supported by the OIDC server' })
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })
  })
}
