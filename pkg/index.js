// The package's entry (keycloak.js, keycloak.cjs, keycloak.global.js): the machine without
// keycloak-wasm's additions, inlined. An app that uses one of them (an init option of
// ours, keycloak-wasm/authz) gets them as a chunk of their own (pkg/facade.js), or imports
// keycloak-wasm/full (pkg/full.js) to load one module instead of two.
import wasm from './keycloak_wasm_bytes.js'
import { start } from './facade.js'

start(wasm)

export { default, NetworkError } from './facade.js'
