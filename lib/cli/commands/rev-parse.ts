import type { Command } from 'commander'
import { revParse } from '../../ops/rev-parse.js'
import { commandIndex } from '../command-name.js'
import { withRepoContext, writeOut, type CommandModule } from '../command.js'

export const revParseCommand: CommandModule = {
  name: 'rev-parse',
  summary: 'Print the object ids revisions name, and where the repository is',
  configure(cmd: Command) {
    // Every word matters where it stands (--short, --abbrev-ref apply to what follows;
    // --git-dir prints between the revisions around it): exec reads them in order.
    cmd
      .argument('[args...]', 'revisions and options, taken in order')
      .allowUnknownOption()
      .allowExcessArguments()
      .helpOption('-h, --help', 'display help for command')
      .addHelpText(
        'after',
        `
Options (taken in order):
  --verify                 exactly one revision, else "fatal: Needed a single revision"
  -q, --quiet              with --verify: exit 1 and say nothing instead
  --short[=<n>]            abbreviated ids (unique, at least <n>, default core.abbrev); implies --verify
  --abbrev-ref[=strict|loose]  ref names as their shortest unambiguous form
  --symbolic-full-name     ref names in full
  --git-dir, --absolute-git-dir, --show-toplevel, --show-prefix, --show-cdup
  --is-inside-work-tree, --is-inside-git-dir, --is-bare-repository, --is-shallow-repository
  --                       what follows is printed as it is
`,
      )
  },
  async exec(ctx) {
    const words = ctx.argv.slice((commandIndex(ctx.argv) ?? ctx.argv.length) + 1)
    const display = ctx.display({})
    let out = ''
    try {
      return await withRepoContext(ctx, display, { lazyFetch: ctx.lazyFetch }, (rc) =>
        revParse(rc, {
          args: words,
          cwd: ctx.cwd,
          write: (text) => {
            out += text
          },
          error: (message) => display.error(message),
          warn: (message) => display.warn(message),
        }),
      )
    } finally {
      // like git, what was printed before a fatal error still reaches the output
      await writeOut(ctx.stdout, Buffer.from(out, 'utf8'))
    }
  },
}
