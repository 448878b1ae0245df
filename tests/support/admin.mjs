// A small Keycloak Admin REST client for end-to-end fixtures (Node 20, no dependencies).
// It speaks to the project's realm server and to a real Keycloak alike: admin token from
// master/admin-cli by the password grant, then the calls @keycloak/keycloak-admin-client
// makes (see shared/reference/keycloak-admin-subset.md).
//
//   import { adminClient, freshRealm } from '../support/admin.mjs'
//   const admin = adminClient(realm.baseUrl, { username: 'admin', password: 'admin' })
//   const r = await freshRealm(admin, { appOrigin: 'http://app.localhost:3000' })
//   // ... r.name, r.clientUuid, r.users.alice ...
//   await r.delete()

/** Thrown for any non-2xx answer; carries the status and Keycloak's error body. */
export class AdminError extends Error {
  constructor (method, path, status, body) {
    const detail = body && typeof body === 'object' ? (body.errorMessage ?? body.error ?? JSON.stringify(body)) : body
    super(`${method} ${path} -> ${status}${detail ? `: ${detail}` : ''}`)
    this.name = 'AdminError'
    this.status = status
    this.body = body
  }
}

const enc = encodeURIComponent

/**
 * With `clientSecret` the client authenticates as its own service account (the client
 * credentials grant, as a server-side integration does) instead of as a user: give `realm`
 * and `clientId` then; the token reaches that realm's admin API only, as far as the
 * account's `realm-management` roles allow.
 *
 * @param {string} baseUrl  server root, e.g. 'http://localhost:8080' (a trailing slash is fine)
 * @param {{ username?: string, password?: string, realm?: string, clientId?: string, clientSecret?: string }} [options]
 */
