// A user's component test mocks the adapter away: vi.mock replaces the module, so no wasm
// and no server are involved.
import { expect, test, vi } from 'vitest'
import Keycloak from 'keycloak-wasm'

vi.mock('keycloak-wasm', () => ({
  default: vi.fn(function () {
    this.authenticated = true
    this.tokenParsed = { preferred_username: 'alice' }
    this.init = vi.fn(async () => true)
    this.hasRealmRole = vi.fn((role) => role === 'user')
  })
}))

// What the app under test would do.
async function greet () {
  const kc = new Keycloak({ url: 'https://auth.example.com', realm: 'demo', clientId: 'app' })
  await kc.init({ onLoad: 'check-sso' })
  return kc.hasRealmRole('user') ? `hello ${kc.tokenParsed.preferred_username}` : 'hello stranger'
}

test('the mocked class drives the app', async () => {
  expect(await greet()).toBe('hello alice')
  expect(Keycloak).toHaveBeenCalledTimes(1)
})
