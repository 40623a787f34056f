/**
 * `checkout <branch|commit>`, `checkout -b <new> [<start>]`, `checkout --detach [<commit>]`:
 * resolve the target as git does (local branch, then any revision, then a unique
 * remote-tracking branch of that name), switch the index and work tree (one blob
 * prefetch in a partial clone), then move HEAD with git's reflog message.
 */
import { readFile } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { RefError, RepositoryError, TsgitError, isNotFound } from '../errors.js'
import { parseCommit } from '../odb/objects.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { NULL_OID } from '../oid.js'
import { isValidRefName, type RefStore } from '../repo/refs.js'
import { checkedOutElsewhere } from '../repo/worktrees.js'
import type { ConfigReader } from '../repo/config.js'
import { readIndexFile } from '../worktree/index-file.js'
import { switchTrees } from '../worktree/switch.js'
import { checkoutCone, readSparseCheckout } from '../worktree/sparse.js'
import { committerIdent } from './ident.js'
import { openRepoContext, type OpContext } from './repo-context.js'
import { abbreviate, defaultAbbrevLength } from '../rev/abbrev.js'
import { subjectOf } from '../rev/pretty.js'
import { RevisionError, dwimRef, peel, resolveRevision } from '../rev/parse.js'
import { conversionLoader } from './eol-conversion.js'
import { warnUnappliedAttributes } from './unapplied-attributes.js'
import { aheadBehind, label, type CommitLabel, type UpstreamStatus } from './checkout-report.js'
import { mapRefspec } from '../repo/refspec.js'

export { LocalChangesError } from '../worktree/switch.js'
export type { CommitLabel, UpstreamStatus } from './checkout-report.js'

/** git's "pathspec did not match": the name is neither a branch, a revision nor a remote branch. Exit 1. */
export class PathspecError extends TsgitError {
  readonly pathspec: string
  constructor(pathspec: string) {
    super('E_PATHSPEC', `pathspec '${pathspec}' did not match any file(s) known to git`, { exitCode: 1 })
    this.pathspec = pathspec
  }
}

/**
 * `checkout [<tree-ish>] [--] <paths>`: git restores those paths; tsgit only switches
 * branches and detaches HEAD, and says so (fatal, 128) rather than anything that would
 * suggest the paths are not there.
 */
export class PathCheckoutError extends TsgitError {
  readonly paths: string[]
  constructor(paths: string[]) {
    super('E_CHECKOUT_PATHS', `checking out paths is not supported (${paths.map((p) => `'${p}'`).join(', ')}): tsgit checkout switches branches and detaches HEAD only`)
    this.paths = paths
  }
}

export interface CheckoutOptions {
  /** The branch, tag or commit; for -b the start point; for --detach the commit. */
  target?: string
  /** -b <name> (with resetBranch: -B <name>). */
  newBranch?: string
  /** -B: the branch named by newBranch may exist, and is then reset to the start point. */
  resetBranch?: boolean
  detach?: boolean
  force?: boolean
  /** false: --no-lazy-fetch. */
  lazyFetch?: boolean
  /** false: the caller prints no tracking report (-q), so ahead/behind are not counted. Default true. */
  upstreamCounts?: boolean
  /** --ignore-other-worktrees: switch to a branch even if another worktree has it checked out. */
  ignoreOtherWorktrees?: boolean
  /** Paths to check out (after `--`, or after the target): refused with PathCheckoutError. */
  paths?: string[]
  /**
   * The target was followed by `--` (`checkout <name> --`): it is a revision, never a
   * path, and one that names nothing is git's fatal `invalid reference`.
   */
  targetIsRevision?: boolean
}

function invalidReference(spec: string): TsgitError {
  return new TsgitError('E_INVALID_REFERENCE', `invalid reference: ${spec}`)
}

export interface CheckoutResult {
  /**
   * 'switched' to an existing branch, 'created' a new one, 'already' on it, 'detached',
   * stayed on HEAD; -B: 'reset' the current branch, or 'switched-reset' to another.
   */
  outcome: 'switched' | 'created' | 'already' | 'detached' | 'head' | 'reset' | 'switched-reset'
  /** The branch HEAD points to afterwards (short name). */
  branch?: string
  /** The target as typed (git's "Note: switching to '<name>'"). */
  targetName: string
  commit: CommitLabel
  /** The detached commit HEAD left, when it differs from the new one ("Previous HEAD position was"). */
  previousDetached?: CommitLabel
  /** Whether HEAD was on a branch before (git shows the detached-HEAD advice only then). */
  wasOnBranch: boolean
  /** Upstream configured for a new branch ("branch 'x' set up to track 'origin/x'."). */
  tracking?: string
  /** Upstream of an existing branch switched to ("Your branch is up to date with …"). */
  upstream?: UpstreamStatus
  adviceDetachedHead: boolean
  written: number
  removed: number
  /** Carried-over local changes ("M\tpath" on stdout). */
  localChanges: { status: 'M' | 'D'; path: string }[]
}

