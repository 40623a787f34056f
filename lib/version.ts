import { readFileSync } from 'node:fs'

function readVersion(): string {
  // dist/lib/version.js → ../../package.json
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
}

export const VERSION: string = readVersion()
/** Sent as the protocol v2 `agent` capability. */
export const AGENT = `tsgit/${VERSION}`
