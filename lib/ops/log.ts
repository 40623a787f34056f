/**
 * `git log` without paths or diffs: the commits of the revisions (HEAD by default) in
 * git's default order (rev-list's walk: newest committer date first), printed in the
 * medium, oneline or a user format. Only commits are read, so a blob:none clone
 * fetches nothing, and a shallow repository's history ends at its shallow commits.
 */
import { TsgitError } from '../errors.js'
import { parseCommit } from '../odb/objects.js'
import type { Oid } from '../oid.js'
import { abbreviate, defaultAbbrevLength } from '../rev/abbrev.js'
import { RevWalk } from '../rev/commit-walk.js'
import { RevisionError } from '../rev/parse.js'
import { formatEntry, type PrettyFormat } from '../rev/pretty.js'
import type { RepoContext } from './repo-context.js'
import { startPoints } from './rev-list.js'

export type { PrettyFormat } from '../rev/pretty.js'

export interface LogOptions {
  /** Revision arguments, as rev-list takes them; none: HEAD. */
  revisions: readonly string[]
  maxCount?: number
  format: PrettyFormat
  /** --oneline's --abbrev-commit. */
  abbrevCommit?: boolean
  /** Show ref names (`%d` and `%D` compute them whatever this says). */
  decorate?: boolean
  /** Seconds since the epoch, for relative dates. */
  now: number
  write(text: string): void | Promise<void>
}

const AMBIGUOUS_HINT = "\nUse '--' to separate paths from revisions, like this:\n'git <command> [<revision>...] -- [<file>...]'"

/** The names git decorates `oid` with, in git's order (the last ref loaded first, HEAD before all). */
async function decorationTable(rc: RepoContext): Promise<Map<Oid, string[]>> {
  const refs = rc.repo.refs
  const loaded: { oid: Oid; name: string; kind: 'head' | 'ref' }[] = []
  for (const r of await refs.list('refs/')) {
    if (r.name === 'refs/stash') continue
    const short = r.name.startsWith('refs/heads/')
      ? r.name.slice('refs/heads/'.length)
      : r.name.startsWith('refs/remotes/')
        ? r.name.slice('refs/remotes/'.length)
        : r.name.startsWith('refs/tags/')
          ? `tag: ${r.name.slice('refs/tags/'.length)}`
          : r.name
    loaded.push({ oid: r.oid, name: short, kind: 'ref' })
    if (r.name.startsWith('refs/tags/')) {
      // an annotated tag decorates the object it points to as well
      let target = r.oid
      for (let depth = 0; depth < 64; depth++) {
        const obj = await rc.store.tryRead(target)
        if (obj?.type !== 'tag') break
        const m = /^object ([0-9a-f]{40})/.exec(obj.data.toString('latin1'))
        if (m === null) break
        target = m[1] as Oid
        loaded.push({ oid: target, name: short, kind: 'ref' })
      }
    }
  }
  const head = await refs.resolve('HEAD').catch(() => undefined)
  const headBranch = await refs.readSymref('HEAD')
  const table = new Map<Oid, string[]>()
  const add = (oid: Oid, name: string): void => {
    const list = table.get(oid) ?? []
    list.unshift(name)
    table.set(oid, list)
  }
  for (const l of loaded) add(l.oid, l.name)
  if (head !== undefined) {
    const current = headBranch?.startsWith('refs/heads/') === true && (await refs.resolve(headBranch)) === head ? headBranch.slice('refs/heads/'.length) : undefined
    const list = table.get(head) ?? []
    if (current !== undefined) {
      const at = list.indexOf(current)
      if (at >= 0) list.splice(at, 1)
      list.unshift(`HEAD -> ${current}`)
    } else list.unshift('HEAD')
    table.set(head, list)
  }
  return table
}

/** Prints the log; resolves when everything is written. */
export async function log(rc: RepoContext, options: LogOptions): Promise<void> {
  const { repo, store } = rc
  let revisions = options.revisions
  if (revisions.filter((r) => r !== '--not').length === 0) {
    if ((await repo.refs.resolve('HEAD').catch(() => undefined)) === undefined) {
      const branch = (await repo.refs.readSymref('HEAD'))?.replace(/^refs\/heads\//, '') ?? 'HEAD'
      throw new TsgitError('E_BAD_REVISION', `your current branch '${branch}' does not have any commits yet`)
    }
    revisions = [...revisions, 'HEAD']
  }
  let starts
  try {
    starts = await startPoints({ refs: repo.refs, store }, revisions)
  } catch (e) {
    if (e instanceof RevisionError && e.message.startsWith('ambiguous argument')) throw new TsgitError('E_BAD_REVISION', `${e.message}${AMBIGUOUS_HINT}`)
    throw e
  }
  const walk = new RevWalk({ store, fetch: store.canFetch }, { objects: false })
  for (const s of starts) await walk.add(s)
  const min = await defaultAbbrevLength(repo.config, store)
  const abbrevs = new Map<Oid, string>()
  const abbrevOf = async (oid: Oid): Promise<string> => {
    let a = abbrevs.get(oid)
    if (a === undefined) {
      a = await abbreviate(store, oid, min)
      abbrevs.set(oid, a)
    }
    return a
  }
  const fmt = options.format
  const userFormat = fmt.kind === 'user' ? fmt.format : ''
  const needsDecorations = options.decorate === true || /%[dD]/.test(userFormat)
  const decorations = needsDecorations ? await decorationTable(rc) : new Map<Oid, string[]>()
  const needsAbbrev = (fmt.kind === 'oneline' && options.abbrevCommit === true) || /%[htp]/.test(userFormat)
  let n = 0
  let buf = ''
  // the count is checked first, so no commit past the last one shown is read
  while (options.maxCount === undefined || n < options.maxCount) {
    const c = await walk.next()
    if (c === undefined) break
    const commit = parseCommit((await store.read(c.oid)).data)
    // shallow commits show no parents, as in git
    commit.parents = c.parents
    const ids = needsAbbrev || (fmt.kind === 'medium' && commit.parents.length > 1) ? [c.oid, commit.tree, ...commit.parents] : []
    for (const id of ids) await abbrevOf(id)
    buf += formatEntry(
      fmt,
      {
        oid: c.oid,
        commit,
        abbrev: (oid) => abbrevs.get(oid) ?? oid,
        decorations: decorations.get(c.oid) ?? [],
        now: options.now,
      },
      n === 0,
      options.abbrevCommit === true,
    )
    n++
    if (buf.length >= 65536) {
      await options.write(buf)
      buf = ''
    }
  }
  if (buf !== '') await options.write(buf)
}
