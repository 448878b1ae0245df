// The cross-engine flows (flows.mjs) in WebKitGTK's MiniBrowser with its own defaults (ITP
// off, third-party cookies may not be set): what embedded WebKitGTK browsers do.
import { engineSuite } from './flows.mjs'

engineSuite('webkit-gtk')
