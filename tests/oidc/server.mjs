// A certified, standards-compliant OpenID Provider for the generic-OIDC tests: panva's
// oidc-provider, configured the way a real deployment of a non-Keycloak provider looks to
// a browser adapter: opaque (non-JWT) access and refresh tokens, PKCE for the public
// client, CORS for the app's origin only and without credentials, RP-initiated logout,
// and no check_session_iframe. Users: alice (any password; the dev login page).
import http from 'node:http'
import Provider from 'oidc-provider'

const listen = (server, port, host) => new Promise((resolve, reject) => {
  server.once('error', reject)
  server.listen(port, host, () => { server.off('error', reject); resolve(server.address().port) })
})

/**
 * @param {{ appOrigin: string, host?: string }} options
 * @returns {Promise<{ issuer: string, clientId: string, stop: () => Promise<void> }>}
 */
export async function startOidcProvider ({ appOrigin, host = 'oidc.localhost' }) {
  // Bind first so the issuer can carry the port.
  const v4 = http.createServer()
  const port = await listen(v4, 0, '127.0.0.1')
  const v6 = http.createServer()
  await listen(v6, port, '::1').catch(() => null)
  const issuer = `http://${host}:${port}`
  const clientId = 'spa'
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`${appOrigin}/`, `${appOrigin}/keycloak-js/`],
      post_logout_redirect_uris: [`${appOrigin}/`, `${appOrigin}/keycloak-js/`]
    }],
    cookies: { keys: ['kw-test-cookie-key'] },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'] },
    async findAccount (ctx, sub) {
      return {
        accountId: sub,
        async claims () { return { sub, preferred_username: sub, name: `${sub} (test)`, email: `${sub}@example.com` } }
      }
    },
    // First-party client: no consent screen; refresh tokens without offline_access.
    async loadExistingGrant (ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
      grant.addOIDCScope('openid profile email')
      await grant.save()
      return grant
    },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    clientBasedCORS: (ctx, origin) => origin === appOrigin,
    ttl: { AccessToken: 300, IdToken: 300, RefreshToken: 3600, Interaction: 600, Grant: 3600, Session: 3600 },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } }
  })
  for (const s of [v4, v6]) s.on('request', provider.callback())
  const close = (s) => new Promise((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))
  return {
    issuer,
    clientId,
    async stop () {
      for (const s of [v4, v6]) s.closeAllConnections?.()
      await Promise.all([close(v4), close(v6)])
    }
  }
}
