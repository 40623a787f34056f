/**
 * The git-config grammar: a parser that follows git's character by character (so it
 * accepts and rejects what git does and reports the same line number), and the
 * canonical form of keys. Besides the entries it records the file as a run of
 * events (whitespace, comment, section header, entry) with their byte offsets: what
 * the editor (config-edit.ts) splices by.
 *
 * The text is a latin1 "binary string" so offsets are byte offsets and bytes that
 * are not valid UTF-8 survive an edit untouched; toBinary and fromBinary cross to
 * and from the UTF-8 strings of the API.
 */
import { ConfigError } from '../errors.js'

export type EventType = 'whitespace' | 'comment' | 'section' | 'entry'

export interface ParseEvent {
  type: EventType
  begin: number
  end: number
  /** For sections: the canonical prefix (`remote.origin`, `core`); for entries: the entry index. */
  prefix?: string
  /** Sections written `[branch.foo]` compare their subsection case-insensitively, as git does when writing. */
  legacy?: boolean
  entry?: number
}

/** One `key = value` occurrence as git reports it. */
export interface ConfigEntry {
  /** Canonical key: section and name lowercased, subsection kept (`remote.origin.url`). */
  key: string
  /** `null` for a key written without `=` (git's implicit true). */
  value: string | null
  /** 1-based line where the entry starts. */
  line: number
}

/** A file as events (every byte in one) and its entries, keys and values as binary strings. */
export interface Parsed {
  events: ParseEvent[]
  entries: ConfigEntry[]
}

const BOM = '\xef\xbb\xbf'

// git's ctype is ASCII-only and its isspace knows exactly these four.
export function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r'
}
function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
function isAlnum(c: string): boolean {
  return isAlpha(c) || (c >= '0' && c <= '9')
}
export function isKeyChar(c: string): boolean {
  return isAlnum(c) || c === '-'
}
/** git's tolower: ASCII only. */
export function lower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase())
}

export function toBinary(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1')
}
export function fromBinary(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8')
}

class Scanner {
  pos = 0
  eof = false
  linenr = 1
  constructor(readonly text: string) {}

  next(): string {
    const t = this.text
    if (this.pos >= t.length) {
      this.eof = true
      this.linenr++
      return '\n'
    }
    let c = t[this.pos++] as string
    if (c === '\r' && t[this.pos] === '\n') c = t[this.pos++] as string
    if (c === '\n') this.linenr++
    return c
  }
}

class ParseFailure extends Error {
  constructor(readonly linenr: number) {
    super(`bad config line ${linenr}`)
  }
}

function parseValue(sc: Scanner): string | undefined {
  let quote = false
  let comment = false
  let space = 0
  let value = ''
  for (;;) {
    let c = sc.next()
    if (c === '\n') {
      if (quote) {
        sc.linenr--
        return undefined
      }
      return value
    }
    if (comment) continue
    if (isSpace(c) && !quote) {
      if (value.length > 0) space++
      continue
    }
    if (!quote && (c === ';' || c === '#')) {
      comment = true
      continue
    }
    value += ' '.repeat(space)
    space = 0
    if (c === '\\') {
      c = sc.next()
      if (c === '\n') continue
      if (c === 't') c = '\t'
      else if (c === 'b') c = '\b'
      else if (c === 'n') c = '\n'
      else if (c !== '\\' && c !== '"') return undefined
      value += c
      continue
    }
    if (c === '"') {
      quote = !quote
      continue
    }
    value += c
  }
}

/** Reads a section header after its `[`; returns the canonical prefix or undefined on bad syntax. */
function parseHeader(sc: Scanner): { prefix: string; legacy: boolean } | undefined {
  let name = ''
  for (;;) {
    let c = sc.next()
    if (sc.eof) return undefined
    if (c === ']') return { prefix: name, legacy: true }
    if (isSpace(c)) {
      do {
        if (c === '\n') {
          sc.linenr--
          return undefined
        }
        c = sc.next()
      } while (isSpace(c))
      if (c !== '"') return undefined
      name += '.'
      for (;;) {
        let d = sc.next()
        if (d === '\n') {
          sc.linenr--
          return undefined
        }
        if (d === '"') break
        if (d === '\\') {
          d = sc.next()
          if (d === '\n') {
            sc.linenr--
            return undefined
          }
        }
        name += d
      }
      if (sc.next() !== ']') return undefined
      return { prefix: name, legacy: false }
    }
    if (!isKeyChar(c) && c !== '.') return undefined
    name += lower(c)
  }
}

