/**
 * Turns git configuration into transport options, so every operation that talks
 * to a remote (clone, fetch, lazy fetch) reads http.* / credential.* / core.sshCommand
 * the same way. `http.<url>.*` and `credential.<url>.*` keys apply to the remote's URL
 * by git's URL matching (lib/repo/url-match.ts).
 */
import { TsgitError } from '../errors.js'
import type { ProgressSink } from '../events.js'
import { parseBool, type ConfigReader } from '../repo/config.js'
import { UrlConfig } from '../repo/url-match.js'
import { CredentialJar, CredentialSource, parseRemoteUrl, type TransportOptions } from '../transport/index.js'
import { VERSION } from '../version.js'

export interface TransportContext {
  env: NodeJS.ProcessEnv
  sink: ProgressSink
  signal?: AbortSignal
  /** What this command obtained already: pass the same jar to every call of one command, so helpers are asked once. */
  credentials?: CredentialJar
  /** The repository's top (its work tree, else its git directory): what a relative local URL means. */
  localBase?: string
}

/** The remote: its name when it has one (remote.<name>.uploadpack), and the URL contacted. */
export interface RemoteTarget {
  name?: string
  url: string
}

function stringOf(value: string | null | undefined, key: string): string | undefined {
  if (value === null) throw new TsgitError('E_CONFIG', `missing value for '${key}'`)
  return value
}

function envBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback
  try {
    return parseBool(value, 'environment')
  } catch {
    return fallback
  }
}

const PASSWORD_IN_URL = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@:?#]*:)[^/@?#]*@/

/** transfer.credentialsInUrl: allow (default), warn or die when the URL holds a password, with git's words. */
function checkCredentialsInUrl(config: ConfigReader, url: string, sink: ProgressSink): void {
  if (!PASSWORD_IN_URL.test(url)) return
  const mode = config.getString('transfer.credentialsInUrl') ?? 'allow'
  if (mode === 'allow') return
  const message = `URL '${url.replace(PASSWORD_IN_URL, '$1<redacted>@')}' uses plaintext credentials`
  if (mode === 'die') throw new TsgitError('E_CREDENTIALS_IN_URL', message)
  if (mode === 'warn') sink.warn(message)
}

/** What credential.* says for an http(s) URL, as a source of credentials; undefined for other URLs. */
function credentialSource(config: ConfigReader, url: string, ctx: TransportContext): CredentialSource | undefined {
  let remote
  try {
    remote = parseRemoteUrl(url)
  } catch {
    return undefined
  }
  if (remote.kind !== 'http' && remote.kind !== 'https') return undefined
  const cred = new UrlConfig(config.entries(), 'credential', url)
  const base = new URL(remote.baseUrl)
  const useHttpPath = parseBool(cred.get('useHttpPath') ?? 'false', 'credential.useHttpPath')
  const username = remote.username ?? stringOf(cred.get('username'), 'credential.username')
  const env = ctx.env
  const askPass = env.GIT_ASKPASS ?? config.getString('core.askPass') ?? env.SSH_ASKPASS
  return new CredentialSource(
    {
      asked: {
        protocol: remote.kind,
        host: base.host,
        ...(useHttpPath ? { path: decodeURIComponent(base.pathname).replace(/^\//, '') } : {}),
        ...(username !== undefined ? { username } : {}),
      },
      shown: remote.displayUrl,
      helpers: cred.list('helper'),
      ...(askPass !== undefined ? { askPass } : {}),
      terminalPromptDisabled: !envBool(env.GIT_TERMINAL_PROMPT, true),
      env,
      sink: ctx.sink,
    },
    ctx.credentials ?? new CredentialJar(),
    remote.password,
  )
}

export function transportOptionsFromConfig(config: ConfigReader, remote: RemoteTarget, ctx: TransportContext): TransportOptions {
  const { env, sink, signal } = ctx
  checkCredentialsInUrl(config, remote.url, sink)
  const http = new UrlConfig(config.entries(), 'http', remote.url)
  const sslVerify = http.get('sslVerify')
  const sshCommand = env.GIT_SSH_COMMAND ?? config.getString('core.sshCommand') ?? env.GIT_SSH
  const credentials = credentialSource(config, remote.url, ctx)
  const options: TransportOptions = {
    sslVerify: env.GIT_SSL_NO_VERIFY ? false : sslVerify === undefined ? true : parseBool(sslVerify, 'http.sslVerify'),
    sslCAInfo: env.GIT_SSL_CAINFO ?? stringOf(http.get('sslCAInfo'), 'http.sslCAInfo'),
    proxy: stringOf(http.get('proxy'), 'http.proxy'),
    extraHeaders: http.list('extraHeader'),
    userAgent: `git/2.39.0 (tsgit/${VERSION})`,
    sshCommand,
    uploadPack: remote.name !== undefined ? config.getString(`remote.${remote.name}.uploadpack`) : undefined,
    env,
    sink,
    signal,
  }
  if (credentials !== undefined) options.credentials = credentials
  if (ctx.localBase !== undefined) options.localBase = ctx.localBase
  return options
}
