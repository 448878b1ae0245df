// The package's wasm modules ship inlined: deflated (zopfli) and base64, in a JavaScript
// module (scripts/build.mjs), so that the package loads with no bundler plugin, asset copy
// or server MIME type. Used by the facade (the adapter's machines) and keycloak-wasm/authz
// (its own machine).

function fromBase64 (text) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text)
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

// A browser that does not compile or instantiate the module (a Content-Security-Policy
// without 'wasm-unsafe-eval': Chromium and Firefox refuse the compile, WebKit the instance;
// no WebAssembly or DecompressionStream) gets one clear error, the browser's own as its cause.
const refused = (cause) => Error("keycloak-wasm: the browser did not run its WebAssembly module (with a Content-Security-Policy, script-src needs 'wasm-unsafe-eval'; the cause says more).", { cause })

/** The compiled module. Where the browser can, it compiles while it inflates. */
export function compile (base64) {
  return new Promise((resolve) => {
    const wasm = new Response(fromBase64(base64)).body.pipeThrough(new DecompressionStream('deflate-raw'))
    resolve(WebAssembly.compileStreaming
      ? WebAssembly.compileStreaming(new Response(wasm, { headers: { 'content-type': 'application/wasm' } }))
      : new Response(wasm).arrayBuffer().then((bytes) => WebAssembly.compile(bytes)))
  }).catch((cause) => {
    throw refused(cause)
  })
}

/** A new instance's exports (the module imports nothing). */
export function instantiate (module) {
  try {
    return new WebAssembly.Instance(module, {}).exports
  } catch (cause) {
    throw refused(cause)
  }
}