/** Parses config text (a binary string); a syntax error is git's "bad config line N in file <name>". */
export function parseConfig(text: string, name: string): Parsed {
  try {
    return parse(text)
  } catch (e) {
    if (e instanceof ParseFailure) throw new ConfigError(`bad config line ${e.linenr} in file ${name}`)
    throw e
  }
}

function parse(text: string): Parsed {
  const sc = new Scanner(text)
  const events: ParseEvent[] = []
  const entries: ConfigEntry[] = []
  let prevType: EventType | 'eof' = 'eof'
  let prevOffset = 0
  let prevExtra: Partial<ParseEvent> = {}
  const flush = (type: EventType | 'eof', extra: Partial<ParseEvent> = {}): void => {
    if (type === 'whitespace' && prevType === 'whitespace') return
    const offset = type === 'eof' ? sc.pos : sc.pos - 1
    if (prevType !== 'eof') events.push({ type: prevType, begin: prevOffset, end: offset, ...prevExtra })
    prevType = type
    prevOffset = offset
    prevExtra = extra
  }

  if (text.startsWith(BOM)) sc.pos = BOM.length
  else if (text.length > 0 && text[0] === BOM[0]) throw new ParseFailure(1)

  let comment = false
  let section: string | undefined
  for (;;) {
    const c = sc.next()
    if (c === '\n') {
      if (sc.eof) {
        flush('eof')
        return { events, entries }
      }
      flush('whitespace')
      comment = false
      continue
    }
    if (comment) continue
    if (isSpace(c)) {
      flush('whitespace')
      continue
    }
    if (c === '#' || c === ';') {
      flush('comment')
      comment = true
      continue
    }
    if (c === '[') {
      const extra: Partial<ParseEvent> = {}
      flush('section', extra)
      const header = parseHeader(sc)
      if (header === undefined || header.prefix.length < 1) throw new ParseFailure(sc.linenr)
      extra.prefix = header.prefix
      extra.legacy = header.legacy
      section = header.prefix
      continue
    }
    if (!isAlpha(c)) throw new ParseFailure(sc.linenr)
    const index = entries.length
    flush('entry', { entry: index })
    let name = lower(c)
    let d: string
    for (;;) {
      d = sc.next()
      if (sc.eof || !isKeyChar(d)) break
      name += lower(d)
    }
    while (d === ' ' || d === '\t') d = sc.next()
    let value: string | null = null
    if (d !== '\n') {
      if (d !== '=') throw new ParseFailure(sc.linenr)
      const v = parseValue(sc)
      if (v === undefined) throw new ParseFailure(sc.linenr)
      value = v
    }
    // the value's newline is consumed already; git reports the entry's own last line
    entries.push({ key: section === undefined ? name : `${section}.${name}`, value, line: sc.linenr - 1 })
  }
}

export interface ParsedKey {
  /** Canonical form used for comparison. */
  key: string
  section: string
  subsection: string | undefined
  name: string
  /** `section` or `section.subsection`: what a header for this key names. */
  prefix: string
  /** The prefix and the name with the case they were given in: what git writes for a new section or key. */
  rawPrefix: string
  rawName: string
}

/**
 * Splits and canonicalises "section.key" / "section.sub.sec.key" like git: the
 * subsection is everything between the first and the last dot and keeps its case.
 */
export function parseKey(key: string): ParsedKey {
  const first = key.indexOf('.')
  const last = key.lastIndexOf('.')
  if (first <= 0) throw new ConfigError(`key does not contain a section: ${key}`)
  if (last === key.length - 1) throw new ConfigError(`key does not contain variable name: ${key}`)
  const section = key.slice(0, first)
  const name = key.slice(last + 1)
  const subsection = first === last ? undefined : key.slice(first + 1, last)
  if (![...section].every(isKeyChar) || !isAlpha(name[0] ?? '') || ![...name].every(isKeyChar)) {
    throw new ConfigError(`invalid key: ${key}`)
  }
  if (subsection !== undefined && subsection.includes('\n')) throw new ConfigError(`invalid key (newline): ${key}`)
  const prefix = subsection === undefined ? lower(section) : `${lower(section)}.${subsection}`
  const rawPrefix = subsection === undefined ? section : `${section}.${subsection}`
  return { key: `${prefix}.${lower(name)}`, section: lower(section), subsection, name: lower(name), prefix, rawPrefix, rawName: name }
}
