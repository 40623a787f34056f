import { readFileSync } from 'node:fs'
import { isNotFound } from './errors.js'

/**
 * The version in tsgit's package.json: two levels up from dist/lib/version.js, one
 * level up from the bundle dist/tsgit.cjs that the bin runs.
 */
function readVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    let text: string
    try {
      text = readFileSync(new URL(rel, import.meta.url), 'utf8')
    } catch (e) {
      if (isNotFound(e)) continue
      throw e
    }
    const pkg = JSON.parse(text) as { name?: unknown; version?: unknown }
    if (pkg.name === 'tsgit' && typeof pkg.version === 'string') return pkg.version
  }
  return '0.0.0'
}

export const VERSION: string = readVersion()
/** Sent as the protocol v2 `agent` capability. */
export const AGENT = `tsgit/${VERSION}`
