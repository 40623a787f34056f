import { Option, type Command } from 'commander'
import { displayOptions, opContext, type CommandModule } from '../command.js'
import { TsgitError, UsageError } from '../../errors.js'
import { LocalChangesError, PathspecError, checkout, type CheckoutResult, type UpstreamStatus } from '../../ops/checkout.js'

const DETACHED_ADVICE = `You are in 'detached HEAD' state. You can look around, make experimental
changes and commit them, and you can discard any commits you make in this
state without impacting any branches by switching back to a branch.

If you want to create a new branch to retain commits you create, you may
do so (now or later) by using -c with the switch command. Example:

  git switch -c <new-branch-name>

Or undo this operation with:

  git switch -

Turn off this advice by setting config variable advice.detachedHead to false
`

function plural(n: number): string {
  return n === 1 ? 'commit' : 'commits'
}

/** git's format_tracking_info wording. */
export function trackingReport(up: UpstreamStatus): string {
  if (up.ahead === undefined || up.behind === undefined) {
    return `Your branch is based on '${up.name}', but the upstream is gone.\n  (use "git branch --unset-upstream" to fixup)\n`
  }
  if (up.ahead === 0 && up.behind === 0) return `Your branch is up to date with '${up.name}'.\n`
  if (up.behind === 0) return `Your branch is ahead of '${up.name}' by ${up.ahead} ${plural(up.ahead)}.\n  (use "git push" to publish your local commits)\n`
  if (up.ahead === 0) {
    return `Your branch is behind '${up.name}' by ${up.behind} ${plural(up.behind)}, and can be fast-forwarded.\n  (use "git pull" to update your local branch)\n`
  }
  return (
    `Your branch and '${up.name}' have diverged,\nand have ${up.ahead} and ${up.behind} different commits each, respectively.\n` +
    `  (use "git pull" to merge the remote branch into yours)\n`
  )
}

/** What git prints on stderr (and stdout) after a successful switch. */
export function describeSwitch(r: CheckoutResult, detachFlag: boolean): { stdout: string; stderr: string } {
  let out = ''
  let err = ''
  for (const c of r.localChanges) out += `${c.status}\t${c.path}\n`
  if (r.previousDetached) err += `Previous HEAD position was ${r.previousDetached.abbrev} ${r.previousDetached.subject}\n`
  if (r.tracking !== undefined && r.branch !== undefined) out += `branch '${r.branch}' set up to track '${r.tracking}'.\n`
  switch (r.outcome) {
    case 'created':
      err += `Switched to a new branch '${r.branch ?? ''}'\n`
      break
    case 'switched':
      err += `Switched to branch '${r.branch ?? ''}'\n`
      break
    case 'already':
      err += `Already on '${r.branch ?? ''}'\n`
      break
    case 'reset':
      err += `Reset branch '${r.branch ?? ''}'\n`
      break
    case 'switched-reset':
      err += `Switched to and reset branch '${r.branch ?? ''}'\n`
      break
    case 'detached':
      if (r.wasOnBranch && r.adviceDetachedHead && !detachFlag) err += `Note: switching to '${r.targetName}'.\n\n${DETACHED_ADVICE}\n`
      err += `HEAD is now at ${r.commit.abbrev} ${r.commit.subject}\n`
      break
    case 'head':
      break
  }
  if (r.upstream && !detachFlag) out += trackingReport(r.upstream)
  return { stdout: out, stderr: err }
}

export const checkoutCommand: CommandModule = {
  name: 'checkout',
  summary: 'Switch branches or detach HEAD at a commit, updating the index and work tree',
  configure(cmd: Command) {
    cmd
      .argument('[branch]', 'the branch, tag or commit to check out (for -b: the start point)')
      .option('-b <new-branch>', 'create a new branch at the start point and switch to it')
      .option('-B <branch>', 'create the branch, or reset it when it exists, at the start point, and switch to it')
      .option('--detach', 'detach HEAD at the commit instead of switching to a branch')
      .option('-f, --force', 'throw away local changes and overwrite untracked files in the way')
      .option('--ignore-other-worktrees', 'check out the branch even if another worktree has it checked out')
      .option('-q, --quiet', 'be quiet')
      .addOption(new Option('--progress', 'show progress even when stderr is not a terminal'))
      .addOption(new Option('--no-progress', 'do not show progress'))
      // paths (`checkout [<commit>] [--] <path>...`) are taken, to be refused as unsupported
      .allowExcessArguments()
  },
  async exec(ctx, args, opts, line) {
    // git's reading: before `--` at most one name, after it paths; without `--` the
    // first word is the name and the rest are paths
    const names = line.dashDash === undefined ? args.slice(0, 1) : args.slice(0, line.dashDash)
    const paths = args.slice(names.length)
    if (names.length > 1) throw new TsgitError('E_TOO_MANY_REFERENCES', `only one reference expected, ${names.length} given.`)
    const target = names[0]
    const detach = opts.detach === true
    if (opts.b !== undefined && opts.B !== undefined) throw new TsgitError('E_USAGE', "options '-b', '-B', and '--orphan' cannot be used together")
    const newBranch = (opts.b ?? opts.B) as string | undefined
    if (detach && newBranch !== undefined) throw new TsgitError('E_USAGE', "'--detach' cannot be used with '-b/-B/--orphan'")
    if (!detach && newBranch === undefined && target === undefined && paths.length === 0) throw new UsageError('you must name a branch or commit to check out')
    const { quiet, progress } = displayOptions(opts)
    const display = ctx.display({ quiet, progress })
    try {
      const r = await checkout(opContext(ctx, display), { target, newBranch, resetBranch: opts.B !== undefined, detach, force: opts.force === true, lazyFetch: ctx.lazyFetch, upstreamCounts: !quiet, ignoreOtherWorktrees: opts.ignoreOtherWorktrees === true, paths, targetIsRevision: target !== undefined && line.dashDash !== undefined })
      if (!quiet) {
        const { stdout, stderr } = describeSwitch(r, detach)
        if (stdout !== '') ctx.stdout.write(stdout)
        if (stderr !== '') ctx.stderr.write(stderr)
      }
      return 0
    } catch (e) {
      // git reports these as "error:" and exits 1, not as fatal errors.
      if (e instanceof LocalChangesError || e instanceof PathspecError) {
        display.error(e.message)
        return 1
      }
      throw e
    }
  },
}
