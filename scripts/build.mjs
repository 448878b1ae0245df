// Builds the npm package in pkg/: the wasm state machine (size-tuned release profile, LTO,
// built as a cdylib on its own so cargo does not skip LTO), wasm-opt -Oz, and the wasm
// inlined as a base64 module so that the package loads with no bundler plugin or asset
// copying. Ends with the bytes a browser downloads (raw and gzip).
//
// It installs nothing: `npm run setup` (and `npm start` / `npm test`) do.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { capture, root, run, step } from './lib.mjs'

const pkg = path.join(root, 'pkg')
const out = path.join(root, 'target', 'pkg')
const esbuild = path.join(root, 'node_modules/.bin/esbuild')
// The features rustc emits for wasm32-unknown-unknown; wasm-opt must accept them.
export const WASM_FEATURES = ['--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-reference-types', '--enable-multivalue', '--enable-mutable-globals']
// wasm-opt's passes: -Oz, but a function with one caller is not inlined again, so that the
// machine's per-task steps (#[inline(never)] for rustc, src/machine/mod.rs) stay functions
// of their own. V8 compiles a wasm function on its first call: a page then compiles only
// the steps of the flows it runs. Measured in Chromium 156: inflating, compiling and the
// first three inputs of init() take 7.3 ms instead of 8.7; pkg/keycloak.js costs 0.36 KB
// more gzip (keycloak.full.js 0.23 KB), which engines that compile everything up front
// (Firefox) download for nothing.
// Then the code is flattened and its control flow rebuilt (rereloop), and -Oz runs again until
// nothing shrinks, and once more after that (--converge stops a little early): 0.9 KB less
// wasm, 0.5 KB less gzip, the first inputs no slower (measured in Chromium 156, 21 fresh
// pages each, three rounds: 3.0-3.6 ms against 3.2-4.0).
export const WASM_OPT = ['-Oz', '--one-caller-inline-max-function-size=1', '--flatten', '--rereloop', '-Oz', '--converge', '-Oz', ...WASM_FEATURES]
/** The wasm as rustc leaves it, and a copy of each build (names kept: bench/bytes.mjs reads them). */
export const RAW_WASM = path.join(root, 'target/wasm32-unknown-unknown/release/keycloak_wasm.wasm')
export const RAW_LITE = path.join(out, 'keycloak_wasm.raw.wasm')
export const RAW_FULL = path.join(out, 'keycloak_wasm_full.raw.wasm')
export const RAW_AUTHZ = path.join(out, 'keycloak_wasm_authz.raw.wasm')
/** The chunk with keycloak-wasm's additions (pkg/extras.js and their machine). */
export const EXTRAS_CHUNK = 'keycloak.extras.js'
/** keycloak-wasm/authz's own machine (src/authz.rs): a chunk pkg/authz.js loads when an instance is made. */
export const AUTHZ_CHUNK = 'keycloak.authz.js'
/** keycloak-wasm/authz's entry as shipped: pkg/authz.js and pkg/inflate.js, bundled and minified. */
export const AUTHZ_ENTRY = 'authz.min.js'


export const gzipSize = (buf) => gzipSync(buf, { level: 9 }).length

// Panic locations embed source paths; shortening them to crate-relative ones saves bytes
// and makes the wasm the same on every machine (home directory, toolchain location).
// Only the wasm target gets these flags (cargo applies RUSTFLAGS to --target artifacts).
function remapFlags () {
  const cargoHome = process.env.CARGO_HOME ?? path.join(os.homedir(), '.cargo')
  const sysroot = capture('rustc', ['--print', 'sysroot'])
  const prefixes = [
    [path.join(cargoHome, 'registry', 'src') + path.sep, ''],
    ...(sysroot ? [[path.join(sysroot, 'lib', 'rustlib', 'src', 'rust') + path.sep, '']] : []),
    [root + path.sep, '']
  ]
  return [process.env.RUSTFLAGS ?? '', ...prefixes.map(([from, to]) => `--remap-path-prefix=${from}=${to}`)].join(' ').trim()
}

// One module: rustc (the cdylib alone, so LTO is on), wasm-opt -Oz, then zopfli's deflate
// as base64 in a JavaScript module. `features`: cargo's (the default is the adapter with
// keycloak-wasm's additions, the feature `extras`); `what` names it in the module's comment.
// Returns the optimised wasm.
async function module ({ features, what, quiet, raw, wasmFile, bytesFile }) {
  run('cargo', ['rustc', '--lib', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'keycloak-wasm', ...features, '--crate-type', 'cdylib', ...(quiet ? ['-q'] : [])], { env: { ...process.env, RUSTFLAGS: remapFlags() } })
  // Both builds leave their wasm at one path: keep each (with its names, for npm run bench).
  copyFileSync(RAW_WASM, raw)
  const optimized = path.join(out, wasmFile)
  run(path.join(root, 'node_modules/.bin/wasm-opt'), [...WASM_OPT, '--strip-debug', '--strip-producers', '--strip-target-features', raw, '-o', optimized])
  // Loaded here, not at the top (binaryen is an npm package: see zopfli below).
  const { orderFunctions } = await import('./order-functions.mjs')
  const { default: binaryen } = await import('binaryen')
  const F = binaryen.Features
  const wasm = await orderFunctions(readFileSync(optimized), F.BulkMemory | F.BulkMemoryOpt | F.CallIndirectOverlong | F.NontrappingFPToInt | F.SignExt | F.ReferenceTypes | F.Multivalue | F.MutableGlobals)
  writeFileSync(optimized, wasm)
  copyFileSync(optimized, path.join(pkg, wasmFile))
  // base64 of the raw wasm defeats gzip (+30%); base64 of deflated wasm stays near the
  // deflated size, and the browser inflates it with DecompressionStream('deflate-raw').
  // Zopfli writes plain deflate 5.5% smaller than zlib -9 (35.9 vs 38.0 KB) in ~0.5 s.
  // Loaded here, not at the top: `npm test` on a fresh clone imports this file before
  // setup has installed the npm packages.
  const { deflateAsync } = await import('@gfx/zopfli')
  const packed = Buffer.from(await deflateAsync(wasm, { numiterations: 15 }))
  writeFileSync(path.join(pkg, bytesFile), `// Generated by scripts/build.mjs: ${what}, deflate-raw compressed (zopfli), base64.\nexport default '${packed.toString('base64')}'\n`)
  return wasm
}

