// The shipped wasm (pkg/keycloak_wasm.wasm: release build, LTO, wasm-opt -Oz, its own
// allocator) behaves exactly as the machine the native tests check: every input of every
// golden flow (tests/machine, recorded by `cargo test` in target/machine-replay/) goes
// through the wasm's exports, and each batch of effects must match byte for byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const dir = path.join(root, 'target/machine-replay')
const wasm = path.join(root, 'pkg/keycloak_wasm.wasm')

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

test('the shipped wasm replays every golden flow byte for byte', () => {
  assert.ok(existsSync(wasm), 'pkg/keycloak_wasm.wasm is built (npm run build)')
  assert.ok(existsSync(dir), 'target/machine-replay exists: `cargo test --test machine` records it (npm test runs it first)')
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'))
  assert.ok(files.length >= 25, `${files.length} recorded flows`)
  const module = new WebAssembly.Module(readFileSync(wasm))
  let inputs = 0
  for (const file of files) {
    const step = instance(module)
    for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean)) {
      const { input, rand, effects, nums } = JSON.parse(line)
      const got = step(input, rand)
      assert.equal(got.effects, effects, `${file}: effects of ${input.slice(0, 120)}`)
      assert.deepEqual(got.nums, nums, `${file}: numbers beside the effects`)
      inputs++
    }
  }
  assert.ok(inputs > 200, `${inputs} inputs replayed`)
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
