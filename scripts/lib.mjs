// Small helpers shared by the project's scripts (no dependencies).
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Runs a command, inheriting stdio; throws with the command line on failure. */
export function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`)
  return r
}

/** Runs a command and returns its trimmed stdout, or null when it cannot run. */
export function capture (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: root, ...opts })
  if (r.error || r.status !== 0) return null
  return r.stdout.trim()
}

export function step (msg) {
  console.log(`\n▶ ${msg}`)
}
