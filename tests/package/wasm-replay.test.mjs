// The shipped wasm (release build, LTO, wasm-opt -Oz, its own allocator) behaves exactly as
// the machine the native tests check: every input of every golden flow (tests/machine,
// recorded by `cargo test` in target/machine-replay/) goes through the wasm's exports, and
// each batch of effects must match byte for byte. Both modules: the one with keycloak-wasm's
// additions (pkg/keycloak_wasm_full.wasm) replays every flow, the one without
// (pkg/keycloak_wasm.wasm, the package's default) every flow that uses none of them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const dir = path.join(root, 'target/machine-replay')
const wasm = path.join(root, 'pkg/keycloak_wasm.wasm')
const full = path.join(root, 'pkg/keycloak_wasm_full.wasm')

// Whether a flow uses what only the machine with the additions has: an init option of
// ours, a call only they answer, or a Cordova adapter (its windows and tabs).
const ADDITIONS = ['verifyTokens', 'autoRefresh', 'syncTabs', 'persistSession', 'dpop']
const CORDOVA = ['win', 'tab', 'winclose']
function usesAdditions (lines) {
  return lines.some(({ input, effects }) => {
    if (JSON.parse(effects).some((e) => CORDOVA.includes(e[0]))) return true
    const a = JSON.parse(input)
    if (a[0] !== 'call') return false
    if (a[5] === 'createDpopProof') return true
    return a[5] === 'init' && ADDITIONS.some((k) => a[6]?.[k])
  })
}

function instance (module) {
  const x = new WebAssembly.Instance(module, {}).exports
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  return (text, rand) => {
    const max = text.length * 3
    const ptr = x.kw_input(max)
    const { written } = encoder.encodeInto(text, new Uint8Array(x.memory.buffer, ptr, max))
    if (rand) new Uint8Array(x.memory.buffer, x.kw_rand(), 128).set(rand)
    const len = x.kw_step(written, rand ? 1 : 0)
    const effects = decoder.decode(new Uint8Array(x.memory.buffer, x.kw_out(), len))
    const nums = [...new Float64Array(x.memory.buffer, x.kw_nums(), x.kw_numc())]
    return { effects, nums }
  }
}

for (const [name, file, all] of [['with the additions', full, true], ['without them (the default)', wasm, false]]) {
  test(`the shipped wasm ${name} replays every golden flow${all ? '' : ' that uses none'} byte for byte`, () => {
    assert.ok(existsSync(file), `${path.relative(root, file)} is built (npm run build)`)
    assert.ok(existsSync(dir), 'target/machine-replay exists: `cargo test --test machine` records it (npm test runs it first)')
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'))
    const module = new WebAssembly.Module(readFileSync(file))
    let inputs = 0
    let flows = 0
    let refused = 0
    for (const f of files) {
      const lines = readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
      const step = instance(module)
      if (!all && usesAdditions(lines)) {
        // The machine without them says so (and the facade starts over on the other one):
        // the `extras` effect, with the bound on loading that one (the init's
        // requestTimeout) and the error past it, then the call's settle with the message.
        const init = lines.map(({ input }) => JSON.parse(input)).find((a) => a[0] === 'call' && a[5] === 'init')
        const bound = init?.[6]?.requestTimeout > 0 ? init[6].requestTimeout : 30000
        const refusal = /\["extras",(\d+),"keycloak-wasm: the module with the additions \(keycloak\.extras\.js\) did not load within requestTimeout\."\],\["settle",\d+,false,\[9,\d+,"keycloak-wasm: this instance runs without its additions/
        const said = lines.map(({ input, rand }) => refusal.exec(step(input, rand).effects)).find(Boolean)
        assert.ok(said, `${f}: refused by the machine without the additions`)
        assert.equal(Number(said[1]), bound, `${f}: the chunk's bound is the init's requestTimeout`)
        refused++
        continue
      }
      flows++
      for (const { input, rand, effects, nums } of lines) {
        const got = step(input, rand)
        assert.equal(got.effects, effects, `${f}: effects of ${input.slice(0, 120)}`)
        assert.deepEqual(got.nums, nums, `${f}: numbers beside the effects`)
        inputs++
      }
    }
    assert.ok(flows >= 25, `${flows} recorded flows`)
    if (!all) assert.ok(refused >= 7, `${refused} flows refused`)
    assert.ok(inputs > 200, `${inputs} inputs replayed`)
  })
}

// keycloak-wasm/authz's own machine (src/authz.rs, pkg/keycloak_wasm_authz.wasm): the inputs
// of its native tests (tests/authz.rs, recorded in target/authz-replay/).
test('the shipped wasm of keycloak-wasm/authz replays its native tests byte for byte', () => {
  const file = path.join(root, 'pkg/keycloak_wasm_authz.wasm')
  const dir = path.join(root, 'target/authz-replay')
  assert.ok(existsSync(file), 'pkg/keycloak_wasm_authz.wasm is built (npm run build)')
  assert.ok(existsSync(dir), 'target/authz-replay exists: `cargo test --test authz` records it (npm test runs it first)')
  const module = new WebAssembly.Module(readFileSync(file))
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  let inputs = 0
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    const x = new WebAssembly.Instance(module, {}).exports
    for (const { input, effects } of readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))) {
      const bytes = encoder.encode(input)
      const ptr = x.kw_input(bytes.length) // (it may grow the memory: read the buffer after)
      new Uint8Array(x.memory.buffer, ptr, bytes.length).set(bytes)
      const len = x.kw_step(bytes.length)
      assert.equal(decoder.decode(new Uint8Array(x.memory.buffer, x.kw_out(), len)), effects, `${f}: effects of ${input.slice(0, 120)}`)
      inputs++
    }
  }
  assert.ok(inputs > 40, `${inputs} inputs replayed`)
})

test('a replay that differs is noticed', () => {
  const module = new WebAssembly.Module(readFileSync(wasm))
  const step = instance(module)
  const props = {}
  step(JSON.stringify(['new', 0, 'http://app/', props, { url: 'http://idp', realm: 'demo', clientId: 'c' }]))
  const first = step(JSON.stringify(['call', 0, 'http://app/', props, 1, 'init', { pkceMethod: 'plain' }]))
  const has = JSON.parse(first.effects).find((e) => e[0] === 'has')
  const { effects } = step(JSON.stringify(['ret', 0, 'http://app/', props, has[1], false, 0, null]))
  assert.match(effects, /\["settle",1,false,\[9,1,"Invalid value for pkceMethod', expected 'S256' or false but got plain\."\]\]/)
})
