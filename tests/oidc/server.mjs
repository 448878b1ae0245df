// A certified, standards-compliant OpenID Provider for the generic-OIDC tests: panva's
// oidc-provider, configured the way a real deployment of a non-Keycloak provider looks to
// a browser adapter: opaque (non-JWT) access and refresh tokens (refresh tokens rotate,
// as the provider does for public clients), PKCE for the public client, CORS for the
// app's origin only and without credentials, RP-initiated logout, and no
// check_session_iframe (the session-management feature stays off). In-memory storage.
//
// The login page is our own small interaction (oidc-provider's dev pages accept any
// password): users alice/alice and bob/bob, a wrong password shows the form again with
// `#error`. First-party client: no consent screen.
import http from 'node:http'
import Provider from 'oidc-provider'

export const USERS = { alice: { password: 'alice', name: 'Alice Liddell' }, bob: { password: 'bob', name: 'Bob Builder' } }

const listen = (server, port, host) => new Promise((resolve, reject) => {
  server.once('error', reject)
  server.listen(port, host, () => { server.off('error', reject); resolve(server.address().port) })
})

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function loginPage (uid, { login = '', error } = {}) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (test OpenID Provider)</title></head>
<body>
<h1>Sign in</h1>
${error ? `<p id="error">${escapeHtml(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label>Username <input name="login" value="${escapeHtml(login)}" autofocus></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Sign in</button>
</form>
</body></html>`
}

async function readForm (req) {
  let body = ''
  for await (const chunk of req) {
    body += chunk
    if (body.length > 10000) throw new Error('form too large')
  }
  return new URLSearchParams(body)
}

/**
 * Our interaction pages: GET /interaction/<uid> shows the form, POST
 * /interaction/<uid>/login checks the password and hands the account to the provider.
 * Returns false for any other path (the provider's own routes).
 */
async function interaction (provider, req, res) {
  const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url, 'http://x').pathname)
  if (!m) return false
  res.setHeader('Cache-Control', 'no-store')
  const html = (status, text) => res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' }).end(text)
  try {
    const details = await provider.interactionDetails(req, res)
    if (details.uid !== m[1]) { html(400, 'interaction mismatch'); return true }
    if (!m[2] && req.method === 'GET') {
      html(200, loginPage(details.uid, { login: details.params.login_hint ?? '' }))
      return true
    }
    if (m[2] && req.method === 'POST') {
      const form = await readForm(req)
      const login = form.get('login') ?? ''
      const user = Object.hasOwn(USERS, login) ? USERS[login] : undefined
      if (!user || user.password !== form.get('password')) {
        html(200, loginPage(details.uid, { login, error: 'Invalid username or password.' }))
        return true
      }
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false })
      return true
    }
    html(405, 'method not allowed')
  } catch (e) {
    html(400, `interaction failed: ${escapeHtml(e.message)}`)
  }
  return true
}

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
      if (!Object.hasOwn(USERS, sub)) return undefined
      return {
        accountId: sub,
        async claims () { return { sub, preferred_username: sub, name: USERS[sub].name, email: `${sub}@example.com` } }
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
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } }
  })
  const callback = provider.callback()
  const handler = (req, res) => {
    interaction(provider, req, res).then((handled) => { if (!handled) callback(req, res) }, () => {
      if (!res.headersSent) res.writeHead(500).end()
    })
  }
  for (const s of [v4, v6]) s.on('request', handler)
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
