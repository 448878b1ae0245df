// The npm package as a user gets it: `npm pack ./pkg` into a fresh temp folder (outside
// this repository, so nothing resolves to the workspace's node_modules), optionally
// unpacked, and installed into a fresh app there. The install is offline: the package
// has no dependencies, so no registry is asked.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** `npm pack ./pkg` into a new temp folder: { dir, tarball, files (sorted paths), remove() }. */
export function pack (prefix = 'kw-pack-') {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  const out = execFileSync('npm', ['pack', path.join(root, 'pkg'), '--pack-destination', dir, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const [{ filename, files }] = JSON.parse(out)
  return {
    dir,
    tarball: path.join(dir, path.basename(filename)),
    files: files.map((f) => f.path).sort(),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** The tarball's files as npm stores them: `<dir>/package/...`. Returns that folder. */
export function unpack (packed) {
  execFileSync('tar', ['-xzf', packed.tarball, '-C', packed.dir])
  return path.join(packed.dir, 'package')
}

/**
 * A fresh app folder `<packed.dir>/<name>` (a package.json with `pkg` merged in), then
 * `npm install --offline` of `specs` (default: the tarball). Returns the app folder; a
 * failed install throws with npm's output in `stderr`.
 */
export function installApp (packed, { name = 'app', pkg = {}, specs = [packed.tarball] } = {}) {
  const app = path.join(packed.dir, name)
  mkdirSync(app)
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name, private: true, type: 'module', ...pkg }, null, 2))
  try {
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', ...specs], { cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    throw Object.assign(new Error(`npm install in ${app} failed:\n${e.stderr}`), { stderr: String(e.stderr) })
  }
  return app
}
