// `npm run bench`: keycloak-wasm against keycloak-js in the same run: bytes, time to
// onReady, requests, in-page costs and wasm start-up. Prints tables and writes them as
// JSON. A benchmark, not a test: it fails only with --check, and only on a budget.
//
//   npm run bench                      everything (several minutes), written to bench/out/results.json
//   npm run bench -- --bytes           bytes only (deterministic, seconds)
//   npm run bench -- --check           also compare with bench/budgets.json; exit 1 if over
//   npm run bench -- --runs 25         onReady runs per adapter and scenario (default 25 loopback, 7 throttled)
//   npm run bench -- --loopback-only   (or --throttled-only) one network profile
//   npm run bench -- --scenario reload   only the onReady scenarios whose name contains it
//   npm run bench -- --record          also keep this run as bench/record.json, the run the README quotes
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureBytes, printBytes } from './bytes.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const flag = (name) => argv.includes(name)
const arg = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt }

/** Budget violations (strings) of `results` against bench/budgets.json. */
export function overBudget (results, budgets = JSON.parse(readFileSync(path.join(here, 'budgets.json'), 'utf8'))) {
  const over = []
  for (const [entry, limits] of Object.entries(budgets.bytes ?? {})) {
    const got = results.bytes?.entries?.[entry]
    if (!got) { over.push(`bytes: no measurement for "${entry}"`); continue }
    for (const [k, max] of Object.entries(limits)) if (got[k] > max) over.push(`bytes: ${entry} ${k} ${got[k]} > budget ${max}`)
  }
  for (const row of results.onReady ?? []) {
    const max = budgets.onReadyRatio?.[`${row.scenario} (${row.profile ?? 'loopback'})`] ?? budgets.onReadyRatio?.[row.scenario]
    if (max !== undefined && row.ratio > max) over.push(`onReady: ${row.scenario} ratio ${row.ratio} > budget ${max}`)
  }
  return over
}

async function main () {
  const results = { date: new Date().toISOString(), bytes: measureBytes() }
  printBytes(results.bytes)
  if (!flag('--bytes')) {
    const { measureOnReady, printOnReady } = await import('./onready.mjs')
    const { measureMicro, printMicro } = await import('./micro.mjs')
    results.onReady = []
    for (const profile of flag('--throttled-only') ? ['throttled'] : flag('--loopback-only') ? ['loopback'] : ['loopback', 'throttled']) {
      const rows = await measureOnReady({ runs: Number(arg('--runs', profile === 'throttled' ? 7 : 25)), profile, only: arg('--scenario') })
      printOnReady(rows)
      results.onReady.push(...rows)
    }
    results.micro = await measureMicro()
    printMicro(results.micro)
  }
  const out = arg('--json', flag('--bytes') ? null : path.join(here, 'out', 'results.json'))
  if (out) {
    mkdirSync(path.dirname(out), { recursive: true })
    writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
  }
  if (flag('--record')) writeFileSync(path.join(here, 'record.json'), JSON.stringify(results, null, 2) + '\n')
  if (flag('--check')) {
    const over = overBudget(results)
    console.log(over.length ? `\nOver budget:\n  ${over.join('\n  ')}` : '\nWithin every budget (bench/budgets.json).')
    process.exit(over.length ? 1 : 0)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1) })
}
