// `npm test`: installs what is missing (including Chromium), builds the package, and
// runs every suite: native Rust tests (core, the state machine's golden traces and
// explored schedules, the realm server), the package tests (the driver and the shipped
// wasm in Chromium and Node, bundlers, types, bytes), the end-to-end suites (Playwright) and
// the cross-engine suite (Firefox and WebKit through WebDriver).
// All suites run even when one fails; the exit code is non-zero if any failed, and the
// last line totals them as "N passed, N failed".
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { root, step } from './lib.mjs'
import { setup } from './setup.mjs'
import { build } from './build.mjs'

function runSuite (name, cmd, args, env = {}) {
  step(name)
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    const tee = (stream, out) => stream.on('data', (d) => { text += d; out.write(d) })
    tee(child.stdout, process.stdout)
    tee(child.stderr, process.stderr)
    child.on('close', (code, signal) => resolve({ name, ok: code === 0, code: code ?? signal, ...count(text) }))
    child.on('error', (e) => resolve({ name, ok: false, code: e.message, passed: 0, failed: 0 }))
  })
}

// Counts from cargo's "test result: ok. N passed; M failed" lines and from Node's test
// runner summary ("# pass N" / "ℹ pass N").
function count (text) {
  let passed = 0
  let failed = 0
  for (const m of text.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1])
    failed += Number(m[2])
  }
  for (const m of text.matchAll(/^(?:# |ℹ )pass (\d+)$/gm)) passed += Number(m[1])
  for (const m of text.matchAll(/^(?:# |ℹ )fail (\d+)$/gm)) failed += Number(m[1])
  return { passed, failed }
}

async function main () {
  const started = Date.now()
  setup({ browser: true })
  await build({ quiet: true })
  const results = []
  results.push(await runSuite('Native tests: core, state machine (golden traces, explored schedules), realm server (cargo test)', 'cargo', ['test', '--workspace', '-q']))
  results.push(await runSuite('Package tests: the driver and the shipped wasm, npm pack, no-bundler page, bundlers (Chromium), TypeScript, bytes', process.execPath, ['--test', '--test-timeout=300000', '--test-reporter=spec', 'tests/package/']))
  const e2e = path.join(root, 'tests/e2e/run.mjs')
  if (existsSync(e2e)) {
    results.push(await runSuite('End-to-end tests (Playwright + Chromium, realm server)', process.execPath, [e2e]))
  }
  results.push(await runSuite('Cross-engine tests: Firefox and WebKit (WebDriver), both packages', process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', '--test-reporter=spec', 'tests/engines/']))
  console.log('\nSummary')
  for (const r of results) {
    console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.passed} passed, ${r.failed} failed${r.ok ? '' : ` (exit ${r.code})`}`)
  }
  const passed = results.reduce((a, r) => a + r.passed, 0)
  const failed = results.reduce((a, r) => a + r.failed, 0) + results.filter((r) => !r.ok && r.failed === 0).length
  console.log(`  took ${Math.round((Date.now() - started) / 1000)} s`)
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(results.every((r) => r.ok) ? 0 : 1)
}

main().catch((e) => {
  console.error(`npm test failed: ${e.message}`)
  console.log('0 passed, 1 failed')
  process.exit(1)
})
