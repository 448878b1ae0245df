// The Admin API fixture (tests/support/admin.mjs) against the realm server: a fresh realm
// per test, created and deleted through the API, as fixtures written for Keycloak do.
// No browser needed.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ensureRealmBuilt, startRealm } from '../../scripts/serve/realm.mjs'
import { AdminError, adminClient, freshRealm } from '../support/admin.mjs'

const ADMIN = { username: 'fixture-admin', password: 'fixture pw' }
const APP = 'http://app.localhost:3000'
let realm, admin

before(async () => {
  await ensureRealmBuilt()
  realm = await startRealm({ env: { KC_BOOTSTRAP_ADMIN_USERNAME: ADMIN.username, KC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password } })
  admin = adminClient(realm.baseUrl, ADMIN)
})

after(async () => {
  await realm?.stop()
})

const discovery = (name) => fetch(`${realm.baseUrl}/realms/${encodeURIComponent(name)}/.well-known/openid-configuration`)

async function passwordGrant (name, username, password) {
  const res = await fetch(`${realm.baseUrl}/realms/${name}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'demo-app', username, password })
  })
  return { status: res.status, body: await res.json() }
}

const claims = (jwt, part = 1) => JSON.parse(Buffer.from(jwt.split('.')[part], 'base64url').toString())

describe('admin fixture', () => {
  test('freshRealm builds a demo-like realm through the API; delete() removes it', async () => {
    const r = await freshRealm(admin, { appOrigin: APP })
    const res = await discovery(r.name)
    assert.equal(res.status, 200)
    const d = await res.json()
    assert.equal(d.issuer, `${realm.baseUrl}/realms/${r.name}`)

    const client = await admin.findClient(r.name, 'demo-app')
    assert.equal(client.id, r.clientUuid)
    assert.deepEqual(client.redirectUris, [`${APP}/*`])
    assert.deepEqual(client.webOrigins, ['+'])
    assert.equal(client.attributes['post.logout.redirect.uris'], '+')
    assert.equal((await admin.findUser(r.name, 'alice')).id, r.users.alice)

    const alice = await passwordGrant(r.name, 'alice', 'alice')
    assert.equal(alice.status, 200)
    const at = claims(alice.body.access_token)
    assert.ok(at.realm_access.roles.includes('user'))
    assert.deepEqual(at.resource_access['demo-app'].roles, ['viewer'])
    const bob = claims((await passwordGrant(r.name, 'bob', 'bob')).body.access_token)
    assert.ok(!bob.realm_access.roles.includes('user'))

    await r.delete()
    assert.equal((await discovery(r.name)).status, 404)
    assert.deepEqual(await (await discovery(r.name)).json(), { error: 'Realm does not exist' })
    assert.equal(await admin.getRealm(r.name), null)
    await r.delete() // idempotent
  })

  test('settings, logout and key rotation through the fixture', async () => {
    const r = await freshRealm(admin, { appOrigin: APP, name: 'fixture-settings' })
    try {
      assert.equal(r.name, 'fixture-settings')
      await assert.rejects(freshRealm(admin, { appOrigin: APP, name: 'fixture-settings' }),
        (e) => e instanceof AdminError && e.status === 409 && /already exists/.test(e.message))

      await admin.updateRealm(r.name, { accessTokenLifespan: 90 })
      const t = await passwordGrant(r.name, 'alice', 'alice')
      const c = claims(t.body.access_token)
      assert.equal(c.exp - c.iat, 90)

      await admin.logoutUser(r.name, r.users.alice)
      const refresh = await fetch(`${realm.baseUrl}/realms/${r.name}/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'demo-app', refresh_token: t.body.refresh_token })
      })
      assert.equal(refresh.status, 400)
      assert.deepEqual(await refresh.json(), { error: 'invalid_grant', error_description: 'Session not active' })

      const oldKid = claims(t.body.access_token, 0).kid
      const { kid } = await admin.rotateKeys(r.name)
      assert.notEqual(kid, oldKid)
      const after = await passwordGrant(r.name, 'alice', 'alice')
      assert.equal(claims(after.body.access_token, 0).kid, kid)
      const certs = await (await fetch(`${realm.baseUrl}/realms/${r.name}/protocol/openid-connect/certs`)).json()
      assert.deepEqual(certs.keys.map((k) => k.kid), [kid, oldKid])

      await admin.updateClient(r.name, r.clientUuid, { redirectUris: ['http://elsewhere.localhost:4000/*'] })
      const auth = await fetch(`${realm.baseUrl}/realms/${r.name}/protocol/openid-connect/auth?` +
        new URLSearchParams({ client_id: 'demo-app', redirect_uri: `${APP}/`, response_type: 'code' }), { redirect: 'manual' })
      assert.equal(auth.status, 400)
    } finally {
      await r.delete()
    }
  })

  test('a service account uses its own realm\'s admin API as far as its realm-management roles allow', async () => {
    const r = await freshRealm(admin, { appOrigin: APP, name: 'fixture-service' })
    try {
      const backend = await admin.createClient(r.name, { clientId: 'backend', publicClient: false, secret: 'backend secret', serviceAccountsEnabled: true, standardFlowEnabled: false })
      const account = await admin.getServiceAccountUser(r.name, backend)
      assert.equal(account.username, 'service-account-backend')
      const realmManagement = await admin.findClient(r.name, 'realm-management')
      await admin.addClientRoleMapping(r.name, account.id, realmManagement.id, ['view-users'])

      const service = () => adminClient(realm.baseUrl, { realm: r.name, clientId: 'backend', clientSecret: 'backend secret' })
      const reader = service()
      const token = claims(await reader.accessToken())
      assert.equal(token.sid, undefined, 'client credentials: no session')
      assert.deepEqual(token.resource_access['realm-management'].roles.sort(), ['query-groups', 'query-users', 'view-users'])
      assert.equal((await reader.findUser(r.name, 'alice')).id, r.users.alice)
      const forbidden = (e) => e instanceof AdminError && e.status === 403 && e.body?.error === 'HTTP 403 Forbidden'
      await assert.rejects(reader.createUser(r.name, { username: 'eve' }), forbidden)
      await assert.rejects(reader.call('GET', '/demo/users'), forbidden, 'another realm')
      await assert.rejects(reader.createRealm({ realm: 'fixture-nope' }), forbidden, 'only master creates realms')

      // A role granted now shows in the next token (the reader's cached one still lacks it).
      await admin.addClientRoleMapping(r.name, account.id, realmManagement.id, ['manage-users'])
      await assert.rejects(reader.createUser(r.name, { username: 'eve' }), forbidden)
      const manager = service()
      const eve = await manager.createUser(r.name, { username: 'eve' })
      assert.equal((await manager.findUser(r.name, 'eve')).id, eve)
      await manager.deleteUser(r.name, eve)
      assert.equal(await manager.findUser(r.name, 'eve'), null)
    } finally {
      await r.delete()
    }
  })

  test('wrong admin credentials are rejected', async () => {
    const wrong = adminClient(realm.baseUrl, { username: 'admin', password: 'admin' })
    await assert.rejects(wrong.createRealm({ realm: 'nope' }), (e) => e instanceof AdminError && e.status === 401)
    const res = await fetch(`${realm.baseUrl}/admin/realms/demo`)
    assert.equal(res.status, 401)
  })
})
