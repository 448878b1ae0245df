// A sample SPA as a user writes it: import the package by name, no bundler plugin and no
// wasm configuration. Built by Vite and webpack 5 in tests/package/bundlers.test.mjs.
import Keycloak from 'keycloak-wasm'

// The test points the app at its realm through sessionStorage.
const config = JSON.parse(sessionStorage.getItem('sample.config'))
const keycloak = new Keycloak(config)
window.keycloak = keycloak

keycloak.init({ onLoad: 'check-sso', checkLoginIframe: false, pkceMethod: 'S256' }).then((authenticated) => {
  const user = keycloak.tokenParsed?.preferred_username
  document.getElementById('status').textContent = authenticated
    ? `authenticated as ${user}${keycloak.hasRealmRole('user') ? ' (role user)' : ''}`
    : 'not authenticated'
}, (e) => { document.getElementById('status').textContent = `error: ${e?.message ?? JSON.stringify(e)}` })

document.getElementById('login').addEventListener('click', () => keycloak.login())
