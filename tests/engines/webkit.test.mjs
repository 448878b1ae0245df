// The cross-engine flows (flows.mjs) in WebKitGTK's MiniBrowser, through WebKitWebDriver.
import { engineSuite } from './flows.mjs'

engineSuite('webkit')
