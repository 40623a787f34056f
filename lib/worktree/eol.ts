/**
 * End-of-line conversion as gitattributes(5) and git-config(1) (core.autocrlf,
 * core.eol) describe it, both ways: a blob to the bytes of its file ("smudge": LF to
 * CRLF where the line endings asked for are CRLF) and a file to what git hashes for it
 * ("clean": CRLF to LF for text). Checked against git 2.39 by experiment:
 *
 * - `text` (or legacy `crlf`) set: always text; `eol=crlf`/`eol=lf` imply text;
 *   `-text`/`-crlf` (and `binary`): never converted; `text=input`/`crlf=input`: text
 *   with LF endings.
 * - `text=auto` (and core.autocrlf true/input for paths with no text attribute): git
 *   decides from the content: a blob with a NUL, a lone CR, or more than one
 *   non-printable byte in 128 printable ones is binary; a blob that already has a CR
 *   (CRLF or lone) is left alone on checkout, and a file whose index blob has a CRLF
 *   (and does not look binary) is hashed as it is.
 * - The line endings of a text path: `eol`, else core.autocrlf (true: CRLF, input:
 *   LF), else core.eol (native is LF here).
 * - Only a lone LF gains a CR; a CRLF already in an explicitly-text blob stays as is.
 */

/** How a path is converted, after attributes and configuration are combined. */
export type CrlfAction =
  /** never converted */
  | 'binary'
  /** text with LF endings in the work tree */
  | 'text-input'
  /** text with CRLF endings in the work tree */
  | 'text-crlf'
  /** git decides from the content; endings from core.eol */
  | 'auto'
  /** git decides; LF endings */
  | 'auto-input'
  /** git decides; CRLF endings */
  | 'auto-crlf'

export type AutoCrlf = 'true' | 'false' | 'input'

