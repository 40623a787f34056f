import type { Command } from 'commander'
import { opContext, writeOut, type CommandModule } from '../command.js'
import { UsageError } from '../../errors.js'
import { directoriesFromInput, sparseCheckout, type SparseCheckoutCommand } from '../../ops/sparse-checkout.js'

const USAGE = 'usage: tsgit sparse-checkout (init | list | set | add | reapply | disable) [<options>]'

/** The options each subcommand takes (git's); any other is a usage error. */
const ALLOWED: Record<SparseCheckoutCommand, readonly string[]> = {
  init: ['cone', 'sparseIndex'],
  set: ['cone', 'sparseIndex', 'skipChecks', 'stdin'],
  add: ['skipChecks', 'stdin'],
  reapply: ['cone', 'sparseIndex'],
  list: [],
  disable: [],
}

const SPELLING: Record<string, string> = { cone: '--[no-]cone', sparseIndex: '--[no-]sparse-index', skipChecks: '--skip-checks', stdin: '--stdin' }

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

export const sparseCheckoutCommand: CommandModule = {
  name: 'sparse-checkout',
  summary: 'Check out only some directories (cone mode): init, set, add, reapply, list, disable',
  configure(cmd: Command) {
    cmd
      .argument('<subcommand>', 'init, set, add, reapply, list or disable')
      .argument('[directory...]', 'set, add: the directories of the cone')
      .option('--cone', 'cone mode (the default; the only mode tsgit supports)')
      .option('--no-cone', 'non-cone (pattern) mode: refused')
      .option('--sparse-index', 'a sparse index: refused')
      .option('--no-sparse-index', 'a full index (index.sparse=false)')
      .option('--skip-checks', 'take the directories as given: globs, a leading !, names of files')
      .option('--stdin', 'read the directories from standard input, one a line')
  },
  async exec(ctx, args, opts) {
    const [sub, ...dirs] = args
    if (sub === undefined || !Object.hasOwn(ALLOWED, sub)) throw new UsageError(`${sub === undefined ? 'need a subcommand' : `unknown subcommand: '${sub}'`}\n${USAGE}`)
    const command = sub as SparseCheckoutCommand
    for (const key of Object.keys(opts)) {
      if (opts[key] !== undefined && !ALLOWED[command].includes(key)) throw new UsageError(`tsgit sparse-checkout ${command} does not take ${SPELLING[key] ?? key}\n${USAGE}`)
    }
    if (dirs.length > 0 && command !== 'set' && command !== 'add') throw new UsageError(`tsgit sparse-checkout ${command} takes no arguments\n${USAGE}`)
    if (dirs.length > 0 && opts.stdin === true) throw new UsageError('--stdin and directory arguments cannot be used together')
    const directories = opts.stdin === true ? directoriesFromInput(await readAll(ctx.stdin)) : dirs
    if (command === 'add' && directories.length === 0) throw new UsageError(`tsgit sparse-checkout add needs directories\n${USAGE}`)
    const display = ctx.display({})
    const r = await sparseCheckout(opContext(ctx, display), command, {
      directories,
      lazyFetch: ctx.lazyFetch,
      ...(typeof opts.cone === 'boolean' ? { cone: opts.cone } : {}),
      ...(typeof opts.sparseIndex === 'boolean' ? { sparseIndex: opts.sparseIndex } : {}),
      ...(opts.skipChecks === true ? { skipChecks: true } : {}),
    })
    if (r.lines.length > 0) await writeOut(ctx.stdout, Buffer.from(r.lines.map((l) => `${l}\n`).join(''), 'utf8'))
    return 0
  },
}
