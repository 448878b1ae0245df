// Unit-test friendliness: importing keycloak-wasm in Vitest with jsdom starts nothing
// (the wasm loads on the first `new Keycloak()`), and the class is usable as a value.
import { expect, test } from 'vitest'
import Keycloak, { NetworkError } from 'keycloak-wasm'

test('importing the package in jsdom does not crash or start the wasm', () => {
  expect(typeof window).toBe('object')
  expect(typeof Keycloak).toBe('function')
  expect(new NetworkError('x', { response: { status: 500 } }).response.status).toBe(500)
})

test('the constructor checks its argument synchronously, as keycloak-js does', () => {
  expect(() => new Keycloak()).toThrow("The 'Keycloak' constructor must be provided with a configuration object, or a URL to a JSON configuration file.")
  expect(() => new Keycloak({ url: 'https://auth.example.com', realm: 'r' })).toThrow("The configuration object is missing the required 'clientId' property.")
})
