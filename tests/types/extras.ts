// What keycloak-wasm adds to keycloak-js's API, type-checked against our declarations
// only (keycloak-js has none of it): the options we add, handleCallback(), a custom
// adapter written against KeycloakAdapter, and the keycloak-wasm/capacitor entry.
import Keycloak, { type KeycloakAdapter, type KeycloakLoginOptions } from 'keycloak-wasm'
import { capacitorAdapter, type CapacitorAdapterOptions } from 'keycloak-wasm/capacitor'
import KeycloakFull from 'keycloak-wasm/full'

const keycloak = new Keycloak({ url: 'https://auth.example.com', realm: 'demo', clientId: 'app' })

// A custom adapter that opens the login page itself and hands the callback back.
const openInPopup: KeycloakAdapter = {
  async login (options?: KeycloakLoginOptions) {
    const url = await keycloak.createLoginUrl({ ...options, redirectUri: 'https://app.example.com/cb' })
    const popup = window.open(url)
    const callback = await new Promise<string>((resolve) => window.addEventListener('message', (e) => resolve(String(e.data)), { once: true }))
    popup?.close()
    const authenticated: boolean = await keycloak.handleCallback(callback)
    void authenticated
  },
  async logout () { keycloak.clearToken() },
  async register () {},
  async accountManagement () {},
  redirectUri: (options) => options?.redirectUri ?? 'https://app.example.com/cb'
}

const capacitorOptions: CapacitorAdapterOptions = { redirectUri: 'com.example.app://callback' }
const capacitor: KeycloakAdapter = capacitorAdapter(keycloak, capacitorOptions)

async function main (): Promise<void> {
  await keycloak.init({ adapter: openInPopup, silentCheckSsoTimeout: 5000, requestTimeout: 10000, checkLoginIframe: false })
  await keycloak.init({ adapter: capacitor })
}
void main

// The options we add, and what dpop brings.
async function additions (keycloak: Keycloak): Promise<void> {
  await keycloak.init({ verifyTokens: true, autoRefresh: { minValidity: 20 }, syncTabs: true, persistSession: 'local', dpop: true, requestTimeout: 5000, silentCheckSsoTimeout: 3000 })
  await keycloak.init({ autoRefresh: true, persistSession: 'session' })
  const proof: string = await keycloak.createDpopProof('GET', new URL('https://api.example/items'), 'nonce')
  const response: Response = await keycloak.fetch('https://api.example/items', { method: 'POST', body: '{}' })
  void [proof, response.status]
}
void additions

// keycloak-wasm/full: the same class, with the additions inlined.
const full = new KeycloakFull({ url: 'https://auth.example.com', realm: 'demo', clientId: 'app' })
void full.init({ persistSession: 'local', dpop: true })
