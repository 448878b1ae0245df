// The www/examples pages a user copies, served as they are (the React and Capacitor
// examples are exercised by tests/package/bundlers.test.mjs and adapters.test.mjs).
import { test } from 'node:test'
import { newPage } from '../support/browser.mjs'
import { fillLogin } from '../support/api-helpers.mjs'
import { useStack } from '../support/use-stack.mjs'
import assert from 'node:assert/strict'

const { stack, browser } = useStack()

test('plain HTML with the classic script (window.Keycloak): check-sso, login, logout', async () => {
  const page = await newPage(browser)
  const origin = new URL(stack.appUrl('keycloak-wasm')).origin
  await page.goto(`${origin}/app.css`)
  await page.evaluate((c) => sessionStorage.setItem('demo.config', JSON.stringify(c)), { url: stack.realmUrl, realm: 'demo', clientId: 'demo-app' })
  await page.goto(`${origin}/examples/plain-html/index.html`)
  await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
  await page.click('#login')
  await fillLogin(page)
  await page.locator('#status', { hasText: 'authenticated as alice' }).waitFor()
  await page.click('#logout')
  await page.locator('#status', { hasText: 'not authenticated' }).waitFor()
  assert.deepEqual(page.errors, [])
  await page.context().close()
})
