/**
 * Object filter specs (rev-list-options "--filter", partial-clone). Parsing is pure so
 * a bad --filter is refused before any network traffic. Messages and the edge cases of
 * what is accepted follow git 2.39, checked against it in test/protocol/filter.test.ts.
 *
 * Deviation: git dies with exit 128 on a bad filter-spec; tsgit raises UsageError (129).
 */
import { UsageError } from '../errors.js'
import { OBJECT_TYPES, type ObjectType } from '../oid.js'

export type FilterSpec =
  | { kind: 'blob:none'; text: string }
  | { kind: 'blob:limit'; limit: bigint; text: string }
  | { kind: 'tree'; depth: bigint; text: string }
  | { kind: 'object:type'; objectType: ObjectType; text: string }
  | { kind: 'sparse:oid'; expression: string; text: string }
  | { kind: 'combine'; filters: FilterSpec[]; text: string }

/** git stores these numbers as unsigned long (64-bit here). */
const ULONG_MAX = (1n << 64n) - 1n

const UNIT: Record<string, bigint> = { '': 1n, k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n }

/**
 * git's unsigned number syntax for config-like values: optional leading whitespace and
 * '+', C base prefixes (0x hex, 0 octal), one k/m/g unit (any case), no '-' anywhere,
 * nothing after the unit, result within unsigned long.
 */
export function parseGitUlong(s: string): bigint | undefined {
  if (s.length === 0 || s.includes('-')) return undefined
  const m = /^[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(.*)$/s.exec(s)
  if (m === null) return undefined
  const digits = m[1] as string
  const rest = m[2] as string
  let value: bigint
  if (/^0[xX]/.test(digits)) value = BigInt(digits)
  else if (digits.length > 1 && digits.startsWith('0')) value = BigInt(`0o${digits.slice(1)}`)
  else value = BigInt(digits)
  const factor = UNIT[rest.toLowerCase()]
  if (factor === undefined || rest.length > 1) return undefined
  const scaled = value * factor
  if (value > ULONG_MAX || scaled > ULONG_MAX) return undefined
  return scaled
}

function invalid(spec: string): UsageError {
  return new UsageError(`invalid filter-spec '${spec}'`)
}

/** Characters a combine: sub-spec must percent-encode (plus '+' and '%', which the splitter and decoder own). */
const RESERVED = new Set('~`!@#$^&*()[]{}\\;\'",<>?')

/** git compares signed chars with ' ', so every byte >= 0x80 counts as reserved too. */
function isReservedByte(b: number): boolean {
  return b <= 0x20 || b >= 0x80 || RESERVED.has(String.fromCharCode(b))
}

function percentDecode(s: string): string {
  const bytes = Buffer.from(s, 'utf8')
  const out: number[] = []
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    if (b === 0x25 && i + 2 < bytes.length && /^[0-9a-fA-F]{2}$/.test(bytes.subarray(i + 1, i + 3).toString('latin1'))) {
      out.push(parseInt(bytes.subarray(i + 1, i + 3).toString('latin1'), 16))
      i += 2
    } else {
      out.push(b)
    }
  }
  return Buffer.from(out).toString('utf8')
}

/** Percent-encodes one sub-spec for combine:, lowercase hex like git. */
export function encodeSubSpec(s: string): string {
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) {
    if (isReservedByte(b) || b === 0x25 || b === 0x2b) out += `%${b.toString(16).padStart(2, '0')}`
    else out += String.fromCharCode(b)
  }
  return out
}

/**
 * git splits combine: on '+' keeping each '+' with the piece before it, then drops the
 * '+' from every piece but the last, so "a+" stays one piece "a+" and "+a" gives "".
 */
function splitCombine(body: string): string[] {
  const pieces = body.split('+')
  if (pieces.length > 1 && pieces[pieces.length - 1] === '') {
    pieces.pop()
    pieces[pieces.length - 1] += '+'
  }
  return pieces
}

function parseCombine(spec: string, body: string): FilterSpec {
  if (body.length === 0) throw new UsageError('expected something after combine:')
  const filters: FilterSpec[] = []
  for (const piece of splitCombine(body)) {
    for (const b of Buffer.from(piece, 'utf8')) {
      if (isReservedByte(b)) {
        throw new UsageError(`must escape char in sub-filter-spec: '${String.fromCharCode(b)}'`)
      }
    }
    filters.push(parseFilterSpec(percentDecode(piece)))
  }
  return { kind: 'combine', filters, text: spec }
}

/** Parses one --filter value; throws UsageError with git's message if it is not valid. */
export function parseFilterSpec(spec: string): FilterSpec {
  if (spec === 'blob:none') return { kind: 'blob:none', text: spec }
  if (spec.startsWith('blob:limit=')) {
    const limit = parseGitUlong(spec.slice('blob:limit='.length))
    if (limit === undefined) throw invalid(spec)
    return { kind: 'blob:limit', limit, text: spec }
  }
  if (spec.startsWith('tree:')) {
    const depth = parseGitUlong(spec.slice('tree:'.length))
    if (depth === undefined) throw new UsageError("expected 'tree:<depth>'")
    return { kind: 'tree', depth, text: spec }
  }
  if (spec.startsWith('sparse:oid=')) {
    return { kind: 'sparse:oid', expression: spec.slice('sparse:oid='.length), text: spec }
  }
  if (spec.startsWith('sparse:path=')) throw new UsageError('sparse:path filters support has been dropped')
  if (spec.startsWith('object:type=')) {
    const name = spec.slice('object:type='.length)
    const objectType = OBJECT_TYPES.find((t) => t === name)
    if (objectType === undefined) throw new UsageError(`'${name}' for 'object:type=<type>' is not a valid object type`)
    return { kind: 'object:type', objectType, text: spec }
  }
  if (spec.startsWith('combine:')) return parseCombine(spec, spec.slice('combine:'.length))
  throw invalid(spec)
}

/**
 * What repeated --filter options mean: one spec stays as it is; several become
 * combine:<enc1>+<enc2>... with each original spec percent-encoded, as git builds it.
 */
export function combineFilterSpecs(specs: readonly string[]): FilterSpec {
  const parsed = specs.map((s) => parseFilterSpec(s))
  const [first] = parsed
  if (first === undefined) throw new UsageError('no filter-spec given')
  if (parsed.length === 1) return first
  return { kind: 'combine', filters: parsed, text: `combine:${specs.map(encodeSubSpec).join('+')}` }
}

/**
 * The spec as sent in a fetch "filter" line. git expands the scaled number of a top-level
 * blob:limit (1k → 1024) and sends everything else as the user wrote it.
 */
export function filterToWire(spec: FilterSpec): string {
  if (spec.kind === 'blob:limit') return `blob:limit=${spec.limit}`
  return spec.text
}

/** The value git 2.39 stores in remote.<name>.partialclonefilter: the same expansion as on the wire. */
export function filterToConfig(spec: FilterSpec): string {
  return filterToWire(spec)
}
