/**
 * The command a tsgit command line runs, found without parsing it: the first word after
 * tsgit's own options (-C <path>, -c <name=value>, --no-lazy-fetch). Undefined when
 * there is none or it cannot be a command's name. Used to set up only that command
 * (main.ts) and to name its compile cache (start.ts).
 */
export function commandName(argv: readonly string[]): string | undefined {
  const i = commandIndex(argv)
  const arg = i === undefined ? undefined : argv[i]
  return arg !== undefined && /^[a-z][a-z0-9-]{0,31}$/.test(arg) ? arg : undefined
}

/** Where the command's word is in `argv` (after tsgit's own options); undefined when there is none. */
export function commandIndex(argv: readonly string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '-C' || arg === '-c') {
      i++
      continue
    }
    if (!arg.startsWith('-')) return i
  }
  return undefined
}
