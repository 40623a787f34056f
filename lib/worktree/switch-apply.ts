/**
 * Carrying out a switch plan (switch-plan.ts): every blob to write fetched in ONE
 * batch before the first change on disk (new files at paths where nothing is are
 * written as their blobs arrive, and taken back if the fetch fails), then what goes
 * removed, directories that became empty removed, what is new or changed written, and
 * the index written with real stat data. Removal never reaches through a symlink: the
 * leading directories of a path are checked to be real directories first.
 */
import { unlinkSync } from 'node:fs'
import { lstat, readdir, rm, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { UnsafePathError, isNotFound } from '../errors.js'
import { silentSink } from '../events.js'
import { MODE_GITLINK } from '../odb/objects.js'
import type { Oid } from '../oid.js'
import { isAttributesFile } from './attributes.js'
import { fetchWritingOnArrival } from './arrival-writes.js'
import { checkAborted, makeDirectory, mapLimit, skippedEntry, writeEntry } from './checkout.js'
import { attributesOf } from './conversion.js'
import { compareIndexEntries, writeIndexFile, type IndexEntry } from './index-file.js'
import { lstatOrUndefined, parentsOf, workTreeState } from './local-changes.js'
import type { Action, SwitchContext, SwitchOptions, SwitchPlan } from './switch-plan.js'

export interface SwitchResult {
  written: number
  removed: number
  /**
   * Local changes carried over, as git lists them after a switch ("M\tpath"): kept
   * index entries whose file differs (M) or is gone (D). Staged-only changes are not
   * listed (that needs the whole new tree). Empty under -f.
   */
  localChanges: { status: 'M' | 'D'; path: string }[]
  /** The .gitattributes files of the new tree (attributes.ts). */
  attributes: { path: string; oid: Oid }[]
}

/** Removes a file, symlink or (empty) gitlink directory; with `recursive`, whatever is there. */
async function removePath(full: string, recursive: boolean): Promise<void> {
  const st = await lstatOrUndefined(full)
  if (st === undefined) return
  if (!st.isDirectory()) {
    unlinkSync(full)
    return
  }
  if (recursive) {
    await rm(full, { recursive: true, force: true })
    return
  }
  await removeEmptyDirs(full)
}

/** Removes `dir` and the empty directories below it; leaves anything that holds a file. */
async function removeEmptyDirs(dir: string): Promise<boolean> {
  let empty = true
  for (const name of await readdir(dir)) {
    const full = join(dir, name)
    const st = await lstat(full)
    if (st.isDirectory() && (await removeEmptyDirs(full))) continue
    empty = false
  }
  if (!empty) return false
  try {
    await rmdir(dir)
    return true
  } catch (e) {
    if (isNotFound(e)) return true
    const code = (e as { code?: unknown } | null)?.code
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false
    throw e
  }
}

/** rmdir that reports whether the directory is gone; a non-empty one stays. */
async function tryRmdir(full: string): Promise<void> {
  try {
    await rmdir(full)
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code
    if (isNotFound(e) || code === 'ENOTEMPTY' || code === 'EEXIST') return
    throw e
  }
}

/** The leading directories of `path` must be real directories (never symlinks) before we remove inside them. */
async function assertRealParents(workTree: string, path: string, known: Set<string>): Promise<boolean> {
  for (const d of parentsOf(path)) {
    if (known.has(d)) continue
    const st = await lstatOrUndefined(join(workTree, d))
    if (st === undefined) return false
    if (!st.isDirectory()) return false
    known.add(d)
  }
  return true
}

/** Carries out a plan: one blob prefetch, removals, emptied directories, writes, the index. */
export async function applySwitch(ctx: SwitchContext, plan: SwitchPlan, options: SwitchOptions = {}): Promise<SwitchResult> {
  const { reader, workTree, signal } = ctx
  const progress = ctx.progress ?? silentSink
  const concurrency = options.concurrency ?? 32
  const symlinks = options.symlinks ?? true
  const allWrites = plan.actions.filter((a): a is Extract<Action, { kind: 'write' }> => a.kind === 'write')
  // outside a sparse cone: the old file goes, the new entry is written to the index alone
  const skips = allWrites.filter((a) => a.skipWorktree === true)
  const writes = allWrites.filter((a) => a.skipWorktree !== true)
  const removes = plan.actions.filter((a): a is Extract<Action, { kind: 'remove' }> => a.kind === 'remove')
  const changed = new Set<string>()
  for (const a of plan.actions) if (a.kind !== 'keep') changed.add(a.path)
  // Everything the switch needs, fetched before the first change on disk but the new
  // files written as their blobs arrive where nothing is (taken back if the fetch fails).
  // The new index's attributes decide how its files are written (git reads them from there on checkout).
  const newAttributes = attributesOf([...(plan.index ?? []).filter((e) => e.stage === 0 && !e.skipWorktree && !changed.has(e.path)), ...writes.map((w) => ({ path: w.path, ...w.entry }))])
  const toWrite = writes.map((w) => ({ path: w.path, mode: w.entry.mode, oid: w.entry.oid }))
  const { written: arrived, conversion } = await fetchWritingOnArrival({ reader, workTree, entries: toWrite, attributes: newAttributes, conversion: options.conversion, referrers: plan.trees, signal })

  const removedPaths = new Set(removes.map((r) => r.path))
  const realDirs = new Set<string>()
  const emptied = new Set<string>()
  for (const a of [...removes, ...writes, ...skips]) {
    if (a.kind === 'write' && a.old === undefined && (!plan.force || a.skipWorktree === true)) continue
    if (a.kind === 'write' && arrived.has(a.path)) continue
    // a skip-worktree entry has no file of ours (sparse.ts cleared the bit of any that is there)
    if (a.kind === 'write' && a.old?.skipWorktree === true && a.skipWorktree === true) continue
    if (!(await assertRealParents(workTree, a.path, realDirs))) continue
    await removePath(join(workTree, a.path), plan.force)
    for (const d of parentsOf(a.path)) emptied.add(d)
  }
  // Deepest first, so a parent sees its children already gone.
  const byDepth = [...emptied].sort((a, b) => b.split('/').length - a.split('/').length)
  const newDirs = new Set<string>()
  for (const w of writes) for (const d of parentsOf(w.path)) newDirs.add(d)
  for (const d of byDepth) if (!newDirs.has(d)) await tryRmdir(join(workTree, d))

  // Directories for the new entries, parents first; anything in the way that is not
  // a directory was checked to be tracked and removed (or -f was given).
  const dirs = [...newDirs].sort((a, b) => a.split('/').length - b.split('/').length)
  for (const d of dirs) {
    checkAborted(signal)
    const full = join(workTree, d)
    const st = await lstatOrUndefined(full)
    if (st !== undefined && !st.isDirectory()) {
      if (!plan.force && !removedPaths.has(d)) {
        throw new UnsafePathError(d, `refusing to write through ${JSON.stringify(d)}: it exists and is not a directory`)
      }
      unlinkSync(full)
    }
    await makeDirectory(full, d)
  }

  const total = writes.length
  let done = arrived.size
  progress.progress({ title: 'Updating files', current: done, total })
  const written = await mapLimit(writes, concurrency, async (w): Promise<IndexEntry> => {
    const got = arrived.get(w.path)
    if (got !== undefined) return got
    checkAborted(signal)
    const full = join(workTree, w.path)
    const st = await lstatOrUndefined(full)
    // A directory in the way held only tracked files that are gone now (or -f).
    if (st?.isDirectory() && w.entry.mode !== MODE_GITLINK) await removePath(full, plan.force)
    else if (st !== undefined && !st.isDirectory()) unlinkSync(full)
    const entry = await writeEntry(reader, workTree, { path: w.path, mode: w.entry.mode, oid: w.entry.oid }, symlinks, conversion?.smudge)
    done++
    progress.progress({ title: 'Updating files', current: done, total })
    return entry
  })
  progress.progress({ title: 'Updating files', current: done, total, done: true })

  const entries: IndexEntry[] = []
  for (const e of plan.index ?? []) {
    if (changed.has(e.path)) continue
    if (plan.force && e.stage !== 0) continue
    entries.push(e)
  }
  entries.push(...written)
  for (const a of skips) entries.push(skippedEntry(a.path, a.entry.mode, a.entry.oid))
  checkAborted(signal)
  await writeIndexFile(options.indexPath ?? join(ctx.gitDir, 'index'), entries)

  const localChanges: SwitchResult['localChanges'] = []
  if (!plan.force) {
    const fresh = new Set(written.map((e) => e.path))
    const kept = entries.filter((e) => !fresh.has(e.path) && e.stage === 0).sort(compareIndexEntries)
    const states = await mapLimit(kept, concurrency, (e) => (e.skipWorktree ? Promise.resolve('clean' as const) : workTreeState(workTree, e, { ...plan.stateOptions, clean: conversion?.clean })))
    kept.forEach((e, i) => {
      const st = states[i]
      if (st === 'missing') localChanges.push({ status: 'D', path: e.path })
      else if (st === 'dirty') localChanges.push({ status: 'M', path: e.path })
    })
  }
  const attributes = entries.filter((e) => e.stage === 0 && !e.skipWorktree && isAttributesFile(e.path)).map((e) => ({ path: e.path, oid: e.oid }))
  return { written: written.length, removed: removes.length, localChanges, attributes }
}
