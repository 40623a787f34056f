/**
 * The shortest name that still means a ref (git's shorten_unambiguous_ref, which
 * `rev-parse --abbrev-ref` and `%(refname:short)` print): the ref with one of the
 * DWIM prefixes taken off, provided no other rule would read the short name as some
 * other existing ref.
 */
import type { RefStore } from '../repo/refs.js'
import { dwimRefNames } from './parse.js'

/** The DWIM rules as patterns around the short name, in git's order of preference. */
function rules(short: string): string[] {
  return dwimRefNames(short)
}

async function exists(refs: RefStore, name: string): Promise<boolean> {
  try {
    return (await refs.resolve(name)) !== undefined
  } catch {
    return false
  }
}

/**
 * `full` shortened. strict (core.warnAmbiguousRefs, git's default): no other rule may
 * name an existing ref; loose: only the rules git tries first.
 */
export async function shortenRef(refs: RefStore, full: string, strict = true): Promise<string> {
  const patterns = rules('\0')
  // the first rule (the name itself) is the fallback; try the longest prefixes first
  for (let i = patterns.length - 1; i > 0; i--) {
    const [prefix, suffix] = (patterns[i] as string).split('\0') as [string, string]
    if (!full.startsWith(prefix) || !full.endsWith(suffix) || full.length <= prefix.length + suffix.length) continue
    const short = full.slice(prefix.length, full.length - suffix.length)
    const candidates = rules(short)
    let ambiguous = false
    for (let j = 0; j < candidates.length && !ambiguous; j++) {
      if (j === i || (!strict && j > i)) continue
      if (await exists(refs, candidates[j] as string)) ambiguous = true
    }
    if (!ambiguous) return short
  }
  return full
}
