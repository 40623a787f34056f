/**
 * Which `<section>.<url>.<name>` config entries apply to a URL, by the rules git-config(1)
 * gives for `http.<url>.*` (and gitcredentials(7) for `credential.<url>.*`): the scheme
 * must be the same; the host the same, where a `*` in a label of the key matches within
 * one label; the port the same once defaults are filled in; the key's path a prefix of the
 * URL's on a `/` boundary; the key's user name, if it has one, the URL's. A longer host,
 * then a longer path, then a user name matched, make a better match; `<section>.<name>`
 * with no URL is the weakest. Entries are taken in config order, and one is applied only
 * when its match is as good as the best already applied for the same name: a weaker entry
 * after a stronger one is skipped, as git does. Pure: no I/O.
 */
import type { ConfigEntry } from './config-parse.js'

export interface MatchUrl {
  /** Lower case. */
  scheme: string
  /** Percent-decoded; undefined when the URL names none. */
  user?: string
  /** Lower case; in a config key it may hold `*`. */
  host: string
  /** The scheme's default when none is written (80, 443); undefined when the scheme has none. */
  port?: number
  /** Starts with `/`; no query or fragment. */
  path: string
}

/** How well a key matched: compared field by field, in this order. */
export interface UrlMatch {
  /** Characters of the key's host, less its wildcards (0 for a key with no URL). */
  host: number
  /** Characters of the key's path that matched, without a trailing '/'. */
  path: number
  /** The key named the user name. */
  user: boolean
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ftp: 21, ftps: 990 }
const URL_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/

function decode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** Parses `scheme://[user[:password]@]host[:port][/path]`; undefined when it is not of that form. The password is dropped. */
export function parseMatchUrl(url: string): MatchUrl | undefined {
  const m = URL_RE.exec(url)
  if (m === null) return undefined
  const scheme = (m[1] as string).toLowerCase()
  let authority = m[2] as string
  const at = authority.lastIndexOf('@')
  let user: string | undefined
  if (at >= 0) {
    const userinfo = authority.slice(0, at)
    const colon = userinfo.indexOf(':')
    user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo)
    authority = authority.slice(at + 1)
  }
  let host = authority
  let portText: string | undefined
  const bracket = /^(\[[^\]]*\])(?::(.*))?$/.exec(authority)
  if (bracket !== null) {
    host = bracket[1] as string
    portText = bracket[2]
  } else {
    const colon = authority.lastIndexOf(':')
    if (colon >= 0) {
      host = authority.slice(0, colon)
      portText = authority.slice(colon + 1)
    }
  }
  if (host === '') return undefined
  let port: number | undefined = DEFAULT_PORTS[scheme]
  if (portText !== undefined && portText !== '') {
    if (!/^[0-9]{1,5}$/.test(portText)) return undefined
    port = Number(portText)
  }
  const path = (m[3] as string) === '' ? '/' : (m[3] as string)
  const out: MatchUrl = { scheme, host: host.toLowerCase(), path }
  if (port !== undefined) out.port = port
  if (user !== undefined) out.user = user
  return out
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.split('.')
  const h = host.split('.')
  if (p.length !== h.length) return false
  return p.every((label, i) => {
    if (!label.includes('*')) return label === h[i]
    const re = new RegExp(`^${label.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`)
    return re.test(h[i] as string)
  })
}

/** How `key` (a config key's URL) matches `url`, or undefined when it does not. */
export function matchUrl(key: MatchUrl, url: MatchUrl): UrlMatch | undefined {
  if (key.scheme !== url.scheme) return undefined
  if (!hostMatches(key.host, url.host)) return undefined
  if (key.port !== url.port) return undefined
  const keyPath = key.path.replace(/\/+$/, '')
  if (keyPath !== '' && url.path !== keyPath && !url.path.startsWith(`${keyPath}/`)) return undefined
  if (key.user !== undefined && key.user !== url.user) return undefined
  return { host: key.host.length - (key.host.match(/\*/g)?.length ?? 0), path: keyPath.length, user: key.user !== undefined }
}

/** Negative when `a` is the weaker match, positive when it is the better one, 0 when they are as good. */
export function compareMatches(a: UrlMatch, b: UrlMatch): number {
  if (a.host !== b.host) return a.host - b.host
  if (a.path !== b.path) return a.path - b.path
  return Number(a.user) - Number(b.user)
}

const NO_URL: UrlMatch = { host: 0, path: 0, user: false }

/** The values `section.<url>.*` and `section.*` give a URL, as git applies them. */
export class UrlConfig {
  private readonly applied: { name: string; value: string | null }[] = []

  constructor(entries: readonly ConfigEntry[], section: string, url: string) {
    const target = parseMatchUrl(url)
    const prefix = `${section.toLowerCase()}.`
    const best = new Map<string, UrlMatch>()
    for (const e of entries) {
      if (!e.key.startsWith(prefix)) continue
      const rest = e.key.slice(prefix.length)
      const dot = rest.lastIndexOf('.')
      const name = rest.slice(dot + 1)
      let match: UrlMatch | undefined = NO_URL
      if (dot >= 0) {
        const keyUrl = parseMatchUrl(rest.slice(0, dot))
        match = keyUrl !== undefined && target !== undefined ? matchUrl(keyUrl, target) : undefined
      }
      if (match === undefined) continue
      const seen = best.get(name)
      if (seen !== undefined && compareMatches(match, seen) < 0) continue
      best.set(name, match)
      this.applied.push({ name, value: e.value })
    }
  }

  /** The value applied last for `name` (null: written without '='). */
  get(name: string): string | null | undefined {
    const n = name.toLowerCase()
    for (let i = this.applied.length - 1; i >= 0; i--) if (this.applied[i]?.name === n) return this.applied[i]?.value
    return undefined
  }

  /** Every value applied for `name`, in order; for a list, an empty value clears what came before it. */
  list(name: string): string[] {
    const n = name.toLowerCase()
    const out: string[] = []
    for (const a of this.applied) {
      if (a.name !== n) continue
      if (a.value === null || a.value === '') out.length = 0
      else out.push(a.value)
    }
    return out
  }
}
