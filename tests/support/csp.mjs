// A strict Content-Security-Policy for the demo app's page (tests/e2e/csp.test.mjs and the
// cross-engine suite): no script but the page's own files and its inline scripts by hash,
// connections and frames only to the app and the realm. `wasm`: with 'wasm-unsafe-eval',
// which keycloak-wasm needs and keycloak-js does not.
import { createHash } from 'node:crypto'

/** Our error when the browser does not compile the wasm (pkg/inflate.js). */
export const COMPILE_ERROR = "keycloak-wasm: the browser did not run its WebAssembly module (with a Content-Security-Policy, script-src needs 'wasm-unsafe-eval'; the cause says more)."

/** The policy for the page `html` (a function for stack.setPolicy). */
export const strictPolicy = (realmUrl, wasm) => (html) => {
  const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)]
    .map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`)
  const realm = new URL(realmUrl).origin
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(' ')}${wasm ? " 'wasm-unsafe-eval'" : ''}`,
    "style-src 'self'",
    `connect-src 'self' ${realm}`,
    `frame-src 'self' ${realm}`,
    "img-src 'self'",
    "base-uri 'none'"
  ].join('; ')
}
