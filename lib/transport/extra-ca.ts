/**
 * NODE_EXTRA_CA_CERTS, read when the first https connection needs it rather than
 * while Node starts.
 *
 * Node 20 reads the file NODE_EXTRA_CA_CERTS names, and builds its whole store of
 * trusted certificates with it, before any JavaScript runs, whatever the program
 * will do: ~50 ms here, where it names the system's bundle (144 certificates), on
 * every tsgit command, local ones included. tsgit's launcher (bin/tsgit) moves the
 * variable aside into TSGIT_EXTRA_CA_CERTS before it starts Node; the CLI entry
 * hands it to `adoptDeferredExtraCa`, which puts NODE_EXTRA_CA_CERTS back for the
 * processes tsgit starts. An https connection then trusts what Node would have
 * trusted: its bundled roots plus the file's certificates, in one TLS context built
 * once per process (a context per connection would parse them all each time).
 * Certificates of the file that are already among Node's roots are dropped: they
 * add no trust and cost parsing.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type * as NodeTls from 'node:tls'
import type { TlsOptions } from './http-client.js'

/** The variable bin/tsgit moves NODE_EXTRA_CA_CERTS to. */
export const DEFERRED_CA_VARIABLE = 'TSGIT_EXTRA_CA_CERTS'

type SecureContext = NodeTls.SecureContext

let deferredFile: string | undefined
let built: { context: SecureContext | undefined } | undefined

/**
 * Takes the file the launcher set aside (if it did) and restores NODE_EXTRA_CA_CERTS
 * in `env` for child processes. Called once, by the CLI entry, before anything runs.
 */
export function adoptDeferredExtraCa(env: NodeJS.ProcessEnv): void {
  const file = env[DEFERRED_CA_VARIABLE]
  if (file === undefined) return
  delete env[DEFERRED_CA_VARIABLE]
  if (file === '') return
  env.NODE_EXTRA_CA_CERTS = file
  deferredFile = file
  built = undefined
}

/** The PEM certificates in `text`, each with its body's whitespace removed (for comparison). */
export function pemCertificates(text: string): { pem: string; body: string }[] {
  const out: { pem: string; body: string }[] = []
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push({ pem: m[0], body: (m[1] ?? '').replace(/\s+/g, '') })
  }
  return out
}

function build(file: string, warn: (message: string) => void): SecureContext | undefined {
  let text: string
  try {
    text = readFileSync(file, 'latin1')
  } catch (e) {
    warn(`ignoring extra certificates from NODE_EXTRA_CA_CERTS '${file}': ${(e as Error).message}`)
    return undefined
  }
  const extra = pemCertificates(text)
  if (extra.length === 0) {
    warn(`ignoring extra certificates from NODE_EXTRA_CA_CERTS '${file}': no PEM certificate in it`)
    return undefined
  }
  // node:tls is loaded here, on first use: ~5-10 ms that a command without https never pays.
  const { createSecureContext, rootCertificates } = createRequire(import.meta.url)('node:tls') as typeof NodeTls
  const known = new Set(rootCertificates.flatMap((pem) => pemCertificates(pem).map((c) => c.body)))
  const added = extra.filter((c) => !known.has(c.body)).map((c) => c.pem)
  try {
    return createSecureContext({ ca: [...rootCertificates, ...added] })
  } catch (e) {
    warn(`ignoring extra certificates from NODE_EXTRA_CA_CERTS '${file}': ${(e as Error).message}`)
    return undefined
  }
}

/**
 * The TLS context for an https connection that uses the default trust, when the
 * launcher deferred NODE_EXTRA_CA_CERTS; undefined when Node's own default applies
 * (nothing deferred, or the file could not be used: warned once, as Node warns).
 */
export function deferredTrust(warn: (message: string) => void): SecureContext | undefined {
  if (deferredFile === undefined) return undefined
  built ??= { context: build(deferredFile, warn) }
  return built.context
}

/** The options a TLS connection is opened with: `tls`, with the deferred trust when it applies. */
export function tlsConnectOptions(tls: TlsOptions): { rejectUnauthorized: boolean; ca?: Buffer; secureContext?: SecureContext } {
  const { rejectUnauthorized, ca } = tls
  if (ca !== undefined) return { rejectUnauthorized, ca }
  const secureContext = rejectUnauthorized ? deferredTrust(tls.warn ?? (() => undefined)) : undefined
  return secureContext === undefined ? { rejectUnauthorized } : { rejectUnauthorized, secureContext }
}
