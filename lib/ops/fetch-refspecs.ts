/**
 * Which refs a fetch takes and where they go, as git's fetch decides: the remote's
 * configured refspecs (remote.<name>.fetch, tagOpt), or those on the command line (a
 * short name looked up as git looks names up, `src:refs/...`, globs, an object id),
 * with git's opportunistic update of the remote-tracking refs. Pure: the remote's refs
 * come in, mappings go out.
 */
import { TsgitError, UsageError } from '../errors.js'
import type { Oid } from '../oid.js'
import type { RemoteRef } from '../protocol/index.js'
import type { ConfigReader } from '../repo/config.js'
import { isValidRefName } from '../repo/refs.js'
import { mapRefspec, parseRefspec, type Refspec } from '../repo/refspec.js'

export interface Mapping {
  src: string
  dst: string
  oid: Oid
  force: boolean
  /** Not named by a refspec: a tag followed because what it points at is here. */
  followed?: boolean
  /** Named on the command line: written to FETCH_HEAD for merge. */
  cli?: boolean
}

/** A refspec from the command line. */
export interface CliRefspec {
  force: boolean
  src: string
  /** '' when there is none: FETCH_HEAD only. */
  dst: string
  /** The source is an object id. */
  oid?: Oid
  /** The source has a '*'. */
  glob?: Refspec
}

/**
 * A negative refspec (`^<ref>` or `^<glob>`): the remote refs it matches are not
 * fetched. undefined when `raw` is not one; git's error for one with a destination or '+'.
 */
export function parseNegativeRefspec(raw: string): string | undefined {
  const body = raw.startsWith('+') ? raw.slice(1) : raw
  if (!body.startsWith('^')) return undefined
  const src = body.slice(1)
  if (raw.startsWith('+') || src === '' || src.includes(':') || src.split('*').length > 2 || /^[0-9a-f]{40}$/.test(src)) throw new TsgitError('E_REFSPEC', `invalid refspec '${raw}'`)
  return src
}

/** Whether a negative refspec excludes the remote ref `name` (a full name, or a glob's match). */
export function excludedBy(negatives: readonly string[], name: string): boolean {
  return negatives.some((n) => (n.includes('*') ? mapRefspec(`${n}:${n}`, name, false) !== undefined : n === name))
}

/** git's ref_rev_parse_rules: where a short name is looked for among the remote's refs, in order. */
export function nameCandidates(name: string): string[] {
  return name.startsWith('refs/') ? [name] : [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`]
}

export function parseCliRefspec(raw: string): CliRefspec {
  const force = raw.startsWith('+')
  const body = force ? raw.slice(1) : raw
  const colon = body.indexOf(':')
  const src = colon < 0 ? body : body.slice(0, colon)
  const dst = colon < 0 ? '' : body.slice(colon + 1)
  if (src === '' || src.startsWith('^')) throw new UsageError(`invalid refspec '${raw}'`)
  if (src.includes('*')) {
    const glob = parseRefspec(raw)
    if (glob === undefined) throw new UsageError(`invalid refspec '${raw}'`)
    return { force, src, dst, glob }
  }
  // git also takes a short destination and works out where it goes; tsgit wants it whole.
  if (dst !== '' && !(dst.startsWith('refs/') && isValidRefName(dst))) {
    throw new UsageError(`the destination of refspec '${raw}' must be a full ref name (refs/...)`)
  }
  return /^[0-9a-f]{40}$/.test(src) ? { force, src, dst, oid: src } : { force, src, dst }
}

/** What the command-line refspecs name among the remote's refs, in their order. */
export function mapCliRefs(specs: readonly CliRefspec[], refs: readonly RemoteRef[]): Mapping[] {
  const out: Mapping[] = []
  for (const s of specs) {
    if (s.glob !== undefined) {
      for (const m of mapRefs([s.glob], refs)) out.push({ ...m, cli: true })
      continue
    }
    if (s.oid !== undefined) {
      out.push({ src: s.oid, dst: s.dst, oid: s.oid, force: s.force, cli: true })
      continue
    }
    let found: RemoteRef | undefined
    for (const c of nameCandidates(s.src)) {
      found = refs.find((r) => r.name === c && r.oid !== undefined)
      if (found !== undefined) break
    }
    if (found === undefined) throw new TsgitError('E_NO_REMOTE_REF', `couldn't find remote ref ${s.src}`)
    out.push({ src: found.name, dst: s.dst, oid: found.oid as Oid, force: s.force, cli: true })
  }
  return out
}

/** git's opportunistic update: the remote-tracking refs the configured refspecs give what the command line fetched. */
export function opportunistic(fetched: readonly Mapping[], specs: readonly Refspec[]): Mapping[] {
  const out: Mapping[] = []
  const seen = new Set(fetched.map((m) => m.dst))
  for (const m of fetched) {
    if (!m.src.startsWith('refs/')) continue
    for (const spec of specs) {
      const dst = mapRefspec(`${spec.force ? '+' : ''}${spec.src}:${spec.dst}`, m.src, false)
      if (dst === undefined) continue
      if (dst !== '' && isValidRefName(dst) && !seen.has(dst)) {
        seen.add(dst)
        out.push({ src: m.src, dst, oid: m.oid, force: spec.force })
      }
      break
    }
  }
  return out
}

export function remoteRefspecs(config: ConfigReader, remote: string, tags: boolean | undefined): { specs: Refspec[]; follow: boolean; negatives: string[] } {
  const specs: Refspec[] = []
  const negatives: string[] = []
  for (const raw of config.getAll(`remote.${remote}.fetch`)) {
    if (raw === null) continue
    const negative = parseNegativeRefspec(raw)
    if (negative !== undefined) {
      negatives.push(negative)
      continue
    }
    const spec = parseRefspec(raw)
    if (spec === undefined) throw new TsgitError('E_REFSPEC', `invalid refspec '${raw}' (remote.${remote}.fetch)`)
    specs.push(spec)
  }
  const tagOpt = config.getString(`remote.${remote}.tagOpt`)
  const mode = tags ?? (tagOpt === '--no-tags' ? false : tagOpt === '--tags' ? true : undefined)
  if (mode === true) specs.push({ force: false, src: 'refs/tags/*', dst: 'refs/tags/*', glob: true })
  return { specs, follow: mode === undefined, negatives }
}

/** The remote refs the refspecs map, in refspec order then the server's. */
export function mapRefs(specs: readonly Refspec[], refs: readonly RemoteRef[]): Mapping[] {
  const out: Mapping[] = []
  const taken = new Set<string>()
  for (const spec of specs) {
    const text = `${spec.force ? '+' : ''}${spec.src}:${spec.dst}`
    for (const r of refs) {
      if (r.oid === undefined || r.name === 'HEAD') continue
      const dst = mapRefspec(text, r.name, false)
      if (dst === undefined || taken.has(dst)) continue
      if (dst !== '' && !isValidRefName(dst)) continue
      taken.add(dst)
      out.push({ src: r.name, dst, oid: r.oid, force: spec.force })
    }
  }
  return out
}

