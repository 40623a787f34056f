/**
 * Remote URL classification, following the rules in git-clone(1) "GIT URLS":
 * a `scheme://` URL goes by its scheme; otherwise a colon with no slash before
 * it makes an scp-like ssh address (`[user@]host:path`); anything else is a
 * local path, resolved against the working directory.
 */
import { resolve } from 'node:path'
import { TransportError } from '../errors.js'

export type RemoteUrl =
  | {
      kind: 'http' | 'https'
      /** The URL without userinfo, query or fragment, and without a trailing slash. */
      baseUrl: string
      username?: string
      password?: string
      displayUrl: string
    }
  | { kind: 'file'; path: string; displayUrl: string }
  | {
      kind: 'ssh'
      host: string
      user?: string
      port?: number
      /** The path as upload-pack should receive it (`~user/x` stays unexpanded). */
      path: string
      displayUrl: string
    }
  | {
      /** git:// (git daemon). */
      kind: 'git'
      host: string
      port?: number
      /** The path as the daemon receives it (`/~user/x` becomes `~user/x`, as git sends it). */
      path: string
      displayUrl: string
    }

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//
const HELPER_RE = /^([A-Za-z0-9][A-Za-z0-9+.-]*)::/

function unsupported(scheme: string): TransportError {
  return new TransportError(`Unable to find remote helper for '${scheme}'`, { retryable: false })
}

function badUrl(url: string, why: string): TransportError {
  return new TransportError(`invalid remote URL '${url}': ${why}`, { retryable: false })
}

function parsePort(url: string, s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined
  if (!/^[0-9]{1,5}$/.test(s)) throw badUrl(url, `bad port '${s}'`)
  const n = Number(s)
  if (n < 1 || n > 65535) throw badUrl(url, `bad port '${s}'`)
  return n
}

function checkHost(url: string, host: string): void {
  if (host === '') throw badUrl(url, 'no host')
  // A host starting with '-' would be read by ssh as an option (CVE-2017-1000117).
  if (host.startsWith('-')) throw new TransportError(`strange hostname '${host}' blocked`, { retryable: false })
}

function checkSshPath(path: string): void {
  if (path.startsWith('-')) throw new TransportError(`strange pathname '${path}' blocked`, { retryable: false })
}

function parseHttp(url: string, kind: 'http' | 'https'): RemoteUrl {
  let u: URL
  try {
    u = new URL(url)
  } catch (e) {
    throw badUrl(url, 'cannot parse URL')
  }
  if (u.hostname === '') throw badUrl(url, 'no host')
  const rawUser = u.username
  const username = rawUser === '' ? undefined : decodeURIComponent(rawUser)
  const password = u.password === '' ? undefined : decodeURIComponent(u.password)
  u.username = ''
  u.password = ''
  u.hash = ''
  u.search = ''
  const baseUrl = u.toString().replace(/\/+$/, '')
  const display = new URL(baseUrl)
  display.username = rawUser
  const out: RemoteUrl = { kind, baseUrl, displayUrl: display.toString().replace(/\/+$/, '') }
  if (username !== undefined) out.username = username
  if (password !== undefined) out.password = password
  return out
}

/** `[user@]host[:port]` and the path after it; `/~user/path` becomes `~user/path` as git does. */
function splitAuthority(url: string, rest: string): { user: string | undefined; host: string; portText: string | undefined; path: string } {
  const slash = rest.indexOf('/')
  if (slash < 0) throw badUrl(url, 'no path')
  const authority = rest.slice(0, slash)
  let path = rest.slice(slash)
  if (path.startsWith('/~')) path = path.slice(1)
  const at = authority.lastIndexOf('@')
  const user = at >= 0 ? authority.slice(0, at) : undefined
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority
  let host: string
  let portText: string | undefined
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(hostPort)
  if (bracket) {
    host = bracket[1] ?? ''
    portText = bracket[2]
  } else {
    const colon = hostPort.lastIndexOf(':')
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort
    portText = colon >= 0 ? hostPort.slice(colon + 1) : undefined
  }
  checkHost(url, host)
  return { user, host, portText, path }
}

