// Bytes a browser downloads for the adapter, keycloak-wasm vs keycloak-js (bundled and
// minified with the same esbuild command), raw / gzip -9 / brotli (max quality), and the
// wasm's own make-up: its sections and its biggest functions (names from rustc's
// unstripped output, sized after wasm-opt -Oz). Deterministic: no browser.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib'
import { WASM_OPT } from '../scripts/build.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => path.join(root, 'node_modules/.bin', name)
// The package's default module as rustc left it (scripts/build.mjs keeps a copy of each build).
const RAW_LITE = path.join(root, 'target/pkg/keycloak_wasm.raw.wasm')

export function sizeOf (buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: buf.length } }).length
  }
}

function esbuild (entry) {
  return Buffer.from(execFileSync(bin('esbuild'), [entry, '--bundle', '--minify', '--format=esm', '--log-level=error'], { maxBuffer: 1 << 26 }))
}

// An app's bundle with code splitting (as Vite, Rollup, webpack, Parcel and Angular's
// esbuild builder do): the entry chunk, without the chunks loaded by import().
function esbuildEntry (entry) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-split-'))
  try {
    execFileSync(bin('esbuild'), [entry, '--bundle', '--minify', '--format=esm', '--splitting', `--outdir=${dir}`, '--entry-names=entry', '--log-level=error'])
    return readFileSync(path.join(dir, 'entry.js'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// --- a small wasm reader: section sizes and, from the name section, function names ---
function leb (buf, pos) {
  let result = 0
  let shift = 0
  for (;;) {
    const b = buf[pos++]
    result += (b & 0x7f) * 2 ** shift
    shift += 7
    if (!(b & 0x80)) return [result, pos]
  }
}

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'data count']

export function wasmSections (buf) {
  const sections = []
  let pos = 8
  while (pos < buf.length) {
    const id = buf[pos++]
    let size
    ;[size, pos] = leb(buf, pos)
    let name = SECTION_NAMES[id] ?? `id ${id}`
    if (id === 0) {
      const [len, p] = leb(buf, pos)
      name = `custom "${buf.subarray(p, p + len).toString('utf8')}"`
    }
    sections.push({ id, name, start: pos, size })
    pos += size
  }
  return sections
}

function importedFunctionCount (buf, sections) {
  const s = sections.find((x) => x.id === 2)
  if (!s) return 0
  let [count, pos] = leb(buf, s.start)
  let functions = 0
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < 2; j++) { let len; [len, pos] = leb(buf, pos); pos += len }
    const kind = buf[pos++]
    if (kind === 0) { functions++; [, pos] = leb(buf, pos) } else if (kind === 1) { pos++; const [flags, p] = leb(buf, pos); pos = p; [, pos] = leb(buf, pos); if (flags & 1) [, pos] = leb(buf, pos) } else if (kind === 2) { const [flags, p] = leb(buf, pos); pos = p; [, pos] = leb(buf, pos); if (flags & 1) [, pos] = leb(buf, pos) } else if (kind === 3) { pos += 2 } else if (kind === 4) { pos++; [, pos] = leb(buf, pos) }
  }
  return functions
}

/** [{ name, size }] of every function body, biggest first (needs a name section). */
export function wasmFunctions (buf) {
  const sections = wasmSections(buf)
  const names = new Map()
  const nameSection = sections.find((s) => s.name === 'custom "name"')
  if (nameSection) {
    let [len, pos] = leb(buf, nameSection.start)
    pos += len
    const end = nameSection.start + nameSection.size
    while (pos < end) {
      const sub = buf[pos++]
      let size
      ;[size, pos] = leb(buf, pos)
      if (sub === 1) {
        let [count, p] = leb(buf, pos)
        for (let i = 0; i < count; i++) {
          let index, n
          ;[index, p] = leb(buf, p)
          ;[n, p] = leb(buf, p)
          names.set(index, buf.subarray(p, p + n).toString('utf8'))
          p += n
        }
      }
      pos += size
    }
  }
  const code = sections.find((s) => s.id === 10)
  const imported = importedFunctionCount(buf, sections)
  const out = []
  let [count, pos] = leb(buf, code.start)
  for (let i = 0; i < count; i++) {
    const [size, p] = leb(buf, pos)
    out.push({ name: names.get(imported + i) ?? `function ${imported + i}`, size: size + (p - pos) })
    pos = p + size
  }
  return out.sort((a, b) => b.size - a.size)
}

/** Rust's legacy symbol mangling (`_ZN13keycloak_wasm4core4json5parse17h…E`) as a path. */
export function demangle (name) {
  if (!name.startsWith('_ZN')) return name
  const parts = []
  let i = 3
  while (i < name.length && name[i] !== 'E') {
    const m = /^\d+/.exec(name.slice(i))
    if (!m) break
    i += m[0].length
    parts.push(name.slice(i, i + Number(m[0])))
    i += Number(m[0])
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? '')) parts.pop()
  return parts.join('::').replace(/\$LT\$/g, '<').replace(/\$GT\$/g, '>').replace(/\$u20\$/g, ' ').replace(/\$RF\$/g, '&').replace(/\.\./g, '::').replace(/\$C\$/g, ',')
}

