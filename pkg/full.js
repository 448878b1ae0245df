// keycloak-wasm/full: the machine with keycloak-wasm's additions (verifyTokens, autoRefresh,
// syncTabs, persistSession, dpop, keycloak-wasm/authz) and their effects, inlined: one
// module for an app that uses them, where the default entry would load its own machine
// and then the additions' chunk.
import { wasm, more } from './extras.js'
import { start } from './facade.js'

start(wasm, more)

export { default, NetworkError } from './facade.js'
