/**
 * `git ls-remote`: a remote's refs over protocol v2 ls-refs (the session code fetch
 * and clone use), printed as git 2.39 prints them. Runs inside a repository (its
 * remotes and config) or outside one (a URL or path).
 */
import { RepositoryError, TsgitError } from '../errors.js'
import { loadConfig } from '../repo/config-load.js'
import type { ConfigReader } from '../repo/config.js'
import { globRegExp } from '../repo/ref-glob.js'
import { Repository } from '../repo/repository.js'
import { openSessionAndListRefs } from './remote-session.js'
import type { OpContext } from './repo-context.js'
import { transportOptionsFromConfig } from './transport-options.js'

export interface LsRemoteOptions {
  /** A remote's name, a URL or a path; undefined: the current branch's remote, else origin. */
  remote?: string
  patterns: readonly string[]
  heads?: boolean
  tags?: boolean
  /** --refs: no HEAD, no peeled `^{}` lines. */
  refs?: boolean
  symref?: boolean
  /** --get-url: print the URL and list nothing. */
  getUrl?: boolean
}

export interface LsRemoteResult {
  /** The lines for stdout. */
  output: string
  /** Set when the remote was not named (git then says `From <url>` on stderr). */
  from?: string
  /** Whether a ref was listed (--exit-code's 2 when none). */
  matched: boolean
}

/** git's tail match: the pattern matches the whole name, or its end after a `/`. */
export function tailMatch(name: string, pattern: string): boolean {
  return globRegExp(pattern).test(name) || globRegExp(`*/${pattern}`).test(name)
}

/** The URL for messages: never its credentials (git 2.39's `From` line shows them; tsgit does not). */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url)
    if (u.username === '' && u.password === '') return url
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return url
  }
}

export async function lsRemote(ctx: OpContext, options: LsRemoteOptions): Promise<LsRemoteResult> {
  let repo: Repository | undefined
  try {
    repo = await Repository.open(ctx.cwd, { env: ctx.env, cliConfig: ctx.configOverrides ?? [] })
  } catch (e) {
    // outside a repository ls-remote still lists a URL or a path
    if (!(e instanceof RepositoryError && e.message.startsWith('not a git repository'))) throw e
  }
  const config: ConfigReader = repo?.config ?? (await loadConfig({ env: ctx.env, cliConfig: ctx.configOverrides ?? [] }))
  const base = repo?.workTree ?? repo?.gitDir ?? ctx.cwd
  let name = options.remote
  if (name === undefined) {
    const head = await repo?.refs.readSymref('HEAD')
    const branch = head?.startsWith('refs/heads/') === true ? head.slice('refs/heads/'.length) : undefined
    name = (branch !== undefined ? config.getString(`branch.${branch}.remote`) : undefined) ?? 'origin'
    if (config.getString(`remote.${name}.url`) === undefined) throw new TsgitError('E_NO_REMOTE', 'No remote configured to list refs from.')
  }
  const configured = config.getString(`remote.${name}.url`)
  const url = configured ?? name
  if (options.getUrl === true) return { output: `${url}\n`, matched: true }
  const prefixes = [...(options.heads === true ? ['refs/heads/'] : []), ...(options.tags === true ? ['refs/tags/'] : [])]
  // a relative path means the repository's top (outside one, the current directory), as for fetch
  const transport = transportOptionsFromConfig(config, { ...(configured !== undefined ? { name } : {}), url }, { env: ctx.env, sink: ctx.sink, signal: ctx.signal, localBase: base })
  const { session, refs } = await openSessionAndListRefs(url, transport, { refPrefixes: prefixes })
  await session.transport.close().catch(() => undefined)
  let output = ''
  let matched = false
  for (const r of refs) {
    if (r.oid === undefined) continue
    if (prefixes.length > 0 && !prefixes.some((p) => r.name.startsWith(p))) continue
    if (options.refs === true && !r.name.startsWith('refs/')) continue
    if (options.patterns.length > 0 && !options.patterns.some((p) => tailMatch(r.name, p))) continue
    matched = true
    if (options.symref === true && r.symrefTarget !== undefined) output += `ref: ${r.symrefTarget}\t${r.name}\n`
    output += `${r.oid}\t${r.name}\n`
    if (r.peeled !== undefined && options.refs !== true) {
      const peeledName = `${r.name}^{}`
      if (options.patterns.length === 0 || options.patterns.some((p) => tailMatch(peeledName, p))) output += `${r.peeled}\t${peeledName}\n`
    }
  }
  return { output, from: options.remote === undefined ? withoutCredentials(url) : undefined, matched }
}