/** `git://host[:port]/path`: what the daemon is asked for goes in one pkt-line, NUL-separated. */
function parseGitUrl(url: string, rest: string): RemoteUrl {
  const { user, host, portText, path } = splitAuthority(url, rest)
  if (user !== undefined) throw badUrl(url, 'git:// takes no user name')
  if (/[\0\n]/.test(path) || /[\0\n]/.test(host)) throw badUrl(url, 'NUL or newline in host or path')
  const port = parsePort(url, portText)
  const out: RemoteUrl = { kind: 'git', host, path, displayUrl: url }
  if (port !== undefined) out.port = port
  return out
}

/** `ssh://[user@]host[:port]/path`; `/~user/path` becomes `~user/path` as git does. */
function parseSshUrl(url: string, rest: string): RemoteUrl {
  const { user, host, portText, path } = splitAuthority(url, rest)
  if (user !== undefined && user.startsWith('-')) throw new TransportError(`strange username '${user}' blocked`, { retryable: false })
  checkSshPath(path)
  const port = parsePort(url, portText)
  const out: RemoteUrl = { kind: 'ssh', host, path, displayUrl: url }
  if (user !== undefined && user !== '') out.user = user
  if (port !== undefined) out.port = port
  return out
}

/** scp-like `[user@]host:path`, also `[user@host]:path` and `[host:port]:path`. */
function parseScpLike(url: string): RemoteUrl {
  let hostPart: string
  let path: string
  let portText: string | undefined
  if (url.startsWith('[')) {
    const close = url.indexOf(']:')
    if (close < 0) throw badUrl(url, 'unterminated [')
    hostPart = url.slice(1, close)
    path = url.slice(close + 2)
    // Inside brackets a trailing ":port" is allowed; an IPv6 address has several colons.
    const m = /^(.*?)(?::([0-9]+))?$/.exec(hostPart)
    if (m && m[2] !== undefined && (m[1] ?? '').split(':').length <= 1) {
      hostPart = m[1] ?? ''
      portText = m[2]
    }
  } else {
    const colon = url.indexOf(':')
    hostPart = url.slice(0, colon)
    path = url.slice(colon + 1)
  }
  const at = hostPart.lastIndexOf('@')
  const user = at >= 0 ? hostPart.slice(0, at) : undefined
  const host = at >= 0 ? hostPart.slice(at + 1) : hostPart
  checkHost(url, host)
  if (path === '') throw badUrl(url, 'no path')
  checkSshPath(path)
  const out: RemoteUrl = { kind: 'ssh', host, path, displayUrl: url }
  if (user !== undefined && user !== '') out.user = user
  const port = parsePort(url, portText)
  if (port !== undefined) out.port = port
  return out
}

/**
 * Classifies a remote URL. Local paths are resolved against `cwd`; whether the
 * directory is a repository is upload-pack's to decide (it accepts a work tree
 * with .git, a bare repository, and `<path>.git`).
 */
export function parseRemoteUrl(url: string, cwd: string = process.cwd()): RemoteUrl {
  if (url === '') throw badUrl(url, 'empty')
  const helper = HELPER_RE.exec(url)
  if (helper) throw unsupported(helper[1] ?? '')
  const scheme = SCHEME_RE.exec(url)
  if (scheme) {
    const name = (scheme[1] ?? '').toLowerCase()
    const rest = url.slice(scheme[0].length)
    switch (name) {
      case 'http':
      case 'https':
        return parseHttp(url, name)
      case 'file': {
        // git ignores the host part of file://host/path.
        const slash = rest.indexOf('/')
        if (slash < 0) throw badUrl(url, 'no path')
        return { kind: 'file', path: rest.slice(slash), displayUrl: url }
      }
      case 'ssh':
      case 'git+ssh':
      case 'ssh+git':
        return parseSshUrl(url, rest)
      case 'git':
        return parseGitUrl(url, rest)
      default:
        throw unsupported(name)
    }
  }
  const colon = url.indexOf(':')
  const slash = url.indexOf('/')
  if (colon >= 0 && (slash < 0 || colon < slash)) return parseScpLike(url)
  return { kind: 'file', path: resolve(cwd, url), displayUrl: url }
}