export function adminClient (baseUrl, { username = 'admin', password = 'admin', realm: authRealm = 'master', clientId = 'admin-cli', clientSecret } = {}) {
  const base = String(baseUrl).replace(/\/+$/, '')
  const tokenUrl = `${base}/realms/${enc(authRealm)}/protocol/openid-connect/token`
  let tokens = null // { access, refresh, expiresAt }

  async function tokenRequest (form) {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: clientId, ...form })
    })
    const body = await res.json().catch(() => null)
    if (!res.ok || !body?.access_token) throw new AdminError('POST', tokenUrl, res.status, body)
    tokens = {
      access: body.access_token,
      refresh: body.refresh_token ?? null,
      expiresAt: Date.now() + (Number(body.expires_in) || 60) * 1000
    }
    return tokens.access
  }

  /** A valid admin access token (refreshed when it has less than 5 s left, as the admin client does). */
  async function accessToken () {
    if (tokens && tokens.expiresAt - Date.now() > 5000) return tokens.access
    if (tokens?.refresh) {
      try {
        return await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh })
      } catch { /* session gone: log in again */ }
    }
    if (clientSecret !== undefined) return tokenRequest({ grant_type: 'client_credentials', client_secret: clientSecret })
    return tokenRequest({ grant_type: 'password', username, password })
  }

  /** One admin call; resolves to the Response, throws AdminError on non-2xx. */
  async function call (method, path, body) {
    const headers = { authorization: `Bearer ${await accessToken()}`, accept: 'application/json' }
    const init = { method, headers }
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    const res = await fetch(`${base}/admin/realms${path}`, init)
    if (!res.ok) {
      const text = await res.text()
      let parsed = text
      try { parsed = JSON.parse(text) } catch { /* keep text */ }
      throw new AdminError(method, `/admin/realms${path}`, res.status, parsed)
    }
    return res
  }

  const json = async (method, path, body) => (await call(method, path, body)).json()

  /** GET that answers null on 404 (the admin client's findOne). */
  async function findOne (path) {
    try {
      return await json('GET', path)
    } catch (e) {
      if (e instanceof AdminError && e.status === 404) return null
      throw e
    }
  }

  /** POST a representation; the created id is the Location header's last path segment. */
  async function create (path, rep) {
    const res = await call('POST', path, rep)
    const location = res.headers.get('location')
    if (!location || location.endsWith('/')) throw new AdminError('POST', `/admin/realms${path}`, res.status, `unusable Location ${location}`)
    return decodeURIComponent(location.slice(location.lastIndexOf('/') + 1))
  }

  const r = (realm) => `/${enc(realm)}`

  async function realmRoles (realm, names) {
    return Promise.all(names.map(async (n) => json('GET', `${r(realm)}/roles/${enc(n)}`)))
  }

  async function clientRoles (realm, clientUuid, names) {
    return Promise.all(names.map(async (n) => json('GET', `${r(realm)}/clients/${enc(clientUuid)}/roles/${enc(n)}`)))
  }

  return {
    baseUrl: base,
    accessToken,
    call,

    /** Creates a realm (enabled unless the representation says otherwise); returns its name. */
    createRealm: (rep) => create('', { enabled: true, ...rep }),
    getRealm: (realm) => findOne(r(realm)),
    /** DELETE as the admin client sends it: body `{}`, content-type JSON. */
    deleteRealm: async (realm) => { await call('DELETE', r(realm), {}) },
    /** GET, merge the changed keys, PUT back (attributes merge key by key). */
    updateRealm: async (realm, partial) => {
      const rep = await json('GET', r(realm))
      const merged = { ...rep, ...partial }
      if (partial.attributes) merged.attributes = { ...rep.attributes, ...partial.attributes }
      await call('PUT', r(realm), merged)
    },

    /** Creates a client; returns its internal id (UUID). */
    createClient: (realm, rep) => create(`${r(realm)}/clients`, { enabled: true, ...rep }),
    findClient: async (realm, clientId) => (await json('GET', `${r(realm)}/clients?clientId=${enc(clientId)}`))[0] ?? null,
    getClient: (realm, clientUuid) => findOne(`${r(realm)}/clients/${enc(clientUuid)}`),
    updateClient: async (realm, clientUuid, partial) => {
      const path = `${r(realm)}/clients/${enc(clientUuid)}`
      const rep = await json('GET', path)
      const merged = { ...rep, ...partial }
      if (partial.attributes) merged.attributes = { ...rep.attributes, ...partial.attributes }
      await call('PUT', path, merged)
    },
    deleteClient: async (realm, clientUuid) => { await call('DELETE', `${r(realm)}/clients/${enc(clientUuid)}`, {}) },
    /** The user behind a client's service account (the client needs serviceAccountsEnabled). */
    getServiceAccountUser: (realm, clientUuid) => json('GET', `${r(realm)}/clients/${enc(clientUuid)}/service-account-user`),

    /** Creates a user; returns its id. Keycloak ignores realmRoles/clientRoles here: use the mapping calls. */
    createUser: (realm, rep) => create(`${r(realm)}/users`, { enabled: true, ...rep }),
    findUser: async (realm, username) => (await json('GET', `${r(realm)}/users?username=${enc(username)}&exact=true`))[0] ?? null,
    deleteUser: async (realm, userId) => { await call('DELETE', `${r(realm)}/users/${enc(userId)}`, {}) },
    resetPassword: async (realm, userId, password) => {
      await call('PUT', `${r(realm)}/users/${enc(userId)}/reset-password`, { temporary: false, type: 'password', value: password })
    },
    /**
     * Ends all of the user's sessions on the server: their refreshes then fail with
     * invalid_grant. The browser keeps its KEYCLOAK_SESSION cookie, so the status iframe
     * still answers "unchanged".
     */
    logoutUser: async (realm, userId) => { await call('POST', `${r(realm)}/users/${enc(userId)}/logout`) },

    createRealmRole: (realm, name) => create(`${r(realm)}/roles`, { name, scopeParamRequired: false }),
    createClientRole: (realm, clientUuid, name) => create(`${r(realm)}/clients/${enc(clientUuid)}/roles`, { name }),
    /** Maps realm roles (by name) to a user. */
    addRealmRoleMapping: async (realm, userId, roleNames) => {
      await call('POST', `${r(realm)}/users/${enc(userId)}/role-mappings/realm`, await realmRoles(realm, roleNames))
    },
    /** Maps roles (by name) of the client with internal id `clientUuid` to a user. */
    addClientRoleMapping: async (realm, userId, clientUuid, roleNames) => {
      const roles = await clientRoles(realm, clientUuid, roleNames)
      await call('POST', `${r(realm)}/users/${enc(userId)}/role-mappings/clients/${enc(clientUuid)}`, roles)
    },

    /**
     * Rotates the realm's signing key the Keycloak way: adds an `rsa-generated` key
     * provider with a higher priority than every existing RS256 key. The old key stays
     * published in `certs`. Returns `{ componentId, kid }` of the new active key.
     */
    rotateKeys: async (realm) => {
      const keys = await json('GET', `${r(realm)}/keys`)
      const priorities = (keys.keys ?? []).filter((k) => k.algorithm === 'RS256').map((k) => Number(k.providerPriority) || 0)
      const priority = Math.max(100, ...priorities) + 1
      const { id: parentId } = await json('GET', r(realm))
      const componentId = await create(`${r(realm)}/components`, {
        name: `rsa-rotated-${priority}`,
        providerId: 'rsa-generated',
        providerType: 'org.keycloak.keys.KeyProvider',
        parentId,
        config: { priority: [String(priority)], keySize: ['2048'], algorithm: ['RS256'] }
      })
      const after = await json('GET', `${r(realm)}/keys`)
      return { componentId, kid: after.active?.RS256 }
    }
  }
}

