// Runs the end-to-end suites with Node's test runner, two files at a time (2 cores),
// after building the realm server. Exit code is the runner's.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureRealmBuilt } from '../../scripts/serve/realm.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
await ensureRealmBuilt()
const files = readdirSync(here).filter((f) => f.endsWith('.test.mjs')).map((f) => path.join(here, f))
// A test that hangs fails after 5 minutes (the longest takes about 75 s) instead of
// holding the whole run: a browser that stops answering leaves Playwright calls with no
// bound of their own (evaluate, newPage, close).
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...files], { stdio: 'inherit' })
process.exit(r.status ?? 1)
