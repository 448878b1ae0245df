// Orders a wasm module's functions so that the module deflates smaller; what they do stays
// the same (bench's wasm-replay test runs every recorded flow through the result).
//
// Two things decide the size: a call's function index is a LEB128 number, one byte below
// 128, so the functions called from most places come first; and deflate finds repeats only
// within its window, so each next function is the one that deflates best after the ones
// placed just before it (greedy, zlib -9 as the measure). On the adapter's modules this saves
// about 0.6 % of the deflated wasm (0.2-0.3 KB); it takes a few seconds.
//
// The module goes through binaryen's text form: its functions are named by index there
// (`$12`), and the text's order is the binary's.
import zlib from 'node:zlib'

const deflated = (bytes) => zlib.deflateRawSync(bytes, { level: 9 }).length

/** The code section's function bodies, by function index (the module has no imports). */
function bodies (wasm) {
  let p = 8
  const leb = () => {
    let r = 0
    let shift = 0
    let x
    do {
      x = wasm[p++]
      r |= (x & 127) << shift
      shift += 7
    } while (x & 128)
    return r >>> 0
  }
  while (p < wasm.length) {
    const id = wasm[p++]
    const end = leb() + p
    if (id === 10) {
      const list = []
      for (let n = leb(); n > 0; n--) {
        const size = leb()
        list.push(wasm.subarray(p, p + size))
        p += size
      }
      return list
    }
    p = end
  }
  return []
}

/** The module's top-level forms in binaryen's text (strings and comments skipped over). */
function forms (text) {
  const list = []
  let depth = 0
  let from = -1
  for (let i = text.indexOf('(module') + 7; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++
    } else if (c === ';' && text[i + 1] === ';') {
      i = text.indexOf('\n', i)
    } else if (c === '(') {
      if (depth++ === 0) from = i
    } else if (c === ')') {
      if (depth === 0) break
      if (--depth === 0) list.push(text.slice(from, i + 1))
    }
  }
  return list
}

/** Appends `set`'s functions to `order`, each the one that deflates best after the last 3 KB. */
function greedy (set, code, order, tail) {
  const left = new Set(set)
  const alone = new Map([...left].map((i) => [i, deflated(code[i])]))
  while (left.size) {
    let best = -1
    let score = -Infinity
    if (tail.length === 0) {
      for (const i of left) if (code[i].length > score) [best, score] = [i, code[i].length]
    } else {
      const before = deflated(tail)
      for (const i of left) {
        const s = (before + alone.get(i) - deflated(Buffer.concat([tail, code[i]]))) / code[i].length
        if (s > score) [best, score] = [i, s]
      }
    }
    order.push(best)
    left.delete(best)
    tail = Buffer.concat([tail, code[best]]).subarray(-3072)
  }
  return tail
}

/** The module `wasm` (bytes) with its functions reordered (bytes). */
export async function orderFunctions (wasm, features) {
  const { default: binaryen } = await import('binaryen')
  const code = bodies(wasm)
  const m = binaryen.readBinary(wasm)
  m.setFeatures(features)
  const all = forms(m.emitText())
  m.dispose()
  const funcs = new Map()
  const rest = []
  for (const f of all) {
    const name = /^\(func \$(\d+)[\s)]/.exec(f)
    if (name) funcs.set(Number(name[1]), f)
    else rest.push(f)
  }
  if (funcs.size !== code.length) throw new Error(`order-functions: ${funcs.size} functions in the text, ${code.length} bodies`)
  // How often each is named: by calls, and (counting as many) by exports and the table.
  const uses = new Map([...funcs.keys()].map((i) => [i, 0]))
  const count = (text, re, weight) => {
    for (const c of text.matchAll(re)) if (uses.has(Number(c[1]))) uses.set(Number(c[1]), uses.get(Number(c[1])) + weight)
  }
  for (const f of funcs.values()) count(f, /\((?:call|return_call|ref\.func) \$(\d+)/g, 1)
  for (const f of rest) count(f, /\$(\d+)/g, 100)
  const byUse = [...funcs.keys()].sort((a, b) => uses.get(b) - uses.get(a) || a - b)
  const order = []
  const tail = greedy(byUse.slice(0, 127), code, order, Buffer.alloc(0))
  greedy(byUse.slice(127), code, order, tail)
  const text = `(module\n${rest.join('\n')}\n${order.map((i) => funcs.get(i)).join('\n')}\n)\n`
  const out = binaryen.parseText(text)
  out.setFeatures(features)
  if (!out.validate()) throw new Error('order-functions: the reordered module does not validate')
  const bytes = out.emitBinary()
  out.dispose()
  return Buffer.from(bytes)
}