interface Target {
  oid: Oid
  name: string
  branch?: string
  create?: { start: string; upstream?: { remote: string; merge: string; short: string } }
  stayOnHead?: boolean
}

/** The remote and remote branch whose fetch refspec maps onto the remote-tracking ref `tracking`. */
function upstreamOf(config: ConfigReader, tracking: string): { remote: string; merge: string; short: string } | undefined {
  for (const remote of config.subsections('remote')) {
    for (const spec of config.getAll(`remote.${remote}.fetch`)) {
      if (spec === null) continue
      const merge = mapRefspec(spec, tracking, true)
      if (merge !== undefined && merge.startsWith('refs/heads/')) return { remote, merge, short: tracking.replace(/^refs\/remotes\//, '') }
    }
  }
  return undefined
}

/** git's DWIM: the remote-tracking branches named `<remote>/<name>` for `refs/heads/<name>`. */
async function remoteCandidates(config: ConfigReader, refs: RefStore, name: string): Promise<{ remote: string; ref: string; oid: Oid }[]> {
  const out: { remote: string; ref: string; oid: Oid }[] = []
  for (const remote of config.subsections('remote')) {
    for (const spec of config.getAll(`remote.${remote}.fetch`)) {
      if (spec === null) continue
      const ref = mapRefspec(spec, `refs/heads/${name}`, false)
      if (ref === undefined || !isValidRefName(ref)) continue
      const oid = await refs.resolve(ref)
      if (oid !== undefined) {
        out.push({ remote, ref, oid })
        break
      }
    }
  }
  return out
}

/** The branch or commit checked out before the current one (`-`, git's @{-1}). */
async function previousCheckout(gitDir: string): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(join(gitDir, 'logs', 'HEAD'), 'utf8')
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
  const lines = text.split('\n')
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /\tcheckout: moving from (.+) to .+$/.exec(lines[i] ?? '')
    if (m) return m[1]
  }
  return undefined
}

async function commitOf(store: ObjectStore, refs: RefStore, spec: string): Promise<Oid> {
  const oid = await resolveRevision({ refs, store }, spec)
  try {
    return await peel({ refs, store }, oid, 'commit', spec)
  } catch (e) {
    if (e instanceof RevisionError) throw new TsgitError('E_NOT_A_COMMIT', `reference is not a tree: ${spec}`)
    throw e
  }
}

/** Resolves a revision, or undefined when it names nothing (other errors propagate). */
async function tryCommit(store: ObjectStore, refs: RefStore, spec: string): Promise<Oid | undefined> {
  try {
    return await commitOf(store, refs, spec)
  } catch (e) {
    if (e instanceof RevisionError) return undefined
    throw e
  }
}

/**
 * Whether `spec`, as a path from `cwd`, names a file the index tracks or a directory
 * holding one: what git would check out when `spec` is no revision. Pathspec magic
 * and wildcards are not interpreted.
 */
async function tracksPath(gitDir: string, workTree: string, cwd: string, spec: string): Promise<boolean> {
  const rel = relative(workTree, resolve(cwd, spec)).split(sep).join('/')
  if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) return false
  const index = await readIndexFile(join(gitDir, 'index'))
  return index?.entries.some((e) => rel === '' || e.path === rel || e.path.startsWith(`${rel}/`)) === true
}

