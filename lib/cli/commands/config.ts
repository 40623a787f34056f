/**
 * `tsgit config`: the command line of git config 2.39 (one action, one file, one type);
 * what each action does is lib/ops/config.ts.
 */
import { Option, type Command } from 'commander'
import { opContext, type CommandModule } from '../command.js'
import { UsageError } from '../../errors.js'
import { ConfigCommandError, config, type ConfigAction, type ConfigValueType } from '../../ops/config.js'

function valueType(opts: Record<string, unknown>): ConfigValueType | undefined {
  const types: string[] = []
  if (opts.bool === true) types.push('bool')
  if (opts.int === true) types.push('int')
  if (typeof opts.type === 'string') {
    if (opts.type !== 'bool' && opts.type !== 'int') throw new UsageError(`unrecognized --type argument, ${opts.type}`)
    types.push(opts.type)
  }
  if (new Set(types).size > 1) throw new UsageError('only one type at a time')
  return types[0] as ConfigValueType | undefined
}

function chooseAction(opts: Record<string, unknown>, args: string[]): ConfigAction {
  const flags: ConfigAction[] = []
  if (opts.get === true) flags.push('get')
  if (opts.getAll === true) flags.push('get-all')
  if (opts.add === true) flags.push('add')
  if (opts.unset === true) flags.push('unset')
  if (opts.unsetAll === true) flags.push('unset-all')
  if (opts.list === true) flags.push('list')
  if (flags.length > 1) throw new UsageError('only one action at a time')
  const action = flags[0] ?? (args.length === 1 ? 'get' : args.length === 2 ? 'set' : undefined)
  if (action === undefined) throw new UsageError('wrong number of arguments, should be from 1 to 2')
  const want: Record<ConfigAction, number> = { get: 1, 'get-all': 1, add: 2, unset: 1, 'unset-all': 1, list: 0, set: 2 }
  if (args.length !== want[action]) throw new UsageError(`wrong number of arguments, should be ${want[action]}`)
  return action
}

export const configCommand: CommandModule = {
  name: 'config',
  summary: 'Get and set repository or global options',
  configure(cmd: Command) {
    cmd
      .argument('[name]', 'the variable, as section.key or section.subsection.key')
      .argument('[value]', 'the value to set')
      .option('-f, --file <file>', 'use the given config file')
      .option('--local', 'use the repository config file')
      .option('--global', 'use the global config file')
      .option('--system', 'use the system config file')
      .option('--get', 'get the last value')
      .option('--get-all', 'get all values')
      .option('--add', 'add a new value to a multi-valued variable')
      .option('--unset', 'remove the variable (it must have one value)')
      .option('--unset-all', 'remove every value of the variable')
      .option('-l, --list', 'list every variable')
      .option('--show-origin', 'with --list, show the file each variable comes from')
      .option('--bool', 'the value is "true" or "false"')
      .option('--int', 'the value is a decimal number')
      .addOption(new Option('-t, --type <type>', 'the value has this type').choices(['bool', 'int']))
  },
  async exec(ctx, args, opts) {
    const display = ctx.display({})
    const type = valueType(opts)
    const action = chooseAction(opts, args)
    const [name, value] = args
    try {
      const r = await config(opContext(ctx, display), {
        action,
        name,
        value,
        type,
        file: typeof opts.file === 'string' ? opts.file : undefined,
        local: opts.local === true,
        global: opts.global === true,
        system: opts.system === true,
        showOrigin: opts.showOrigin === true,
      })
      let out = ''
      for (const v of r.variables ?? []) out += `${v.origin !== undefined ? `${v.origin}\t` : ''}${v.key}${v.value === null ? '' : `=${v.value}`}\n`
      for (const v of r.values ?? []) out += `${v}\n`
      if (out !== '') ctx.stdout.write(out)
      return r.exitCode
    } catch (e) {
      // git reports these as "error:" with its own exit statuses, not as fatal
      if (e instanceof ConfigCommandError) {
        display.error(e.message)
        return e.exitCode
      }
      throw e
    }
  },
}