/** core.autocrlf and core.eol, as they bear on line endings. */
export interface EolConfig {
  autocrlf: AutoCrlf
  /** core.eol, `native` resolved (LF on this system); undefined: not set. */
  eol: 'lf' | 'crlf' | undefined
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1'])

/** core.autocrlf's value: a boolean or `input`. */
export function parseAutoCrlf(value: string | null | undefined): AutoCrlf {
  if (value === null) return 'true'
  if (value === undefined) return 'false'
  const v = value.toLowerCase()
  if (v === 'input') return 'input'
  if (TRUE_WORDS.has(v)) return 'true'
  const n = Number(v)
  return v !== '' && Number.isInteger(n) && n !== 0 ? 'true' : 'false'
}

/** core.eol's value: lf, crlf, native (LF here); anything else is not set. */
export function parseCoreEol(value: string | null | undefined): EolConfig['eol'] {
  const v = value?.toLowerCase()
  if (v === 'lf' || v === 'native') return 'lf'
  if (v === 'crlf') return 'crlf'
  return undefined
}

/** The attributes that decide line endings, as AttributeMatcher answers them. */
export interface EolAttributes {
  text: boolean | string | undefined
  crlf: boolean | string | undefined
  eol: boolean | string | undefined
}

export const EOL_ATTRIBUTES = ['text', 'crlf', 'eol'] as const

type Declared = 'text' | 'binary' | 'input' | 'auto' | undefined

function declared(v: boolean | string | undefined): Declared {
  if (v === true) return 'text'
  if (v === false) return 'binary'
  if (v === 'input') return 'input'
  if (v === 'auto') return 'auto'
  return undefined
}

/** Whether text with no `eol` of its own gets CRLF endings. */
function textEolIsCrlf(config: EolConfig): boolean {
  if (config.autocrlf === 'true') return true
  if (config.autocrlf === 'input') return false
  return config.eol === 'crlf'
}

/** How a path with these attributes is converted under this configuration. */
export function crlfAction(attrs: EolAttributes, config: EolConfig): CrlfAction {
  let d = declared(attrs.text)
  if (d === undefined) d = declared(attrs.crlf)
  if (d === 'binary') return 'binary'
  const eol = attrs.eol === 'lf' || attrs.eol === 'crlf' ? attrs.eol : undefined
  if (d === 'auto') return eol === 'lf' ? 'auto-input' : eol === 'crlf' ? 'auto-crlf' : 'auto'
  if (eol === 'lf') return 'text-input'
  if (eol === 'crlf') return 'text-crlf'
  if (d === 'input') return 'text-input'
  if (d === 'text') return textEolIsCrlf(config) ? 'text-crlf' : 'text-input'
  if (config.autocrlf === 'true') return 'auto-crlf'
  if (config.autocrlf === 'input') return 'auto-input'
  return 'binary'
}

/** Whether files of this action are written with CRLF endings (when converted at all). */
export function writesCrlf(action: CrlfAction, config: EolConfig): boolean {
  return action === 'text-crlf' || action === 'auto-crlf' || (action === 'auto' && textEolIsCrlf(config))
}

const isAuto = (a: CrlfAction): boolean => a === 'auto' || a === 'auto-input' || a === 'auto-crlf'

export interface TextStats {
  nul: number
  lonecr: number
  lonelf: number
  crlf: number
  printable: number
  nonprintable: number
}

/** Counts what git's content heuristic looks at. */
export function textStats(data: Uint8Array): TextStats {
  const s: TextStats = { nul: 0, lonecr: 0, lonelf: 0, crlf: 0, printable: 0, nonprintable: 0 }
  const n = data.length
  for (let i = 0; i < n; i++) {
    const c = data[i] as number
    if (c === 13) {
      if (i + 1 < n && data[i + 1] === 10) {
        s.crlf++
        i++
      } else s.lonecr++
    } else if (c === 10) s.lonelf++
    else if (c === 127) s.nonprintable++
    else if (c >= 32) s.printable++
    // backspace, tab, escape and form feed count as printable
    else if (c === 8 || c === 9 || c === 27 || c === 12) s.printable++
    else {
      if (c === 0) s.nul++
      s.nonprintable++
    }
  }
  // a trailing ^Z (DOS end of file) is not held against the content
  if (n > 0 && data[n - 1] === 26) s.nonprintable--
  return s
}

/** git's guess that content is binary: a NUL, a lone CR, or too many non-printable bytes. */
export function looksBinary(s: TextStats): boolean {
  return s.lonecr > 0 || s.nul > 0 || s.printable >> 7 < s.nonprintable
}

/** The bytes of the file for a blob (checkout). The same buffer when nothing changes. */
export function toWorkTree(data: Buffer, action: CrlfAction, config: EolConfig): Buffer {
  if (data.length === 0 || !writesCrlf(action, config)) return data
  const s = textStats(data)
  if (s.lonelf === 0) return data
  if (isAuto(action) && (s.lonecr > 0 || s.crlf > 0 || looksBinary(s))) return data
  const out = Buffer.allocUnsafe(data.length + s.lonelf)
  let o = 0
  let from = 0
  for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) {
    if (i > 0 && data[i - 1] === 13) continue
    o += data.copy(out, o, from, i)
    out[o++] = 13
    from = i
  }
  o += data.copy(out, o, from)
  return out.subarray(0, o)
}

/** What git hashes for a work-tree file (`data`) of a path with this action. */
export interface Cleaned {
  data: Buffer
  /**
   * git hashes the file as it is instead when its index blob holds a CRLF and does not
   * look binary (text=auto's safety): a caller comparing with the blob without reading
   * it tries both, which gives the same answer (a blob matching the file as it is
   * either has such a CRLF, or the file looks binary and `data` is the file itself).
   */
  asIsIfIndexHasCr: boolean
}

/** CRLF to LF where git would convert a file when it hashes it (status, checks before a switch). */
export function toGit(data: Buffer, action: CrlfAction): Cleaned {
  const auto = isAuto(action)
  if (action === 'binary' || data.length === 0) return { data, asIsIfIndexHasCr: false }
  const s = textStats(data)
  if (s.crlf === 0) return { data, asIsIfIndexHasCr: false }
  if (auto && looksBinary(s)) return { data, asIsIfIndexHasCr: false }
  const out = Buffer.allocUnsafe(data.length - s.crlf)
  let o = 0
  let from = 0
  for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) {
    if (i === 0 || data[i - 1] !== 13) continue
    o += data.copy(out, o, from, i - 1)
    from = i
  }
  o += data.copy(out, o, from)
  return { data: out.subarray(0, o), asIsIfIndexHasCr: auto }
}
