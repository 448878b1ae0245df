// keycloak-wasm in a Capacitor app: the login page opens in the system browser and the
// server redirects to the app's own URL scheme, which must be a Valid Redirect URI of the
// client (the WebView origin, e.g. capacitor://localhost, must be one of its Web Origins).
import Keycloak from 'keycloak-wasm'
import { capacitorAdapter } from 'keycloak-wasm/capacitor'

// The end-to-end suite points the example at its realm through sessionStorage.
const config = JSON.parse(sessionStorage.getItem('demo.config') ?? 'null') ??
  { url: 'http://localhost:8080', realm: 'demo', clientId: 'demo-app' }

const keycloak = new Keycloak(config)
window.keycloak = keycloak

const $ = (id) => document.getElementById(id)
const render = () => {
  $('status').textContent = keycloak.authenticated ? 'authenticated' : 'not authenticated'
  $('user').textContent = keycloak.tokenParsed?.preferred_username ?? ''
}
const fail = (e) => { $('error').hidden = false; $('error').textContent = e.message }
keycloak.onAuthSuccess = keycloak.onAuthLogout = render

await keycloak.init({
  adapter: capacitorAdapter(keycloak, { redirectUri: 'com.example.app://callback' }),
  checkLoginIframe: false, // no third-party iframe inside a WebView
  pkceMethod: 'S256'
})
render()

$('login').addEventListener('click', () => keycloak.login().then(render, fail))
$('logout').addEventListener('click', () => keycloak.logout().then(render, fail))