/**
 * Creates a realm like the demo realm, entirely through the Admin API: public client
 * `demo-app` (standard flow, PKCE S256 required, redirect URIs `<appOrigin>/*`, web origins
 * `+`, post-logout redirect URIs `+`), realm role `user`, client role `viewer`, users
 * alice/alice (roles `user` and `demo-app/viewer`) and bob/bob.
 *
 * @param {ReturnType<typeof adminClient>} admin
 * @param {{ appOrigin: string | string[], name?: string, pkce?: 'S256' | 'plain' | null }} options
 * @returns {Promise<{ name: string, clientUuid: string, users: { alice: string, bob: string }, delete: () => Promise<void> }>}
 */
export async function freshRealm (admin, { appOrigin, name, pkce = 'S256' } = {}) {
  if (!appOrigin) throw new TypeError('freshRealm: appOrigin is required')
  const origins = (Array.isArray(appOrigin) ? appOrigin : [appOrigin]).map((o) => String(o).replace(/\/+$/, ''))
  const realm = await admin.createRealm({
    realm: name ?? `test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    enabled: true
  })
  let deleted = false
  const remove = async () => {
    if (deleted) return
    deleted = true
    try {
      await admin.deleteRealm(realm)
    } catch (e) {
      if (!(e instanceof AdminError && e.status === 404)) throw e
    }
  }
  try {
    const attributes = { 'post.logout.redirect.uris': '+' }
    if (pkce) attributes['pkce.code.challenge.method'] = pkce
    const clientUuid = await admin.createClient(realm, {
      clientId: 'demo-app',
      enabled: true,
      publicClient: true,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: true,
      redirectUris: origins.map((o) => `${o}/*`),
      webOrigins: ['+'],
      attributes
    })
    await admin.createRealmRole(realm, 'user')
    await admin.createClientRole(realm, clientUuid, 'viewer')
    const alice = await admin.createUser(realm, {
      username: 'alice', enabled: true, email: 'alice@example.com', emailVerified: true, firstName: 'Alice', lastName: 'Liddell'
    })
    const bob = await admin.createUser(realm, {
      username: 'bob', enabled: true, email: 'bob@example.com', emailVerified: true, firstName: 'Bob', lastName: 'Builder'
    })
    await admin.resetPassword(realm, alice, 'alice')
    await admin.resetPassword(realm, bob, 'bob')
    await admin.addRealmRoleMapping(realm, alice, ['user'])
    await admin.addClientRoleMapping(realm, alice, clientUuid, ['viewer'])
    return { name: realm, clientUuid, users: { alice, bob }, delete: remove }
  } catch (e) {
    await remove().catch(() => {})
    throw e
  }
}
