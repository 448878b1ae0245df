// The demo app. It is written against keycloak-js's API: the bare specifier
// 'keycloak-wasm' is resolved by an import map the demo server injects, pointing at our
// package (/) or at keycloak-js (/keycloak-js/). Same code, either adapter.
import Keycloak from 'keycloak-wasm'

const $ = (id) => document.getElementById(id)
// The tests may point the app at another realm through sessionStorage.
const config = { ...window.__KC_CONFIG__, ...JSON.parse(sessionStorage.getItem('demo.config') ?? '{}') }
// `oidcProvider` (a discovery URL) selects the generic OIDC mode.
const keycloak = new Keycloak(config.oidcProvider
  ? { clientId: config.clientId, oidcProvider: config.oidcProvider }
  : { url: config.url, realm: config.realm, clientId: config.clientId })
window.keycloak = keycloak // for the end-to-end tests

$('impl').textContent = window.__KC_IMPL__
if (window.__KC_IMPL__ === 'keycloak-js') {
  $('switch').textContent = 'back to keycloak-wasm'
  $('switch').href = '/'
}

function logEvent (name, detail) {
  const li = document.createElement('li')
  li.textContent = `${new Date().toISOString().slice(11, 23)} ${name}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}`
  $('events').append(li)
}

for (const name of ['onReady', 'onAuthSuccess', 'onAuthError', 'onAuthRefreshSuccess', 'onAuthRefreshError', 'onAuthLogout', 'onTokenExpired', 'onActionUpdate']) {
  keycloak[name] = (...args) => {
    if (name === 'onReady') window.__kcReadyAt = Date.now() // read by the benchmark
    logEvent(name, args.length ? args : undefined)
    if (name !== 'onReady') render()
  }
}

let shown // the authenticated state the controls were last set for
function render () {
  const authenticated = !!keycloak.authenticated
  $('status').textContent = authenticated ? 'authenticated' : 'not authenticated'
  // Touch the controls only when the state changes: the 1 s re-render must not undo a
  // button someone enabled by hand (the tests do, to call updateToken while logged out).
  if (authenticated !== shown) {
    shown = authenticated
    $('login').disabled = authenticated
    $('refresh').disabled = !authenticated
    $('logout').disabled = !authenticated
    $('user-card').hidden = !authenticated
  }
  if (!authenticated) return
  // A generic OIDC provider may issue opaque access tokens: then only the ID token is parsed.
  const t = keycloak.tokenParsed ?? keycloak.idTokenParsed ?? {}
  $('username').textContent = t.preferred_username ?? ''
  $('subject').textContent = keycloak.subject ?? ''
  $('realm-roles').textContent = (keycloak.realmAccess?.roles ?? []).join(', ')
  $('client-roles').textContent = (keycloak.resourceAccess?.[config.clientId]?.roles ?? []).join(', ')
  $('token-expires').textContent = keycloak.tokenParsed ? String(Math.round(t.exp - Date.now() / 1000 + (keycloak.timeSkew ?? 0))) : 'unknown (opaque token)'
  $('token-parsed').textContent = keycloak.tokenParsed ? JSON.stringify(t, null, 2) : keycloak.token
}

function showError (e) {
  $('error').hidden = false
  $('error').textContent = e instanceof Error ? e.message : JSON.stringify(e)
}

$('login').addEventListener('click', () => keycloak.login().catch(showError))
$('logout').addEventListener('click', () => keycloak.logout().catch(showError))
$('refresh').addEventListener('click', async () => {
  try {
    $('refresh-result').textContent = String(await keycloak.updateToken(-1))
  } catch (e) {
    $('refresh-result').textContent = `error: ${e instanceof Error ? e.message : JSON.stringify(e)}`
  }
  render()
})

// Kept in sessionStorage rather than the URL: query parameters would end up in the
// redirect URI.
const loginRequired = sessionStorage.getItem('demo.onLoad') === 'login-required'
$('login-required').checked = loginRequired
$('login-required').addEventListener('change', (e) => {
  if (e.target.checked) sessionStorage.setItem('demo.onLoad', 'login-required')
  else sessionStorage.removeItem('demo.onLoad')
})

// The demo's init options: check-sso, silently through www/silent-check-sso.html when the
// browser allows it. The end-to-end tests replace them through sessionStorage.
const initOptions = JSON.parse(sessionStorage.getItem('demo.init') ?? 'null') ?? {
  onLoad: 'check-sso',
  silentCheckSsoRedirectUri: `${location.origin}/silent-check-sso.html`,
  pkceMethod: 'S256'
}
if (loginRequired) initOptions.onLoad = 'login-required'
try {
  await keycloak.init(initOptions)
  $('init-result').textContent = 'resolved'
} catch (e) {
  $('init-result').textContent = 'rejected'
  showError(e)
}
render()
setInterval(render, 1000)
