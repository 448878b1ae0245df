// keycloak-wasm/authz against keycloak-js/authz (the control), on the realm server's
// Authorization Services: the photoz-api resource server (resource `album`, scopes
// album:view and album:delete; alice may view, nobody may delete). Entitlement for all
// permissions and for one resource and scope, a denied request, a resource server's UMA
// challenge answered with authorize({ ticket }) and retried with the RPT, incremental
// authorization, and a realm error. Ours only: its machine (a wasm of its own) loads when an
// instance is made, and it works on an instance running the additions' module.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { newPage } from '../support/browser.mjs'
import { IMPLS } from '../support/fixture.mjs'
import { apiRealm, logInThroughApp, openApp, realmRequest, settled } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'

const photoz = JSON.parse(readFileSync(new URL('../realm-server/realms/photoz-authz.json', import.meta.url), 'utf8'))
const realmFor = (appOrigin, extra) => {
  const realm = apiRealm(appOrigin, extra)
  realm.clients.push(...photoz.clients)
  realm.roles ??= {}
  realm.roles.client = { ...realm.roles.client, ...photoz.roles.client }
  return realm
}
const { stack, browser } = useStack({ api: true, realmFor })
const ENTRY = { 'keycloak-wasm': '/pkg/authz.min.js', 'keycloak-js': '/vendor/keycloak-js/keycloak-authz.js' }

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'))
const granted = (rpt) => claims(rpt).authorization.permissions.map((p) => `${p.rsname ?? p.rsid}:${[...(p.scopes ?? [])].sort().join(',')}`).sort()

