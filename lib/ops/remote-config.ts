/**
 * Remotes as configuration: `remote add` and `remote remove` write the same config
 * bytes and delete the same refs as `git remote` 2.39.
 */
import { RepositoryError, TsgitError } from '../errors.js'
import type { ConfigReader } from '../repo/config.js'
import { isValidRefName } from '../repo/refs.js'
import { Repository } from '../repo/repository.js'
import type { OpContext } from './repo-context.js'

/** `git remote` refuses: exit codes as git's (2 no such remote, 3 already exists). */
export class RemoteConfigError extends TsgitError {
  constructor(message: string, exitCode: number) {
    super('E_REMOTE_CONFIG', message, { exitCode })
  }
}

/** git's rule: the name must make `refs/remotes/<name>/test` a valid ref. */
export function isValidRemoteName(name: string): boolean {
  return name.length > 0 && isValidRefName(`refs/remotes/${name}/test`)
}

export interface RemoteInfo {
  name: string
  urls: string[]
  pushUrls: string[]
}

/** Configured remotes in git's order (sorted by name, as `git remote` lists them). */
export function listRemotes(config: ConfigReader): RemoteInfo[] {
  const out: RemoteInfo[] = []
  for (const name of config.subsections('remote')) {
    const urls = config.getAll(`remote.${name}.url`).filter((u): u is string => u !== null)
    const pushUrls = config.getAll(`remote.${name}.pushurl`).filter((u): u is string => u !== null)
    out.push({ name, urls, pushUrls })
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** The default refspec git writes for a new remote. */
export function defaultFetchRefspec(name: string): string {
  return `+refs/heads/*:refs/remotes/${name}/*`
}

export async function addRemote(repo: Repository, name: string, url: string): Promise<void> {
  if (!isValidRemoteName(name)) throw new RepositoryError(`'${name}' is not a valid remote name`)
  if (repo.config.subsections('remote').includes(name)) throw new RemoteConfigError(`remote ${name} already exists.`, 3)
  await repo.config.update((f) => {
    f.set(`remote.${name}.url`, url)
    f.add(`remote.${name}.fetch`, defaultFetchRefspec(name))
  })
}

/** The destination side of a fetch refspec as a matcher (`refs/remotes/o/*` or an exact ref). */
function destinationMatcher(refspec: string): ((ref: string) => boolean) | undefined {
  const spec = refspec.startsWith('+') ? refspec.slice(1) : refspec
  const colon = spec.indexOf(':')
  if (colon < 0) return undefined
  const dst = spec.slice(colon + 1)
  if (dst === '') return undefined
  const star = dst.indexOf('*')
  if (star < 0) return (ref) => ref === dst
  const head = dst.slice(0, star)
  const tail = dst.slice(star + 1)
  return (ref) => ref.length >= head.length + tail.length && ref.startsWith(head) && ref.endsWith(tail)
}

function matchers(config: ConfigReader, name: string): ((ref: string) => boolean)[] {
  return config
    .getAll(`remote.${name}.fetch`)
    .filter((v): v is string => v !== null)
    .map(destinationMatcher)
    .filter((m): m is (ref: string) => boolean => m !== undefined)
}

export interface RemoveResult {
  /** Remote-tracking refs deleted. */
  refs: string[]
  /** Refs the remote's refspecs map to outside refs/remotes/, left alone as git does. */
  skipped: string[]
}

export async function removeRemote(repo: Repository, name: string): Promise<RemoveResult> {
  const config = repo.config
  if (!config.subsections('remote').includes(name)) throw new RemoteConfigError(`No such remote: '${name}'`, 2)
  const branchKeys: string[] = []
  for (const branch of config.subsections('branch')) {
    if (config.get(`branch.${branch}.remote`) === name) branchKeys.push(`branch.${branch}.remote`, `branch.${branch}.merge`)
    if (config.get(`branch.${branch}.pushremote`) === name) branchKeys.push(`branch.${branch}.pushremote`)
  }
  if (branchKeys.length > 0) await config.update((f) => branchKeys.forEach((k) => void f.unsetAll(k)))

  const mine = matchers(config, name)
  const others = config
    .subsections('remote')
    .filter((r) => r !== name)
    .flatMap((r) => matchers(config, r))
  const refs: string[] = []
  const skipped: string[] = []
  for (const ref of await repo.refs.list('refs/')) {
    if (!mine.some((m) => m(ref.name)) || others.some((m) => m(ref.name))) continue
    if (ref.name.startsWith('refs/remotes/')) refs.push(ref.name)
    else skipped.push(ref.name)
  }
  if (refs.length > 0) {
    const tx = repo.refs.transaction()
    for (const r of refs) tx.delete(r)
    await tx.commit()
  }
  await config.update((f) => {
    f.removeSection(`remote.${name}`)
    if (f.get('remote.pushdefault') === name) f.unsetAll('remote.pushdefault')
  })
  return { refs, skipped }
}

/** The remotes of one repository, as `tsgit remote` manages them. */
export interface Remotes {
  list(): RemoteInfo[]
  add(name: string, url: string): Promise<void>
  remove(name: string): Promise<RemoveResult>
}

/**
 * Opens the repository around `ctx.cwd` for `tsgit remote`: first, as git does, so that
 * outside a repository every form of the command says so before anything else.
 */
export async function openRemotes(ctx: Pick<OpContext, 'cwd' | 'env' | 'configOverrides'>): Promise<Remotes> {
  const repo = await Repository.open(ctx.cwd, { env: ctx.env, cliConfig: ctx.configOverrides ?? [] })
  return {
    list: () => listRemotes(repo.config),
    add: (name, url) => addRemote(repo, name, url),
    remove: (name) => removeRemote(repo, name),
  }
}
