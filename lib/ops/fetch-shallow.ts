/**
 * How a fetch moves a shallow boundary: --depth, --deepen, --unshallow, --shallow-since
 * and --shallow-exclude turned into the request's deepen arguments, with git's checks
 * of the combinations (and its words for them). Pure.
 */
import { TsgitError } from '../errors.js'
import type { FetchArgs } from '../protocol/index.js'

export interface ShallowOptions {
  depth?: number
  deepen?: number
  unshallow?: boolean
  shallowSince?: number
  shallowExclude?: readonly string[]
}

/** git's INFINITE_DEPTH: what --unshallow asks for. */
const INFINITE_DEPTH = 0x7fffffff

/** The deepen arguments of the request, checked as git's fetch checks its options (its words). */
export function deepenArgs(opts: ShallowOptions, shallow: boolean): Pick<FetchArgs, 'deepen' | 'deepenRelative' | 'deepenSince' | 'deepenNot'> | undefined {
  let depth = opts.depth
  if (opts.deepen !== undefined && opts.deepen !== 0) {
    if (opts.deepen < 0) throw new TsgitError('E_DEPTH', 'negative depth in --deepen is not supported')
    if (depth !== undefined) throw new TsgitError('E_DEPTH', "options '--deepen' and '--depth' cannot be used together")
    depth = opts.deepen
  }
  if (opts.unshallow === true) {
    if (depth !== undefined) throw new TsgitError('E_DEPTH', "options '--depth' and '--unshallow' cannot be used together")
    if (!shallow) throw new TsgitError('E_DEPTH', '--unshallow on a complete repository does not make sense')
    depth = INFINITE_DEPTH
  }
  if (depth !== undefined && !(Number.isSafeInteger(depth) && depth > 0)) throw new TsgitError('E_DEPTH', `depth ${depth} is not a positive number`)
  const not = opts.shallowExclude ?? []
  if (depth === undefined && opts.shallowSince === undefined && not.length === 0) return undefined
  return {
    ...(depth !== undefined ? { deepen: depth } : {}),
    ...(opts.shallowSince !== undefined ? { deepenSince: opts.shallowSince } : {}),
    ...(not.length > 0 ? { deepenNot: not } : {}),
    ...(opts.deepen !== undefined && opts.deepen > 0 ? { deepenRelative: true } : {}),
  }
}