// The photoz API: an album view needs an RPT granting album:view; without one it answers
// 401 with a UMA ticket it got from the realm's protection API (with its own PAT).
let api
before(async () => {
  api = http.createServer(async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*')
    res.setHeader('Access-Control-Allow-Headers', 'authorization')
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate')
    if (req.method === 'OPTIONS') return res.end()
    const rpt = (req.headers.authorization ?? '').replace(/^Bearer /, '')
    const ok = rpt && claims(rpt).authorization?.permissions?.some((p) => p.rsname === 'album' && p.scopes?.includes('album:view'))
    if (ok) return res.end('{"albums":["holidays"]}')
    const realmUrl = `${stack.realmUrl}/realms/demo`
    const pat = JSON.parse((await realmRequest(`${realmUrl}/protocol/openid-connect/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=photoz-api&client_secret=photoz-api-secret' })).body).access_token
    const { ticket } = JSON.parse((await realmRequest(`${realmUrl}/authz/protection/permission`, { method: 'POST', headers: { authorization: `Bearer ${pat}`, 'content-type': 'application/json' }, body: JSON.stringify([{ resource_id: 'album', resource_scopes: ['album:view'] }]) })).body)
    res.statusCode = 401
    res.setHeader('WWW-Authenticate', `UMA realm="demo", as_uri="${realmUrl}", ticket="${ticket}"`)
    res.end()
  })
  await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve))
})
after(() => api?.close())

/** Logged in as alice with an authorization instance on window.authz. */
async function authzPage (impl) {
  const page = await newPage(browser)
  await openApp(page, stack, impl, { checkLoginIframe: false })
  assert.equal(await settled(page), 'not authenticated')
  await logInThroughApp(page)
  await page.evaluate(async (entry) => {
    const { default: KeycloakAuthorization } = await import(entry)
    window.authz = new KeycloakAuthorization(window.keycloak)
    // What the then-able called back with: { grant: rpt } | { deny: true } | { error: args }.
    window.ask = (p) => new Promise((resolve) => p.then((rpt) => resolve({ grant: rpt }), () => resolve({ deny: true }), (...args) => resolve({ error: args.map(String) })))
  }, ENTRY[impl])
  return page
}

for (const impl of IMPLS) {
  describe(`${impl === 'keycloak-wasm' ? 'keycloak-wasm/authz' : 'keycloak-js/authz'}`, () => {
    test('entitlement: all permissions of the resource server, then one resource and scope; a scope nobody has is denied', async () => {
      const page = await authzPage(impl)
      const all = await page.evaluate(() => window.ask(window.authz.entitlement('photoz-api')))
      assert.deepEqual(granted(all.grant), ['album:album:view'])
      assert.equal(await page.evaluate(() => window.authz.rpt), all.grant)
      // keycloak-js fills in `config` with the realm's UMA configuration once it loaded.
      assert.equal(await page.evaluate(() => window.authz.config?.token_endpoint), `${stack.realmUrl}/realms/demo/protocol/openid-connect/token`)
      const one = await page.evaluate(() => window.ask(window.authz.entitlement('photoz-api', { permissions: [{ id: 'album', scopes: ['album:view'] }] })))
      assert.deepEqual(granted(one.grant), ['album:album:view'])
      const denied = await page.evaluate(() => window.ask(window.authz.entitlement('photoz-api', { permissions: [{ id: 'album', scopes: ['album:delete'] }] })))
      assert.deepEqual(denied, { deny: true })
      await page.context().close()
    })

    test('a resource server\'s UMA challenge: authorize({ ticket }), then the request again with the RPT', async () => {
      const page = await authzPage(impl)
      const out = await page.evaluate(async (api) => {
        const first = await fetch(`${api}/albums`)
        const ticket = /ticket="([^"]+)"/.exec(first.headers.get('WWW-Authenticate') ?? '')?.[1]
        const r = await window.ask(window.authz.authorize({ ticket }))
        const again = await fetch(`${api}/albums`, { headers: { Authorization: `Bearer ${r.grant}` } })
        return { first: first.status, ticket: !!ticket, granted: !!r.grant, again: again.status, body: await again.text() }
      }, `http://127.0.0.1:${api.address().port}`)
      assert.deepEqual(out, { first: 401, ticket: true, granted: true, again: 200, body: '{"albums":["holidays"]}' })
      await page.context().close()
    })

    test('incremental authorization keeps what the previous RPT granted; authorize without a ticket calls nothing back', async () => {
      const page = await authzPage(impl)
      const first = await page.evaluate(() => window.ask(window.authz.entitlement('photoz-api', { permissions: [{ id: 'album', scopes: ['album:view'] }] })))
      assert.ok(first.grant)
      const sent = []
      page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/token')) sent.push(new URLSearchParams(r.postData())) })
      const next = await page.evaluate(() => window.ask(window.authz.entitlement('photoz-api')))
      assert.deepEqual(granted(next.grant), ['album:album:view'])
      assert.equal(sent[0].get('rpt'), first.grant, 'the previous RPT went along')
      const silent = await page.evaluate(() => Promise.race([window.ask(window.authz.authorize({})), new Promise((resolve) => setTimeout(() => resolve('nothing'), 1000))]))
      assert.equal(silent, 'nothing')
      await page.context().close()
    })

    test('the configuration does not load: onError with keycloak-js\'s error and its cause; a request JSON cannot carry fails alone', async () => {
      const page = await authzPage(impl)
      await page.route('**/.well-known/uma2-configuration', (route) => route.abort())
      const r = await page.evaluate(() => new Promise((resolve) => window.authz.entitlement('photoz-api').then(() => resolve('grant'), () => resolve('deny'), (e) => resolve([e?.constructor?.name, e?.message, e?.cause?.message]))))
      assert.deepEqual(r, ['Error', 'Could not obtain configuration from server.', 'Server did not respond.'])
      if (impl === 'keycloak-wasm') {
        // A difference: keycloak-js reads the fields it needs, ours carries the request to its
        // machine as JSON, so a cyclic one fails at once (TypeError), alone: the next works.
        await page.unroute('**/.well-known/uma2-configuration')
        const cyclic = await page.evaluate(() => new Promise((resolve) => {
          const request = { ticket: 't' }
          request.self = request
          window.authz.authorize(request).then(() => resolve('grant'), () => resolve('deny'), (e) => resolve(e?.constructor?.name))
        }))
        assert.equal(cyclic, 'TypeError')
        const all = await page.evaluate(() => window.ask(window.authz.entitlement('photoz-api')))
        assert.deepEqual(granted(all.grant), ['album:album:view'])
      }
      await page.context().close()
    })

    test('a realm error: onError (an unknown resource server)', async () => {
      const page = await authzPage(impl)
      const r = await page.evaluate(() => window.ask(window.authz.entitlement('no-such-api')))
      assert.deepEqual(r, { error: [] }, 'onError with no argument, as keycloak-js')
      await page.context().close()
    })
  })
}

// keycloak-js/authz has no module to load; ours has its own machine (src/authz.rs), a chunk
// it loads when an instance is made, so that the adapter's modules carry no UMA code.
describe('keycloak-wasm/authz only', () => {
  test('its machine loads when an instance is made, not at import; on an instance running the additions\' module', async () => {
    const page = await newPage(browser)
    await openApp(page, stack, 'keycloak-wasm', { checkLoginIframe: false, verifyTokens: true })
    assert.equal(await settled(page), 'not authenticated')
    await logInThroughApp(page)
    const loaded = () => page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => /keycloak\.(authz|extras)\.js$/.test(p)).sort())
    await page.evaluate(async (entry) => { window.KeycloakAuthorization = (await import(entry)).default }, ENTRY['keycloak-wasm'])
    assert.deepEqual(await loaded(), ['/pkg/keycloak.extras.js'], 'the additions\' module runs the instance; authz\'s machine is not loaded yet')
    const r = await page.evaluate(() => new Promise((resolve) => new window.KeycloakAuthorization(window.keycloak).entitlement('photoz-api').then((rpt) => resolve({ grant: rpt }), () => resolve({ deny: true }), (...args) => resolve({ error: args.map(String) }))))
    assert.deepEqual(granted(r.grant), ['album:album:view'])
    assert.deepEqual(await loaded(), ['/pkg/keycloak.authz.js', '/pkg/keycloak.extras.js'])
    await page.context().close()
  })

  test('its machine that does not arrive: a request fails after 30 s with a clear error, and the app goes on', async () => {
    const page = await newPage(browser)
    await openApp(page, stack, 'keycloak-wasm', { checkLoginIframe: false })
    assert.equal(await settled(page), 'not authenticated')
    // Held: the request for the chunk is never answered; the page's clock is ours to move.
    await page.route('**/keycloak.authz.js', () => {})
    await page.clock.install()
    await page.evaluate(async (entry) => {
      const KeycloakAuthorization = (await import(entry)).default
      window.outcome = new Promise((resolve) => new KeycloakAuthorization(window.keycloak).entitlement('photoz-api')
        .then(() => resolve('grant'), () => resolve('deny'), (e) => resolve(`${e?.constructor?.name}: ${e?.message}`)))
      window.early = 'pending'
      window.outcome.then(() => { window.early = 'settled' })
    }, ENTRY['keycloak-wasm'])
    await page.clock.runFor(29_000)
    assert.equal(await page.evaluate(() => window.early), 'pending', 'not before the bound')
    await page.clock.runFor(1_500)
    assert.equal(await page.evaluate(() => window.outcome), 'Error: keycloak-wasm/authz: its module (keycloak.authz.js) did not load within 30 s.')
    assert.equal(await page.evaluate(() => window.keycloak.authenticated), false)
    await page.context().close()
  })
})
