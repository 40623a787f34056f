import type { Command } from 'commander'
import { TsgitError, UsageError } from '../../errors.js'
import { log, type PrettyFormat } from '../../ops/log.js'
import { commandIndex } from '../command-name.js'
import { withRepoContext, writeOut, type CommandModule } from '../command.js'

/** `--pretty=<x>` / `--format=<x>`: a built-in name, `format:`, `tformat:`, or a string with a placeholder (tformat). */
function prettyFormat(value: string): PrettyFormat {
  if (value === '') return { kind: 'user', format: '', terminator: true }
  if (value === 'medium') return { kind: 'medium' }
  if (value === 'oneline') return { kind: 'oneline' }
  if (value.startsWith('format:')) return { kind: 'user', format: value.slice('format:'.length), terminator: false }
  if (value.startsWith('tformat:')) return { kind: 'user', format: value.slice('tformat:'.length), terminator: true }
  if (value.includes('%')) return { kind: 'user', format: value, terminator: true }
  throw new TsgitError('E_USAGE', `invalid --pretty format: ${value}`)
}

/** git reads a count as atoi does: leading digits, else 0; a negative count is no limit. */
function count(value: string): number {
  const m = /^\s*([+-]?\d+)/.exec(value)
  const n = m === null ? 0 : Number(m[1])
  return n < 0 ? Number.MAX_SAFE_INTEGER : n
}

/** `-n` with nothing after it: git says so as an error, and exits 128. */
export class MissingCountError extends TsgitError {
  constructor() {
    super('E_USAGE', '-n requires an argument')
  }
}

interface LogArgs {
  revisions: string[]
  maxCount?: number
  format: PrettyFormat
  abbrevCommit: boolean
  decorate: boolean
}

/** git log's words, in order: a later option wins over an earlier one, as in git. */
export function parseLogArgs(words: readonly string[]): LogArgs {
  const out: LogArgs = { revisions: [], format: { kind: 'medium' }, abbrevCommit: false, decorate: false }
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string
    if (w === '--') {
      if (i < words.length - 1) throw new UsageError('log: paths are not supported')
      break
    }
    let m: RegExpExecArray | null
    if (w === '-n' || w === '--max-count') {
      const value = words[++i]
      if (value === undefined) throw new MissingCountError()
      out.maxCount = count(value)
    } else if ((m = /^-n(.+)$/.exec(w)) !== null || (m = /^--max-count=(.*)$/.exec(w)) !== null || (m = /^-(\d+)$/.exec(w)) !== null) out.maxCount = count(m[1] as string)
    else if (w === '--pretty') out.format = { kind: 'medium' }
    else if (w.startsWith('--pretty=') || w.startsWith('--format=')) out.format = prettyFormat(w.slice(w.indexOf('=') + 1))
    else if (w === '--oneline') {
      out.format = { kind: 'oneline' }
      out.abbrevCommit = true
    } else if (w === '--abbrev-commit') out.abbrevCommit = true
    else if (w === '--no-abbrev-commit') out.abbrevCommit = false
    else if (w === '--decorate' || w === '--decorate=short') out.decorate = true
    else if (w === '--no-decorate') out.decorate = false
    else if (w === '--all' || w === '--not' || !w.startsWith('-') || w === '-') out.revisions.push(w)
    else throw new UsageError(`unknown option '${w}'`)
  }
  return out
}

export const logCommand: CommandModule = {
  name: 'log',
  summary: 'Show the commit history (commits only: no diffs, no paths)',
  configure(cmd: Command) {
    // -<n> and the order of --pretty/--oneline matter: exec reads the words itself.
    cmd
      .argument('[revisions...]', 'where the history starts (default HEAD); ^<rev>, <a>..<b>, --all, --not as rev-list')
      .allowUnknownOption()
      .allowExcessArguments()
      .addHelpText(
        'after',
        `
Options:
  -n <n>, -<n>, --max-count=<n>   show at most <n> commits
  --format=<fmt>, --pretty=format:<fmt>, --pretty=tformat:<fmt>
                                  git's placeholders (%H %h %T %t %P %p %an %ae %ad %at %ai %aI %ar,
                                  the same with %c, %s %b %B %d %D %n %% %xNN)
  --pretty[=medium|oneline]       a built-in format (default medium)
  --oneline                       --pretty=oneline --abbrev-commit
  --abbrev-commit, --decorate, --no-decorate
`,
      )
  },
  async exec(ctx) {
    const words = ctx.argv.slice((commandIndex(ctx.argv) ?? ctx.argv.length) + 1)
    const display = ctx.display({})
    let parsed: LogArgs
    try {
      parsed = parseLogArgs(words)
    } catch (e) {
      if (!(e instanceof MissingCountError)) throw e
      display.error(e.message)
      return 128
    }
    await withRepoContext(ctx, display, { lazyFetch: ctx.lazyFetch }, (rc) =>
      log(rc, { ...parsed, now: Math.floor(Date.now() / 1000), write: (text) => writeOut(ctx.stdout, Buffer.from(text, 'utf8')) }),
    )
    return 0
  },
}
