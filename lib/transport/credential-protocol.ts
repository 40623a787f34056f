/**
 * git's credential protocol (git-credential(1)), the bytes only: what a helper is sent
 * (`key=value` lines) and what its answer means. No I/O.
 *
 * Hardening: a value holding a newline, carriage return or NUL is never written to a
 * helper (one could forge an attribute, e.g. a `host=` line of another host), and an
 * answer is dropped when it names a protocol, host or path other than the one asked
 * about, or holds such a character. Git 2.39 takes such an answer's protocol and host
 * as given; tsgit does not.
 */
import { TsgitError } from '../errors.js'

export interface Credential {
  protocol: string
  /** host[:port], as the URL wrote it. */
  host: string
  /** Only with credential.useHttpPath: the URL's path without its leading '/'. */
  path?: string
  username?: string
  password?: string
}

const FIELDS = ['protocol', 'host', 'path', 'username', 'password'] as const

export class CredentialError extends TsgitError {
  constructor(message: string) {
    super('E_CREDENTIAL', message, { retryable: false })
  }
}

/**
 * The request a helper reads on its standard input. Throws when a value would break out
 * of its line; `shown` is the URL (without password) the message names.
 */
export function encodeCredential(c: Credential, shown: string): string {
  let out = ''
  for (const key of FIELDS) {
    const value = c[key]
    if (value === undefined) continue
    if (value.includes('\n')) throw new CredentialError(`credential url cannot be parsed: ${shown}`)
    if (value.includes('\r')) throw new CredentialError(`credential value for ${key} contains carriage return`)
    if (value.includes('\0')) throw new CredentialError(`credential value for ${key} contains NUL`)
    out += `${key}=${value}\n`
  }
  return out
}

export interface HelperAnswer {
  username?: string
  password?: string
  /** The helper said quit: ask no one else. */
  quit: boolean
}

/**
 * What a helper's `get` answer adds to `asked`; undefined when the answer is to be
 * ignored (it is about another protocol, host or path, or a value is unsafe).
 */
export function parseHelperAnswer(text: string, asked: Credential): HelperAnswer | undefined {
  const out: HelperAnswer = { quit: false }
  for (const line of text.split('\n')) {
    if (line === '') break
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const key = line.slice(0, eq)
    const value = line.slice(eq + 1)
    if (value.includes('\r') || value.includes('\0')) return undefined
    switch (key) {
      case 'protocol':
      case 'host':
      case 'path':
        if (value !== (asked[key] ?? '')) return undefined
        break
      case 'username':
        out.username = value
        break
      case 'password':
        out.password = value
        break
      case 'quit':
        out.quit = /^(1|true|yes|on)$/i.test(value)
        break
    }
  }
  return out
}

/** protocol://[user@]host[/path], as git's prompts name a credential. */
export function describeCredential(c: Credential, withUser: boolean): string {
  const user = withUser && c.username !== undefined ? `${c.username}@` : ''
  return `${c.protocol}://${user}${c.host}${c.path !== undefined ? `/${c.path}` : ''}`
}
