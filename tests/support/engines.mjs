// Firefox and WebKit through W3C WebDriver (selenium-webdriver's client), for the
// cross-engine suite (tests/engines/). Playwright drives only its own browser builds, so
// these run Debian's: firefox-esr through geckodriver (headless), and WebKitGTK's
// MiniBrowser through WebKitWebDriver, on an Xvfb display started here and stopped with
// the session. Each engine keeps its own default cookie rules: no preference is set.
//
//   const browser = await launchEngine('firefox')   // or 'webkit'
//   await browser.get(url); await browser.evaluate(fn, arg); await browser.quit()
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Builder, By } from 'selenium-webdriver'

export const ENGINES = ['firefox', 'webkit']
export const TIMEOUT_MS = 15000
const START_TIMEOUT_MS = 30000

const FIREFOX = '/usr/bin/firefox-esr'
const GECKODRIVER = [path.join(os.homedir(), '.cargo/bin/geckodriver'), '/usr/local/bin/geckodriver', '/usr/bin/geckodriver'].find((f) => existsSync(f)) ?? 'geckodriver'
const WEBKITDRIVER = '/usr/bin/WebKitWebDriver'

/** WebKitGTK's MiniBrowser (Debian ships it under the multiarch library folder), or null. */
export function miniBrowser () {
  const candidates = [
    ...safeReaddir('/usr/lib').map((arch) => path.join('/usr/lib', arch, 'webkit2gtk-4.1', 'MiniBrowser')),
    '/usr/libexec/webkit2gtk-4.1/MiniBrowser'
  ]
  return candidates.find((f) => existsSync(f)) ?? null
}

function safeReaddir (dir) {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** What the engines need, as missing file paths (empty when all is there). */
export function missingForEngine (engine) {
  const needs = engine === 'firefox' ? [FIREFOX, GECKODRIVER] : [WEBKITDRIVER, miniBrowser() ?? 'MiniBrowser (webkit2gtk-driver)', '/usr/bin/Xvfb']
  return needs.filter((f) => !existsSync(f))
}

function freePort () {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Spawns a child process and returns a stop() that ends it (SIGTERM, then SIGKILL after 3 s). */
function child (cmd, args, opts) {
  const proc = spawn(cmd, args, opts)
  proc.on('error', () => {})
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }
  return { proc, exited, stop }
}

/** Xvfb on a display number it picks itself (-displayfd); resolves to { display, stop }. */
async function startXvfb () {
  const x = child('/usr/bin/Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] })
  let log = ''
  x.proc.stderr.on('data', (d) => { log = (log + d).slice(-4096) })
  const display = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start within ${START_TIMEOUT_MS / 1000} s:\n${log}`)), START_TIMEOUT_MS)
    x.proc.stdio[3].on('data', (d) => {
      out += d
      if (out.includes('\n')) { clearTimeout(timer); resolve(`:${out.trim()}`) }
    })
    x.exited.then(() => { clearTimeout(timer); reject(new Error(`Xvfb exited:\n${log}`)) })
  })
  return { display, stop: x.stop }
}

/** Starts the driver on a free port and waits until its /status says ready. */
async function startDriver (cmd, args, env) {
  const port = await freePort()
  const d = child(cmd, [...args(port)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } })
  let log = ''
  d.proc.stderr.on('data', (chunk) => { log = (log + chunk).slice(-8192) })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (d.proc.exitCode !== null) throw new Error(`${cmd} exited (${d.proc.exitCode}):\n${log}`)
    try {
      const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) })
      if (res.ok && (await res.json()).value?.ready) break
    } catch {}
    if (Date.now() > deadline) {
      await d.stop()
      throw new Error(`${cmd} was not ready within ${START_TIMEOUT_MS / 1000} s:\n${log}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { url, stop: d.stop, log: () => log }
}

function capabilities (engine, args) {
  // The realm server's --tls certificate is self-signed, made at start.
  if (engine === 'firefox') {
    return { browserName: 'firefox', acceptInsecureCerts: true, 'moz:firefoxOptions': { binary: FIREFOX, args: ['-headless'] } }
  }
  // These args replace MiniBrowser's defaults: --automation is required.
  return { browserName: 'MiniBrowser', acceptInsecureCerts: true, 'webkitgtk:browserOptions': { binary: miniBrowser(), args: ['--automation', ...args] } }
}

/**
 * A browser session of `engine` ('firefox' or 'webkit') with bounded page loads and
 * scripts (15 s). Returns the selenium WebDriver plus helpers; `quit()` also ends the
 * driver process and, for WebKit, the Xvfb display.
 */
export async function launchEngine (engine, { args = [] } = {}) {
  const stops = []
  const stopAll = async () => { for (const stop of stops.reverse()) await stop().catch(() => {}) }
  const onSignal = (sig) => { stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143)) }
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, onSignal)
  try {
    let driverServer
    if (engine === 'firefox') {
      driverServer = await startDriver(GECKODRIVER, (port) => ['--port', String(port)], {})
    } else {
      const xvfb = await startXvfb()
      stops.push(xvfb.stop)
      driverServer = await startDriver(WEBKITDRIVER, (port) => [`--port=${port}`], { DISPLAY: xvfb.display, NO_AT_BRIDGE: '1' })
    }
    stops.push(driverServer.stop)
    const driver = await new Builder().usingServer(driverServer.url).withCapabilities(capabilities(engine, args)).build()
    // Bounded: a driver that no longer answers is ended with its process right after.
    stops.push(() => Promise.race([driver.quit(), new Promise((resolve) => setTimeout(resolve, 10000).unref())]))
    await driver.manage().setTimeouts({ implicit: 0, pageLoad: TIMEOUT_MS, script: TIMEOUT_MS })
    const caps = await driver.getCapabilities()
    return wrap(driver, engine, `${engine === 'firefox' ? 'Firefox' : 'WebKitGTK'} ${caps.get('browserVersion')}`, async () => {
      for (const sig of ['SIGINT', 'SIGTERM']) process.off(sig, onSignal)
      await stopAll()
    }, driverServer.log)
  } catch (e) {
    for (const sig of ['SIGINT', 'SIGTERM']) process.off(sig, onSignal)
    await stopAll()
    throw e
  }
}

