/**
 * What a clone asks for and what it writes at the end, from the remote's refs: which
 * refs are wanted, which tags follow, where HEAD goes; then the refs as git's clone
 * writes them. Kept apart from the clone's sequence (clone.ts), which records the plan
 * in the resume state and may finish it in another process.
 */
import { RepositoryError } from '../errors.js'
import type { ObjectStore } from '../odb/store.js'
import type { Oid } from '../oid.js'
import { filterToConfig, type FilterSpec, type RemoteRef } from '../protocol/index.js'
import type { ClonePlan, CloneRequest, PlannedRef } from '../repo/clone-state.js'
import type { ConfigFile } from '../repo/config.js'
import type { Repository } from '../repo/repository.js'
import { committerIdent } from './ident.js'
import { registerPromisorRemote } from './promisor-config.js'

export interface PlanOptions {
  /** -b/--branch */
  branch?: string
  singleBranch: boolean
  tags: boolean
  origin: string
  partial: boolean
}

function planned(r: RemoteRef): PlannedRef {
  return { name: r.name, oid: r.oid as Oid, ...(r.peeled !== undefined ? { peeled: r.peeled } : {}) }
}

/** git's choice of refs and HEAD for a clone, from the remote's refs. */
export function planRefs(refs: RemoteRef[], opts: PlanOptions): ClonePlan {
  const byName = new Map(refs.map((r) => [r.name, r]))
  const headRef = byName.get('HEAD')
  const heads = refs.filter((r) => r.name.startsWith('refs/heads/') && r.oid !== undefined)
  const tagRefs = refs.filter((r) => r.name.startsWith('refs/tags/') && r.oid !== undefined)
  let branch: string | undefined
  let detach: Oid | undefined
  let tip: RemoteRef | undefined
  if (opts.branch !== undefined) {
    const b = byName.get(`refs/heads/${opts.branch}`)
    const t = byName.get(`refs/tags/${opts.branch}`)
    if (b?.oid) {
      branch = opts.branch
      tip = b
    } else if (t?.oid) {
      tip = t
      detach = t.peeled ?? t.oid
    } else {
      throw new RepositoryError(`Remote branch ${opts.branch} not found in upstream ${opts.origin}`)
    }
  } else if (headRef?.symrefTarget?.startsWith('refs/heads/')) {
    branch = headRef.symrefTarget.slice('refs/heads/'.length)
    tip = byName.get(headRef.symrefTarget) ?? (headRef.oid ? headRef : undefined)
  } else if (headRef?.oid) {
    // A detached remote HEAD: git picks a branch at the same commit, else detaches.
    const same = heads.find((h) => h.oid === headRef.oid)
    if (same) {
      branch = same.name.slice('refs/heads/'.length)
      tip = same
    } else {
      tip = headRef
      detach = headRef.oid
    }
  }
  let wanted: RemoteRef[]
  let followTags: RemoteRef[] = []
  if (opts.singleBranch) {
    wanted = tip ? [tip] : []
    if (opts.tags) followTags = tagRefs.filter((t) => t !== tip)
  } else {
    wanted = [...heads]
    if (opts.tags) wanted.push(...tagRefs)
    if (tip && !wanted.includes(tip)) wanted.push(tip)
  }
  const remoteHead = headRef?.symrefTarget
  return {
    partial: opts.partial,
    wanted: wanted.filter((r) => r.oid !== undefined).map(planned),
    followTags: followTags.map(planned),
    ...(branch !== undefined ? { branch } : {}),
    ...(detach !== undefined ? { detach } : {}),
    ...(remoteHead !== undefined ? { remoteHead } : {}),
  }
}

/** The commit (or tag) HEAD will be at after the clone, if any. */
export function headTarget(plan: ClonePlan): Oid | undefined {
  return plan.detach ?? (plan.branch !== undefined ? plan.wanted.find((r) => r.name === `refs/heads/${plan.branch}`)?.oid : undefined)
}

