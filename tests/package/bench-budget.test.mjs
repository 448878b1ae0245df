// The byte budgets of bench/budgets.json (the only budgets the test suite checks: they
// are deterministic; times are measured by `npm run bench`, never asserted in tests).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { measureBytes } from '../../bench/bytes.mjs'
import { overBudget } from '../../bench/run.mjs'

test('the package stays within its byte budgets', () => {
  const bytes = measureBytes()
  assert.deepEqual(overBudget({ bytes }), [])
})

test('a budget check reports an entry that grew', () => {
  const bytes = measureBytes()
  const entry = 'the wasm alone (after wasm-opt -Oz)'
  const tight = { bytes: { [entry]: { gzip: bytes.entries[entry].gzip - 1 } } }
  assert.deepEqual(overBudget({ bytes }, tight), [`bytes: ${entry} gzip ${bytes.entries[entry].gzip} > budget ${bytes.entries[entry].gzip - 1}`])
})