export async function checkout(ctx: OpContext, options: CheckoutOptions): Promise<CheckoutResult> {
  const rc = await openRepoContext(ctx, { lazyFetch: options.lazyFetch })
  const { repo, store } = rc
  try {
    if (repo.workTree === undefined) throw new RepositoryError('this operation must be run in a work tree')
    if (options.paths !== undefined && options.paths.length > 0) throw new PathCheckoutError(options.paths)
    const refs = repo.refs
    const config = repo.config
    const headTarget = await refs.readSymref('HEAD')
    const oldBranch = headTarget?.startsWith('refs/heads/') ? headTarget.slice('refs/heads/'.length) : undefined
    const oldOid = await refs.resolve('HEAD')
    const minAbbrev = await defaultAbbrevLength(config, store)

    let target: Target
    if (options.newBranch !== undefined) {
      const name = options.newBranch
      if (!isValidRefName(`refs/heads/${name}`) || name.startsWith('-')) throw new TsgitError('E_BAD_BRANCH', `'${name}' is not a valid branch name`)
      if (options.resetBranch !== true && (await refs.resolve(`refs/heads/${name}`)) !== undefined) throw new TsgitError('E_BRANCH_EXISTS', `a branch named '${name}' already exists`)
      const start = options.target ?? 'HEAD'
      const oid = await tryCommit(store, refs, start)
      if (oid === undefined) throw options.targetIsRevision === true ? invalidReference(start) : new RefError(`'${start}' is not a commit and a branch '${name}' cannot be created from it`)
      const startRef = await dwimRef(refs, start)
      const setup = config.getString('branch.autosetupmerge') ?? 'true'
      const upstream = startRef?.ref.startsWith('refs/remotes/') && setup !== 'false' ? upstreamOf(config, startRef.ref) : undefined
      target = { oid, name, branch: name, create: { start, upstream } }
    } else if (options.detach === true) {
      const spec = options.target ?? 'HEAD'
      const oid = await tryCommit(store, refs, spec)
      if (oid === undefined) throw options.targetIsRevision === true ? invalidReference(spec) : new PathspecError(spec)
      target = { oid, name: spec }
    } else {
      let spec = options.target ?? 'HEAD'
      if (spec === '-' || spec === '@{-1}') {
        const prev = await previousCheckout(repo.gitDir)
        if (prev === undefined) throw new TsgitError('E_NO_PREVIOUS', 'invalid reference: @{-1}')
        spec = prev
      }
      const local = spec === 'HEAD' ? undefined : await refs.resolve(`refs/heads/${spec}`)
      if (spec === 'HEAD') {
        if (oldOid === undefined) throw new RevisionError(spec, "You are on a branch yet to be born")
        target = { oid: oldOid, name: 'HEAD', branch: oldBranch, stayOnHead: true }
      } else if (local !== undefined && isValidRefName(`refs/heads/${spec}`)) {
        target = { oid: await commitOf(store, refs, `refs/heads/${spec}`), name: spec, branch: spec }
      } else {
        const oid = await tryCommit(store, refs, spec)
        if (oid !== undefined) target = { oid, name: spec }
        else {
          let candidates = isValidRefName(`refs/heads/${spec}`) ? await remoteCandidates(config, refs, spec) : []
          const preferred = config.getString('checkout.defaultremote')
          if (candidates.length > 1 && preferred !== undefined) candidates = candidates.filter((c) => c.remote === preferred)
          const only = candidates.length === 1 ? candidates[0] : undefined
          if (only === undefined) {
            if (options.targetIsRevision === true) throw invalidReference(spec)
            // no `--` and no revision: git takes the name as a path, and checks it out when tracked
            throw (await tracksPath(repo.gitDir, repo.workTree, ctx.cwd, spec)) ? new PathCheckoutError([spec]) : new PathspecError(spec)
          }
          const upstream = upstreamOf(config, only.ref)
          target = {
            oid: await commitOf(store, refs, only.ref),
            name: spec,
            branch: spec,
            create: { start: only.ref.replace(/^refs\/remotes\//, ''), upstream },
          }
        }
      }
    }

    if (target.branch !== undefined && target.stayOnHead !== true && target.create === undefined && options.ignoreOtherWorktrees !== true) {
      const elsewhere = await checkedOutElsewhere(repo.commonDir, repo.gitDir, config.getBool('core.bare', false), `refs/heads/${target.branch}`)
      if (elsewhere !== undefined) throw new TsgitError('E_CHECKED_OUT', `'${target.branch}' is already checked out at '${elsewhere}'`)
    }

    const newCommit = parseCommit((await store.read(target.oid)).data)
    const oldTree = oldOid === undefined ? undefined : parseCommit((await store.read(oldOid)).data).tree
    const fileMode = config.getBool('core.filemode', true)
    // before anything moves: a pattern file tsgit cannot read is refused here
    const sparse = checkoutCone(await readSparseCheckout(repo.gitDir, config))
    const res = await switchTrees(
      { reader: store, workTree: repo.workTree, gitDir: repo.gitDir, progress: rc.sink, signal: rc.signal },
      oldTree,
      newCommit.tree,
      {
        force: options.force,
        symlinks: config.getBool('core.symlinks', true),
        fileMode,
        trustCtime: config.getBool('core.trustctime', true),
        oldCommit: oldOid,
        newCommit: target.oid,
        sparse,
        conversion: conversionLoader({ reader: store, config, commonDir: repo.commonDir, workTree: repo.workTree, env: rc.env }),
      },
    )
    if (res.written > 0) await warnUnappliedAttributes({ reader: store, config, commonDir: repo.commonDir, sink: rc.sink }, res.attributes)

    // git reports the upstream as configured before this checkout set up a new one
    const upstreamConfig =
      target.branch === undefined ? undefined : { remote: config.getString(`branch.${target.branch}.remote`), merge: config.getString(`branch.${target.branch}.merge`) }
    const ident = committerIdent(config, rc.env)
    const from = oldBranch ?? oldOid ?? headTarget?.replace(/^refs\/heads\//, '') ?? 'HEAD'
    const message = `checkout: moving from ${from} to ${target.name}`
    let outcome: CheckoutResult['outcome']
    // the value HEAD has when the checkout is logged: a reset of the current branch moved it already
    let headBefore = oldOid ?? NULL_OID
    if (target.stayOnHead) {
      outcome = oldBranch !== undefined ? 'already' : 'head'
    } else if (target.branch !== undefined) {
      const ref = `refs/heads/${target.branch}`
      const existing = target.create ? await refs.resolve(ref) : undefined
      if (target.create && existing !== undefined) {
        // -B on a branch that exists: git's "Reset to", logged for HEAD too when it is the
        // current branch; an unchanged value is not rewritten, and only HEAD logs it
        const reflog = { ident, message: `branch: Reset to ${target.create.start}` }
        const current = oldBranch === target.branch
        if (existing !== target.oid) await refs.transaction().update(current ? 'HEAD' : ref, target.oid, { reflog }).commit()
        else if (current) await refs.appendReflog('HEAD', existing, target.oid, ident, reflog.message)
        if (current) headBefore = target.oid
        const up = target.create.upstream
        if (up) {
          await config.set(`branch.${target.branch}.remote`, up.remote)
          await config.set(`branch.${target.branch}.merge`, up.merge)
        }
        outcome = current ? 'reset' : 'switched-reset'
      } else if (target.create) {
        await refs
          .transaction()
          .create(ref, target.oid, { reflog: { ident, message: `branch: Created from ${target.create.start}` } })
          .commit()
        const up = target.create.upstream
        if (up) {
          await config.set(`branch.${target.branch}.remote`, up.remote)
          await config.set(`branch.${target.branch}.merge`, up.merge)
        }
        outcome = 'created'
      } else {
        outcome = oldBranch === target.branch ? 'already' : 'switched'
      }
      await refs.setSymref('HEAD', ref)
      await refs.appendReflog('HEAD', headBefore, target.oid, ident, message)
    } else {
      await refs.transaction().update('HEAD', target.oid, { noDeref: true, reflog: { ident, message } }).commit()
      outcome = 'detached'
    }

    let upstream: UpstreamStatus | undefined
    if ((outcome === 'switched' || outcome === 'already' || outcome === 'reset' || outcome === 'switched-reset') && target.branch !== undefined) {
      const remote = upstreamConfig?.remote
      const merge = upstreamConfig?.merge
      if (remote !== undefined && merge !== undefined) {
        let tracking: string | undefined
        for (const spec of config.getAll(`remote.${remote}.fetch`)) {
          if (spec !== null) tracking ??= mapRefspec(spec, merge, false)
        }
        if (tracking !== undefined) {
          const name = tracking.replace(/^refs\/remotes\//, '')
          const up = await refs.resolve(tracking)
          if (up === undefined || options.upstreamCounts === false) upstream = { name }
          else {
            const counts = await aheadBehind(store, target.oid, up)
            if (counts !== undefined) upstream = { name, ...counts }
          }
        }
      }
    }

    const commit = { oid: target.oid, abbrev: await abbreviate(store, target.oid, minAbbrev), subject: subjectOf(newCommit.message) }
    const previousDetached =
      oldBranch === undefined && oldOid !== undefined && oldOid !== target.oid ? await label(store, oldOid, minAbbrev) : undefined
    return {
      outcome,
      branch: outcome === 'detached' ? undefined : (target.branch ?? oldBranch),
      targetName: target.name,
      commit,
      previousDetached,
      wasOnBranch: headTarget !== undefined,
      tracking: target.create?.upstream?.short,
      upstream,
      adviceDetachedHead: config.getBool('advice.detachedhead', true),
      written: res.written,
      removed: res.removed,
      localChanges: res.localChanges,
    }
  } finally {
    await store.close()
  }
}