// Groups a Rust symbol into where it comes from, for the "biggest contributors" view.
function origin (name) {
  if (/^kw_/.test(name)) return 'ours: wasm surface (exports)'
  if (/keycloak_wasm::machine/.test(name)) return 'ours: state machine'
  if (/keycloak_wasm::core::json/.test(name)) return 'ours: JSON reader and writer'
  if (/keycloak_wasm::core/.test(name)) return 'ours: core helpers'
  if (/core::fmt|panicking|panic|slice_error|str::count|<char as|Formatter|unwrap_failed|expect_failed/.test(name)) return 'Rust core: formatting and panics'
  if (/lol_alloc|alloc::|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_|RawVec|drop_in_place|from_utf8/.test(name)) return 'allocation, drops and collections'
  return 'other (core library)'
}

/** The named, optimised wasm (same passes as the build, names kept), or null. */
function namedWasm () {
  // The package's default module (without the additions), as rustc left it.
  const unstripped = RAW_LITE
  if (!existsSync(unstripped) || !existsSync(bin('wasm-opt'))) return null
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kw-bench-'))
  try {
    const out = path.join(dir, 'named.wasm')
    execFileSync(bin('wasm-opt'), [...WASM_OPT, '-g', unstripped, '-o', out])
    return readFileSync(out)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function measureBytes () {
  const pkg = (f) => readFileSync(path.join(root, 'pkg', f))
  const kjs = esbuild(path.join(root, 'node_modules/keycloak-js/lib/keycloak.js'))
  const wasm = pkg('keycloak_wasm.wasm')
  const entries = {
    'keycloak-wasm (pkg/keycloak.js: facade + driver + inlined wasm)': sizeOf(pkg('keycloak.js')),
    'keycloak-wasm, an app bundle of it (esbuild --splitting: the entry)': sizeOf(esbuildEntry(path.join(root, 'pkg/keycloak.js'))),
    'keycloak-wasm/global (classic script)': sizeOf(pkg('keycloak.global.js')),
    'the additions (keycloak.extras.js, on top, only when used)': sizeOf(pkg('keycloak.extras.js')),
    'keycloak-wasm/full (keycloak.full.js: the additions inlined, instead)': sizeOf(pkg('keycloak.full.js')),
    'keycloak-wasm/capacitor (adapter entry, on top)': sizeOf(pkg('capacitor.js')),
    // The entry and the helper it shares with the facade (a bundler dedupes it).
    'keycloak-wasm/authz (UMA entry, on top)': sizeOf(pkg('authz.min.js')),
    'keycloak-wasm/authz\'s machine (keycloak.authz.js, loaded when an instance is made)': sizeOf(pkg('keycloak.authz.js')),
    'the wasm alone (after wasm-opt -Oz)': sizeOf(wasm),
    'the wasm with the additions alone': sizeOf(pkg('keycloak_wasm_full.wasm')),
    'keycloak-js 26.2.4, esbuild --bundle --minify': sizeOf(kjs)
  }
  const sections = wasmSections(wasm).map((s) => ({ name: s.name, size: s.size }))
  const named = namedWasm()
  let functions = []
  let groups = []
  if (named) {
    functions = wasmFunctions(named).map((f) => ({ ...f, name: demangle(f.name) }))
    const byGroup = new Map()
    for (const f of functions) byGroup.set(origin(f.name), (byGroup.get(origin(f.name)) ?? 0) + f.size)
    groups = [...byGroup].map(([group, size]) => ({ group, size })).sort((a, b) => b.size - a.size)
  }
  const ours = entries['keycloak-wasm (pkg/keycloak.js: facade + driver + inlined wasm)']
  const theirs = entries['keycloak-js 26.2.4, esbuild --bundle --minify']
  return {
    entries,
    ratio: { raw: +(ours.raw / theirs.raw).toFixed(2), gzip: +(ours.gzip / theirs.gzip).toFixed(2), brotli: +(ours.brotli / theirs.brotli).toFixed(2) },
    wasm: { sections, codeByOrigin: groups, biggestFunctions: functions.slice(0, 15) }
  }
}

export function printBytes (b) {
  console.log('\nBytes a browser downloads (B)')
  console.log('  ' + 'file'.padEnd(66) + 'raw'.padStart(9) + 'gzip -9'.padStart(9) + 'brotli'.padStart(9))
  for (const [name, s] of Object.entries(b.entries)) console.log('  ' + name.padEnd(66) + String(s.raw).padStart(9) + String(s.gzip).padStart(9) + String(s.brotli).padStart(9))
  console.log(`  ratio keycloak-wasm / keycloak-js: raw ${b.ratio.raw}, gzip ${b.ratio.gzip}, brotli ${b.ratio.brotli}`)
  console.log('\nThe wasm by section (B): ' + b.wasm.sections.map((s) => `${s.name} ${s.size}`).join(', '))
  if (b.wasm.codeByOrigin.length) {
    console.log('Function bodies by origin (B, after wasm-opt -Oz):')
    for (const g of b.wasm.codeByOrigin) console.log(`  ${String(g.size).padStart(7)}  ${g.group}`)
    console.log('Biggest functions (B):')
    for (const f of b.wasm.biggestFunctions.slice(0, 10)) console.log(`  ${String(f.size).padStart(7)}  ${f.name.slice(0, 110)}`)
  }
}