function wrap (driver, engine, version, quit, log) {
  const browser = {
    engine,
    version,
    driver,
    quit,
    /** The tail of the driver's (and the browser's) standard error. */
    log,
    /** Whether the session still answers (false once the browser or its page process died). */
    alive: () => Promise.race([driver.getWindowHandle().then(() => true, () => false), new Promise((resolve) => setTimeout(resolve, 5000, false).unref())]),
    get: (url) => driver.get(url),
    url: () => driver.getCurrentUrl(),
    /** Runs `fn(arg)` in the page (fn is self-contained and may return a promise). */
    evaluate (fn, arg) {
      return driver.executeAsyncScript(`const done = arguments[arguments.length - 1];
        Promise.resolve().then(() => (${fn})(arguments[0])).then((value) => done({ value }), (e) => done({ error: String(e && e.message || e) }))`, arg)
        .then((r) => { if (r.error !== undefined) throw new Error(`in the page: ${r.error}`); return r.value })
    },
    /** An element's textContent, '' if it is not there. */
    text: (id) => driver.executeScript('const e = document.getElementById(arguments[0]); return e ? e.textContent : ""', id),
    /** Waits (bounded) until `fn()` resolves truthy; returns that value. */
    async until (fn, message, timeout = TIMEOUT_MS) {
      const deadline = Date.now() + timeout
      for (;;) {
        let value
        try {
          value = await fn()
        } catch {}
        if (value) return value
        if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms: ${typeof message === 'function' ? await message() : message}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    /** Waits until the element's text matches `re`. */
    waitText (id, re, timeout = TIMEOUT_MS) {
      let last
      return browser.until(async () => re.test(last = await browser.text(id)), async () => `#${id} is ${JSON.stringify(last)}, expected ${re} (at ${await driver.getCurrentUrl().catch(() => '?')})`, timeout)
    },
    async fill (id, value) {
      const el = await driver.findElement(By.id(id))
      await el.clear()
      await el.sendKeys(value)
    },
    click: async (id) => (await driver.findElement(By.id(id))).click(),
    /** Deletes the cookies of `url`'s origin (WebDriver only reaches the current document's). */
    async clearCookies (url) {
      await driver.get(url)
      await driver.manage().deleteAllCookies()
    },
    cookies: () => driver.manage().getCookies()
  }
  return browser
}
