// keycloak-wasm in a React app through @react-keycloak/web, unchanged: the wrapper was
// written for keycloak-js and takes our instance as its authClient. Built with Vite by
// tests/package/bundlers.test.mjs (plain createElement, so no JSX plugin is needed).
import { createElement as h } from 'react'
import { createRoot } from 'react-dom/client'
import { ReactKeycloakProvider, useKeycloak } from '@react-keycloak/web'
import Keycloak from 'keycloak-wasm'

// The tests point the example at their realm through sessionStorage.
const config = JSON.parse(sessionStorage.getItem('sample.config') ?? 'null') ??
  { url: 'http://localhost:8080', realm: 'demo', clientId: 'demo-app' }
const keycloak = new Keycloak(config)
window.keycloak = keycloak

function App () {
  const { keycloak, initialized } = useKeycloak()
  if (!initialized) return h('p', { id: 'status' }, 'loading')
  if (!keycloak.authenticated) {
    return h('div', null,
      h('p', { id: 'status' }, 'not authenticated'),
      h('button', { id: 'login', onClick: () => keycloak.login() }, 'Log in'))
  }
  return h('div', null,
    h('p', { id: 'status' }, `authenticated as ${keycloak.tokenParsed?.preferred_username}`),
    h('button', { id: 'logout', onClick: () => keycloak.logout() }, 'Log out'))
}

createRoot(document.getElementById('root')).render(
  h(ReactKeycloakProvider, { authClient: keycloak, initOptions: { onLoad: 'check-sso', checkLoginIframe: false, pkceMethod: 'S256' } }, h(App))
)
