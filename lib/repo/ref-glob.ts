/**
 * Ref-name globs (ls-remote's patterns, fetch's --negotiation-tip) as git's wildmatch
 * reads them without WM_PATHNAME: `*` crosses `/`.
 */

/** The glob as a regular expression matching whole names. */
export function globRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2)
      if (end < 0) re += '\\['
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')
        re += `[${body}]`
        i = end
      }
    } else if (c === '\\' && i + 1 < glob.length) re += `\\${glob[++i] as string}`
    else re += c.replace(/[.+^${}()|\\/]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's')
}
