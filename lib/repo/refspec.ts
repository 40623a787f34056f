/**
 * Fetch refspecs (`[+]<src>:<dst>`, at most one `*` on each side), as git-fetch(1)
 * describes them: how a remote's refs map to local ones.
 */

export interface Refspec {
  /** '+': the destination is updated even when the update is not a fast-forward. */
  force: boolean
  src: string
  dst: string
  /** Both sides have a '*'. */
  glob: boolean
}

/** Parses a fetch refspec; undefined for what tsgit does not take (negative `^`, no `:`, a `*` on one side only). */
export function parseRefspec(spec: string): Refspec | undefined {
  const force = spec.startsWith('+')
  const body = force ? spec.slice(1) : spec
  if (body.startsWith('^')) return undefined
  const colon = body.indexOf(':')
  if (colon < 0) return undefined
  const src = body.slice(0, colon)
  const dst = body.slice(colon + 1)
  const stars = (s: string): number => s.split('*').length - 1
  if (stars(src) > 1 || stars(dst) > 1 || stars(src) !== stars(dst) || src === '') return undefined
  return { force, src, dst, glob: stars(src) === 1 }
}

/** Maps `ref` through a fetch refspec (one '*' at most on each side); undefined when it does not match. */
export function mapRefspec(spec: string, ref: string, reverse: boolean): string | undefined {
  const body = spec.startsWith('+') ? spec.slice(1) : spec
  const colon = body.indexOf(':')
  if (colon < 0) return undefined
  const [from, to] = reverse ? [body.slice(colon + 1), body.slice(0, colon)] : [body.slice(0, colon), body.slice(colon + 1)]
  const star = from.indexOf('*')
  if (star < 0) return ref === from ? to : undefined
  const pre = from.slice(0, star)
  const post = from.slice(star + 1)
  if (!ref.startsWith(pre) || !ref.endsWith(post) || ref.length < pre.length + post.length) return undefined
  return to.replace('*', ref.slice(pre.length, ref.length - post.length))
}

/** What to ask ls-refs for (`ref-prefix`): the source up to its '*', or all of it. */
export function refspecPrefix(r: Refspec): string {
  const star = r.src.indexOf('*')
  return star < 0 ? r.src : r.src.slice(0, star)
}
