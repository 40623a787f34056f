import type { Command } from 'commander'
import { UsageError } from '../../errors.js'
import { OBJECT_TYPES, type ObjectType } from '../../oid.js'
import { catFileBatch, catFileOne, catFileTyped, type CatFileMode } from '../../ops/cat-file.js'
import { withRepoContext, writeOut, type CommandModule } from '../command.js'

/** Whatever stdin holds at the moment, each time more arrives: the batch blocks. */
export async function* availableChunks(stream: NodeJS.ReadableStream): AsyncGenerator<Buffer[]> {
  let ended = false
  stream.once('end', () => {
    ended = true
  })
  for (;;) {
    const got: Buffer[] = []
    for (let c = stream.read(); c !== null; c = stream.read()) got.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c)
    if (got.length > 0) {
      yield got
      continue
    }
    if (ended) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stream.off('readable', done)
        stream.off('end', done)
        resolve()
      }
      stream.on('readable', done)
      stream.on('end', done)
    })
  }
}

export const catFileCommand: CommandModule = {
  name: 'cat-file',
  summary: 'Show the type, size or contents of objects, one by name or many from stdin (--batch)',
  configure(cmd: Command) {
    cmd
      .argument('[type-or-object]', '<object>, or <type> followed by <object>')
      .argument('[object]', 'the object, after a <type>')
      .option('-t', 'show the object type')
      .option('-s', 'show the object size')
      .option('-p', 'pretty-print the object (trees like ls-tree)')
      .option('-e', 'exit with status 0 if the object exists and is valid, 1 otherwise, printing nothing')
      .option('--batch [format]', 'for each name on stdin print "<oid> <type> <size>" (or <format>) and the contents')
      .option('--batch-check [format]', 'for each name on stdin print "<oid> <type> <size>" (or <format>)')
  },
  async exec(ctx, args, opts) {
    const modes = (['t', 's', 'p', 'e'] as const).filter((m) => opts[m] === true)
    const batch = opts.batch !== undefined ? { contents: true, v: opts.batch } : opts.batchCheck !== undefined ? { contents: false, v: opts.batchCheck } : undefined
    if (modes.length + (batch ? 1 : 0) > 1 || (opts.batch !== undefined && opts.batchCheck !== undefined)) {
      throw new UsageError('options -t, -s, -p, -e, --batch and --batch-check cannot be used together')
    }
    const display = ctx.display({})
    if (batch) {
      if (args.length > 0) throw new UsageError('--batch and --batch-check take no object names: they read them from stdin')
      await withRepoContext(ctx, display, { lazyFetch: ctx.lazyFetch }, (rc) =>
        catFileBatch(
          { refs: rc.repo.refs, store: rc.store },
          { contents: batch.contents, format: typeof batch.v === 'string' ? batch.v : undefined },
          availableChunks(ctx.stdin),
          (b) => writeOut(ctx.stdout, b),
        ),
      )
      return 0
    }
    const mode: CatFileMode | undefined = modes[0]
    if (mode !== undefined) {
      if (args.length !== 1) throw new UsageError('usage: tsgit cat-file (-t | -s | -e | -p) <object>')
      return withRepoContext(ctx, display, { lazyFetch: ctx.lazyFetch }, async (rc) => {
        const r = await catFileOne({ refs: rc.repo.refs, store: rc.store }, mode, args[0] as string)
        await writeOut(ctx.stdout, r.output)
        return r.status
      })
    }
    if (args.length !== 2 || !(OBJECT_TYPES as readonly string[]).includes(args[0] as string)) {
      throw new UsageError('usage: tsgit cat-file (-t | -s | -e | -p | <type>) <object>  or  tsgit cat-file (--batch | --batch-check)[=<format>]')
    }
    await withRepoContext(ctx, display, { lazyFetch: ctx.lazyFetch }, async (rc) =>
      writeOut(ctx.stdout, await catFileTyped({ refs: rc.repo.refs, store: rc.store }, args[0] as ObjectType, args[1] as string)),
    )
    return 0
  },
}