/** Whether the remote moved the refs the plan wants since it was made. */
export function refsMoved(plan: ClonePlan, refs: readonly RemoteRef[]): PlannedRef[] {
  const now = new Map(refs.map((r) => [r.name, r.oid]))
  return plan.wanted.filter((r) => now.get(r.name) !== r.oid)
}

/**
 * The remote's configuration, as git 2.39's clone writes it (plus extensions.partialClone
 * in a partial clone: see DEVIATIONS in tsgit-clone(1)).
 */
export function writeRemoteConfig(f: ConfigFile, r: CloneRequest, plan: ClonePlan, o: { singleBranch: boolean; filter?: FilterSpec }): void {
  const origin = r.origin
  // git writes tagOpt between the url and the fetch refspec
  if (!r.tags) f.set(`remote.${origin}.tagOpt`, '--no-tags')
  if (!r.bare) {
    const refspec = o.singleBranch && plan.branch !== undefined ? `+refs/heads/${plan.branch}:refs/remotes/${origin}/${plan.branch}` : `+refs/heads/*:refs/remotes/${origin}/*`
    f.unsetAll(`remote.${origin}.fetch`)
    f.add(`remote.${origin}.fetch`, refspec)
  }
  if (plan.partial && o.filter !== undefined) registerPromisorRemote(f, origin, filterToConfig(o.filter))
  // where git's clone --sparse has it: after the remote, before the branch
  if (r.sparse === true && !r.bare) f.set('extensions.worktreeConfig', 'true')
  if (!r.bare && plan.branch !== undefined && plan.detach === undefined) {
    f.set(`branch.${plan.branch}.remote`, origin)
    f.set(`branch.${plan.branch}.merge`, `refs/heads/${plan.branch}`)
  }
}

export interface RefWriteOptions {
  bare: boolean
  origin: string
  url: string
  env: NodeJS.ProcessEnv
}

/** The refs, HEAD and reflogs, as git's clone writes them. */
export async function writeCloneRefs(repo: Repository, store: ObjectStore, plan: ClonePlan, o: RefWriteOptions): Promise<void> {
  const packed: { name: string; oid: Oid; peeled?: Oid }[] = []
  for (const r of [...plan.wanted, ...plan.followTags]) {
    if (r.name.startsWith('refs/heads/')) {
      packed.push({ name: o.bare ? r.name : `refs/remotes/${o.origin}/${r.name.slice(11)}`, oid: r.oid })
    } else if (r.name.startsWith('refs/tags/')) {
      packed.push({ name: r.name, oid: r.oid, ...(r.peeled !== undefined ? { peeled: r.peeled } : {}) })
    }
  }
  // With include-tag, tags outside the fetched history may not have arrived: write only those we have.
  const present: typeof packed = []
  for (const p of packed) if (await store.has(p.oid)) present.push(p)
  await repo.refs.writePackedRefs(present)
  const reflog = { ident: committerIdent(repo.config, o.env), message: `clone: from ${o.url}` }
  if (plan.detach !== undefined) {
    await repo.refs.transaction().update('HEAD', plan.detach, { reflog, noDeref: true }).commit()
    return
  }
  const branch = plan.branch
  if (branch === undefined) return
  const tip = plan.wanted.find((r) => r.name === `refs/heads/${branch}`)?.oid
  await repo.refs.setSymref('HEAD', `refs/heads/${branch}`)
  // Through HEAD, so both HEAD's and the branch's reflogs get the entry, as git's clone does.
  if (tip !== undefined && !o.bare) await repo.refs.transaction().update('HEAD', tip, { reflog }).commit()
  const remoteHead = plan.remoteHead
  if (!o.bare && remoteHead?.startsWith('refs/heads/') && plan.wanted.some((r) => r.name === remoteHead)) {
    await repo.refs.setSymref(`refs/remotes/${o.origin}/HEAD`, `refs/remotes/${o.origin}/${remoteHead.slice(11)}`)
  }
}