export async function build ({ quiet = false } = {}) {
  mkdirSync(out, { recursive: true })
  step('Compiling the state machine to wasm (release, opt-level z, LTO, cdylib alone; without and with the additions; authz\'s own), wasm-opt -Oz')
  const wasm = await module({ features: ['--no-default-features'], what: "the adapter's wasm", quiet, raw: RAW_LITE, wasmFile: 'keycloak_wasm.wasm', bytesFile: 'keycloak_wasm_bytes.js' })
  await module({ features: [], what: "the adapter's wasm with its additions", quiet, raw: RAW_FULL, wasmFile: 'keycloak_wasm_full.wasm', bytesFile: 'keycloak_wasm_full_bytes.js' })
  // keycloak-wasm/authz's machine: the module is the chunk pkg/authz.js imports.
  await module({ features: ['--no-default-features', '--features', 'authz'], what: "keycloak-wasm/authz's machine (src/authz.rs)", quiet, raw: RAW_AUTHZ, wasmFile: 'keycloak_wasm_authz.wasm', bytesFile: AUTHZ_CHUNK })
  // The additions' chunk: their effects and the machine built with them, loaded by the
  // facade with import() only when init() needs them.
  run(esbuild, [path.join(pkg, 'extras.js'), '--bundle', '--minify', '--format=esm', '--log-level=warning', `--outfile=${path.join(pkg, EXTRAS_CHUNK)}`])
  // One module for the browser to fetch: the facade with the driver and the wasm bundled
  // in, minified. Its exports stay Keycloak and NetworkError. The ESM and classic builds
  // leave the chunk to import() at run time (a bundler makes it a chunk of the app);
  // CommonJS (Node, Jest) takes it in.
  const external = `--external:./${EXTRAS_CHUNK}`
  const bundle = (format, outfile, extra = [], entry = 'index.js') => run(esbuild, [path.join(pkg, entry), '--bundle', '--minify', `--format=${format}`, '--log-level=warning', ...extra, `--outfile=${path.join(pkg, outfile)}`])
  bundle('esm', 'keycloak.js', [external])
  // keycloak-wasm/full: the additions inlined, one module.
  bundle('esm', 'keycloak.full.js', [external], 'full.js')
  // CommonJS for require() (Jest's default): same module, nothing starts at load time.
  bundle('cjs', 'keycloak.cjs')
  // The classic-script build for <script src> pages: defines window.Keycloak (with
  // Keycloak.NetworkError), as keycloak-js did before 26. Its import() of the chunk
  // resolves against the script's own URL.
  bundle('iife', 'keycloak.global.js', [external, '--global-name=__keycloakWasm', '--footer:js=globalThis.Keycloak=__keycloakWasm.default;globalThis.Keycloak.NetworkError=__keycloakWasm.NetworkError;'])
  // keycloak-wasm/authz: its entry (with the inflate helper) minified, as the others are; its
  // machine stays the chunk it imports when an instance is made.
  bundle('esm', AUTHZ_ENTRY, [`--external:./${AUTHZ_CHUNK}`], 'authz.js')
  return report(wasm)
}

export function sizes () {
  const files = ['keycloak.js', 'keycloak.global.js', EXTRAS_CHUNK, 'keycloak.full.js']
  const rows = files.map((f) => {
    const buf = readFileSync(path.join(pkg, f))
    return { file: f, raw: buf.length, gzip: gzipSize(buf) }
  })
  return { rows }
}

function report (wasm) {
  const s = sizes()
  const kjs = capture(esbuild, [path.join(root, 'node_modules/keycloak-js/lib/keycloak.js'), '--bundle', '--minify', '--format=esm', '--log-level=error'], { maxBuffer: 1 << 26 })
  const line = (name, raw, gz) => console.log(`  ${name.padEnd(44)} ${String(raw).padStart(8)} B ${String(gz).padStart(8)} B gzip`)
  console.log('\nWhat a browser downloads for keycloak-wasm (pkg/):')
  const label = { 'keycloak.global.js': 'keycloak.global.js (or, for classic scripts)', [EXTRAS_CHUNK]: `${EXTRAS_CHUNK} (+, only for the additions)`, 'keycloak.full.js': 'keycloak.full.js (or, with the additions)' }
  for (const r of s.rows) line(label[r.file] ?? r.file, r.raw, r.gzip)
  line('  of which the wasm (deflated + base64 inside)', wasm.length, gzipSize(wasm))
  if (kjs) line('keycloak-js 26.2.4, same esbuild command', Buffer.byteLength(kjs), gzipSize(Buffer.from(kjs)))
  return s
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await build()
  } catch (e) {
    console.error(`build failed: ${e.message}`)
    process.exit(1)
  }
}
