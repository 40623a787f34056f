import type { Command } from 'commander'
import { UsageError } from '../../errors.js'
import { showRef, type ShowRefOptions } from '../../ops/show-ref.js'
import { commandIndex } from '../command-name.js'
import { withRepoContext, writeOut, type CommandModule } from '../command.js'

function abbrevValue(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`option '${v}' expects a numerical value`)
  return Number(v)
}

/** The words after `show-ref` (`--hash[=<n>]` and `--abbrev[=<n>]` take a value only after `=`, as in git). */
export function parseShowRefArgs(words: readonly string[]): Omit<ShowRefOptions, 'write'> {
  const o: Omit<ShowRefOptions, 'write'> & { patterns: string[] } = { patterns: [] }
  let options = true
  for (const w of words) {
    if (options && w === '--') options = false
    else if (!options || !w.startsWith('-') || w === '-') o.patterns.push(w)
    else if (w === '--heads') o.heads = true
    else if (w === '--tags') o.tags = true
    else if (w === '--verify') o.verify = true
    else if (w === '-s' || w === '--hash') o.hashOnly = true
    else if (w.startsWith('--hash=')) {
      o.hashOnly = true
      o.abbrev = abbrevValue(w.slice('--hash='.length))
    } else if (w === '--abbrev') o.abbrev = 0
    else if (w.startsWith('--abbrev=')) o.abbrev = abbrevValue(w.slice('--abbrev='.length))
    else if (w === '-d' || w === '--dereference') o.dereference = true
    else if (w === '--head') o.head = true
    else if (w === '-q' || w === '--quiet') o.quiet = true
    else throw new UsageError(`unknown option \`${w.replace(/^--?/, '')}'`)
  }
  return o
}

export const showRefCommand: CommandModule = {
  name: 'show-ref',
  summary: 'List the refs of the repository with their ids, or verify that refs exist',
  configure(cmd: Command) {
    cmd
      .argument('[patterns...]', 'show only refs whose name ends in these whole components (with --verify: full ref names)')
      .allowUnknownOption()
      .allowExcessArguments()
      .addHelpText(
        'after',
        `
Options:
  --heads, --tags        only branches, only tags (both: both)
  --verify               the refs named exactly (refs/... or HEAD); fatal when one is missing
  -q, --quiet            print nothing; only the exit code says
  -s, --hash[=<n>]       ids only (abbreviated to <n>)
  --abbrev[=<n>]         abbreviated ids
  -d, --dereference      annotated tags also as <name>^{} with the object they point to
  --head                 HEAD as well
`,
      )
  },
  async exec(ctx) {
    const words = ctx.argv.slice((commandIndex(ctx.argv) ?? ctx.argv.length) + 1)
    const parsed = parseShowRefArgs(words)
    const display = ctx.display({})
    return withRepoContext(ctx, display, { lazyFetch: ctx.lazyFetch }, (rc) => showRef(rc, { ...parsed, write: (text) => writeOut(ctx.stdout, text) }))
  },
}
