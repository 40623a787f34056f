/**
 * Switching a work tree from one tree to another (git's two-way merge of
 * unpack-trees, as `git checkout <branch>` uses it), in two stages:
 *
 *   planSwitch   (switch-plan.ts) diffs the old tree (HEAD) against the new one
 *                level by level (tree-diff.ts), skipping identical subtrees and
 *                prefetching each level's missing trees in one batch; decides per
 *                changed path whether the index entry is kept, replaced or removed;
 *                and refuses, before anything is touched, when that would lose a
 *                local change or an untracked file (local-changes.ts);
 *   applySwitch  (switch-apply.ts) prefetches every blob to write in ONE batch,
 *                removes what goes, removes directories that became empty, writes
 *                what is new or changed, and writes the index with real stat data.
 *
 * Paths the switch does not change keep their index entries and files as they are,
 * so local changes to them are carried over, as git does. This module is the door
 * the operations use; the stages live in the modules named above.
 *
 * Deviation: untracked files in the way are always refused (git silently overwrites
 * ignored ones; tsgit does not read .gitignore), and clean filters are not applied
 * when comparing files with the index (end-of-line conversion is: conversion.ts).
 */
import type { Oid } from '../oid.js'
import { applySwitch, type SwitchResult } from './switch-apply.js'
import { planSwitch, type SwitchContext, type SwitchOptions } from './switch-plan.js'

export { LocalChangesError, localChangesMessage, type LocalChangeKind } from './local-changes.js'
export { applySwitch, type SwitchResult } from './switch-apply.js'
export { planSwitch, type SwitchContext, type SwitchOptions, type SwitchPlan } from './switch-plan.js'
export { diffTrees } from './tree-diff.js'

/** planSwitch then applySwitch. */
export async function switchTrees(ctx: SwitchContext, oldTree: Oid | undefined, newTree: Oid, options: SwitchOptions = {}): Promise<SwitchResult> {
  const plan = await planSwitch(ctx, oldTree, newTree, options)
  return applySwitch(ctx, plan, options)
}
