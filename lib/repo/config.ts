/**
 * git-config files: a parser that follows git's grammar character by character
 * (so it accepts and rejects what git does and reports the same line number), and
 * an editor that keeps the file's bytes and splices only the region an edit
 * touches, placing new keys where `git config` places them.
 *
 * Not the `ini` npm package: it cannot round-trip git config (no case-sensitive
 * quoted subsections, no multi-valued keys, no preservation of comments, order
 * or layout), so it must never be used for .git/config.
 *
 * The text is kept as a latin1 "binary string" so offsets are byte offsets and
 * bytes that are not valid UTF-8 survive an edit untouched; values cross the API
 * as UTF-8 strings.
 *
 * Deviations: `include.path` and `includeIf` are not followed yet. `set()` replaces
 * the last occurrence of a multi-valued key where `git config` refuses.
 */
import { readFileSync } from 'node:fs'
import { ConfigError, isNotFound } from '../errors.js'
import { LockFile } from './lock.js'

type EventType = 'whitespace' | 'comment' | 'section' | 'entry'

interface ParseEvent {
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

type ParsedEntry = ConfigEntry

interface Parsed {
  events: ParseEvent[]
  entries: ParsedEntry[]
}

const BOM = '\xef\xbb\xbf'

// git's ctype is ASCII-only and its isspace knows exactly these four.
function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r'
}
function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
function isAlnum(c: string): boolean {
  return isAlpha(c) || (c >= '0' && c <= '9')
}
function isKeyChar(c: string): boolean {
  return isAlnum(c) || c === '-'
}
function lower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase())
}

function toBinary(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1')
}
function fromBinary(s: string): string {
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

function parse(text: string): Parsed {
  const sc = new Scanner(text)
  const events: ParseEvent[] = []
  const entries: ParsedEntry[] = []
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

/** The `[section "sub"]` line git writes for a new section. */
export function formatSectionHeader(prefix: string): string {
  const dot = prefix.indexOf('.')
  if (dot < 0) return `[${prefix}]\n`
  const sub = prefix.slice(dot + 1).replace(/["\\]/g, (c) => `\\${c}`)
  return `[${prefix.slice(0, dot)} "${sub}"]\n`
}

/** The `\tname = value` line git writes: escapes always, quotes only to keep edge spaces or comment characters. */
export function formatEntry(name: string, value: string): string {
  const needsQuotes = value.startsWith(' ') || value.endsWith(' ') || /[;#]/.test(value)
  const q = needsQuotes ? '"' : ''
  const escaped = value.replace(/[\n\t"\\]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\${c}`))
  return `\t${name} = ${q}${escaped}${q}\n`
}

type Match = (entry: ParsedEntry) => boolean

function sectionNameIsOk(name: string): boolean {
  if (name.length === 0) return false
  const dot = name.indexOf('.')
  const head = dot < 0 ? name : name.slice(0, dot)
  return [...head].every(isKeyChar)
}

/**
 * If `line` (from its first non-space character) is a header naming exactly
 * `name`, returns the offset just past `]` and any following whitespace.
 * The comparison is on the raw text, as `git config --rename-section` does.
 */
function headerMatch(line: string, start: number, name: string): number | undefined {
  if (line[start] !== '[') return undefined
  let i = start + 1
  let j = 0
  let inSub = false
  for (; i < line.length && line[i] !== ']'; i++) {
    const c = line[i] as string
    if (!inSub && isSpace(c)) {
      inSub = true
      if (name[j++] !== '.') break
      for (i++; i < line.length && isSpace(line[i] as string); i++);
      if (line[i] !== '"') break
      continue
    }
    if (c === '\\' && inSub) i++
    else if (c === '"' && inSub) {
      for (i++; i < line.length && isSpace(line[i] as string); i++);
      break
    }
    if (line[i] !== name[j++]) break
  }
  if (line[i] !== ']' || j !== name.length) return undefined
  for (i++; i < line.length && isSpace(line[i] as string); i++);
  return i
}

/** One config file: its bytes, what they mean, and git-compatible edits. */
export class ConfigFile {
  private text: string
  private parsed: Parsed
  /** Used in error messages, like git's "bad config line N in file F". */
  readonly name: string

  private constructor(text: string, name: string) {
    this.name = name
    this.text = text
    this.parsed = ConfigFile.parseOrThrow(text, name)
  }

  private static parseOrThrow(text: string, name: string): Parsed {
    try {
      return parse(text)
    } catch (e) {
      if (e instanceof ParseFailure) throw new ConfigError(`bad config line ${e.linenr} in file ${name}`)
      throw e
    }
  }

  static parse(data: Buffer | string, name = '<memory>'): ConfigFile {
    return new ConfigFile(typeof data === 'string' ? toBinary(data) : data.toString('latin1'), name)
  }

  static empty(name = '<memory>'): ConfigFile {
    return new ConfigFile('', name)
  }

  /** Reads `path`; a missing file is an empty config (git treats it so). */
  static async load(path: string): Promise<ConfigFile> {
    try {
      // A config file is small, and a command reads up to three before its first request:
      // a synchronous read costs less than a thread-pool round trip.
      return ConfigFile.parse(readFileSync(path), path)
    } catch (e) {
      if (isNotFound(e)) return ConfigFile.empty(path)
      throw e
    }
  }

  toBuffer(): Buffer {
    return Buffer.from(this.text, 'latin1')
  }

  /** Writes the file through `<path>.lock`. */
  async save(path: string = this.name): Promise<void> {
    const lock = await LockFile.acquire(path)
    try {
      await lock.write(this.toBuffer())
      await lock.commit()
    } finally {
      await lock.rollback()
    }
  }

  /** Every entry in file order, values decoded as UTF-8. */
  entries(): ConfigEntry[] {
    return this.parsed.entries.map((e) => ({ key: fromBinary(e.key), value: e.value === null ? null : fromBinary(e.value), line: e.line }))
  }

  get(key: string): string | null | undefined {
    return lastValue(this.entries(), key)
  }

  getAll(key: string): (string | null)[] {
    return allValues(this.entries(), key)
  }

  /** Sets `key`: replaces its last occurrence, or adds it where git would. */
  set(key: string, value: string): void {
    const k = toBinary(parseKey(key).key)
    const matches = this.parsed.entries.filter((e) => e.key === k)
    const last = matches[matches.length - 1]
    this.edit(key, toBinary(value), last === undefined ? () => false : (e) => e === last)
  }

  /** Adds another value for a multi-valued key (`git config --add`). */
  add(key: string, value: string): void {
    this.edit(key, toBinary(value), () => false)
  }

  /** Removes the single occurrence of `key`; throws when it has several (like `git config --unset`). Returns whether it existed. */
  unset(key: string): boolean {
    const k = toBinary(parseKey(key).key)
    const n = this.parsed.entries.filter((e) => e.key === k).length
    if (n > 1) throw new ConfigError(`${key} has multiple values`)
    if (n === 0) return false
    this.edit(key, null, (e) => e.key === k)
    return true
  }

  /** Removes every occurrence of `key`; returns how many there were. */
  unsetAll(key: string): number {
    const k = toBinary(parseKey(key).key)
    const n = this.parsed.entries.filter((e) => e.key === k).length
    if (n > 0) this.edit(key, null, (e) => e.key === k)
    return n
  }

  /** Removes every section named `name` (e.g. `remote.origin`) with all its lines; returns how many. */
  removeSection(name: string): number {
    return this.rewriteSections(toBinary(name), undefined)
  }

  /** Renames every section `oldName` to `newName`; returns how many. */
  renameSection(oldName: string, newName: string): number {
    if (!sectionNameIsOk(newName)) throw new ConfigError(`invalid section name: ${newName}`)
    return this.rewriteSections(toBinary(oldName), toBinary(newName))
  }

  /** Subsection names of `section` in file order, each once (e.g. remote names). */
  subsections(section: string): string[] {
    return subsectionsOf(this.entries(), section)
  }

  private replaceText(text: string): void {
    this.parsed = ConfigFile.parseOrThrow(text, this.name)
    this.text = text
  }

  private rewriteSections(oldName: string, newName: string | undefined): number {
    const lines = this.text.match(/[^\n]*\n|[^\n]+$/g) ?? []
    let out = ''
    let count = 0
    let removing = false
    for (const line of lines) {
      let i = 0
      while (i < line.length && isSpace(line[i] as string)) i++
      if (line[i] === '[') {
        removing = false
        const offset = headerMatch(line, i, oldName)
        if (offset !== undefined) {
          count++
          if (newName === undefined) {
            removing = true
            continue
          }
          const rest = line.slice(offset)
          out += formatSectionHeader(newName)
          // a key on the header's line moves to its own line, indented
          if (rest.length > 0) out += `\t${rest}`
          continue
        }
      }
      if (!removing) out += line
    }
    if (count > 0) this.replaceText(out)
    return count
  }

  /**
   * The splice `git config` performs: `target` picks the entries to replace
   * (value) or delete (null); with none, the new entry goes after the last entry
   * of the key's last section, or into a new section at the end.
   */
  private edit(key: string, value: string | null, target: Match): void {
    const pk = parseKey(key)
    const prefix = toBinary(pk.prefix)
    const { events, entries } = this.parsed
    const text = this.text

    const inKeysSection: boolean[] = []
    const seen: number[] = []
    let seenNr = 0
    let keySeen = false
    let sectionSeen = false
    let current = false
    events.forEach((ev, idx) => {
      if (ev.type === 'section') {
        const p = ev.prefix ?? ''
        current = p.length === prefix.length && (ev.legacy === true ? lower(p) === lower(prefix) : p === prefix)
        inKeysSection[idx] = current
        if (current) {
          sectionSeen = true
          seen[seenNr] = idx
        }
        return
      }
      if (ev.type !== 'entry' || ev.entry === undefined) return
      const entry = entries[ev.entry]
      if (entry === undefined) return
      if (keySeen) {
        if (target(entry)) seen[seenNr++] = idx
      } else if (current) {
        seen[seenNr] = idx
        sectionSeen = true
        if (target(entry)) {
          seenNr++
          keySeen = true
        }
      }
    })

    if (value === null && !keySeen) return
    if (text.length === 0 || events.length === 0) {
      if (value !== null) this.replaceText(text + (text.length > 0 && !text.endsWith('\n') ? '\n' : '') + formatSectionHeader(toBinary(pk.rawPrefix)) + formatEntry(pk.rawName, value))
      return
    }
    if (seenNr === 0) {
      if (seen.length === 0) seen[0] = events.length - 1
      seenNr = 1
    }

    let out = ''
    let copyBegin = 0
    for (let i = 0; i < seenNr; i++) {
      const ev = events[seen[i] as number] as ParseEvent
      let copyEnd: number
      let replaceEnd: number
      if (!keySeen) {
        copyEnd = ev.end
        // a section header's event stops before its newline; keep the newline with it
        if (copyEnd > 0 && copyEnd < text.length && text[copyEnd - 1] !== '\n' && text[copyEnd] === '\n') copyEnd++
        replaceEnd = copyEnd
      } else {
        replaceEnd = ev.end
        copyEnd = ev.begin
        if (value === null) {
          const r = widenToSection(events, inKeysSection, seen, seenNr, i)
          if (r !== undefined) {
            copyEnd = r.begin
            replaceEnd = r.end
            i = r.seenIndex
          }
        }
        while (copyEnd > 0) {
          const c = text[copyEnd - 1] as string
          if (isSpace(c) && c !== '\n') copyEnd--
          else break
        }
      }
      const newLine = copyEnd > 0 && text[copyEnd - 1] !== '\n'
      if (copyEnd > copyBegin) {
        out += text.slice(copyBegin, copyEnd)
        if (newLine) out += '\n'
      }
      copyBegin = replaceEnd
    }
    if (value !== null) {
      if (!sectionSeen) out += formatSectionHeader(toBinary(pk.rawPrefix))
      out += formatEntry(pk.rawName, value)
    }
    if (copyBegin < text.length) out += text.slice(copyBegin)
    this.replaceText(out)
  }
}

/**
 * When unsetting removes the last entries of a section that carries no comments,
 * git removes the header too; returns the widened range, or undefined to remove
 * only the entry.
 */
function widenToSection(
  events: ParseEvent[],
  inKeysSection: boolean[],
  seen: number[],
  seenNr: number,
  seenIndex: number,
): { begin: number; end: number; seenIndex: number } | undefined {
  let s = seenIndex
  const start = seen[s] as number
  let sectionFound = false
  let i = start
  for (; i > 0; i--) {
    const prev = events[i - 1] as ParseEvent
    if (prev.type === 'comment') return undefined
    if (prev.type === 'entry') {
      if (!sectionFound) return undefined
      break
    }
    if (prev.type === 'section') {
      if (inKeysSection[i - 1] !== true) break
      sectionFound = true
    }
  }
  const begin = (events[i] as ParseEvent).begin
  for (i = start + 1; i < events.length; i++) {
    const ev = events[i] as ParseEvent
    if (ev.type === 'comment') return undefined
    if (ev.type === 'section') {
      if (inKeysSection[i] === true) continue
      break
    }
    if (ev.type === 'entry') {
      if (++s < seenNr && i === seen[s]) continue
      return undefined
    }
  }
  const end = i < events.length ? (events[i] as ParseEvent).begin : (events[events.length - 1] as ParseEvent).end
  return { begin, end, seenIndex: s }
}

function lastValue(entries: readonly ConfigEntry[], key: string): string | null | undefined {
  const k = parseKey(key).key
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i] as ConfigEntry
    if (e.key === k) return e.value
  }
  return undefined
}

function allValues(entries: readonly ConfigEntry[], key: string): (string | null)[] {
  const k = parseKey(key).key
  return entries.filter((e) => e.key === k).map((e) => e.value)
}

function subsectionsOf(entries: readonly ConfigEntry[], section: string): string[] {
  const head = `${lower(section)}.`
  const out: string[] = []
  const known = new Set<string>()
  for (const e of entries) {
    if (!e.key.startsWith(head)) continue
    const last = e.key.lastIndexOf('.')
    if (last < head.length) continue
    const sub = e.key.slice(head.length, last)
    if (!known.has(sub)) {
      known.add(sub)
      out.push(sub)
    }
  }
  return out
}

/** git's boolean text: implicit (null) and true/yes/on are true, false/no/off and "" false, integers by value. */
export function parseBool(value: string | null, key: string): boolean {
  if (value === null) return true
  const v = value.toLowerCase()
  if (v === 'true' || v === 'yes' || v === 'on') return true
  if (v === 'false' || v === 'no' || v === 'off' || v === '') return false
  try {
    return parseInteger(value, key) !== 0
  } catch {
    throw new ConfigError(`bad boolean config value '${value}' for '${key}'`)
  }
}

/** git's integers: C base-0 syntax (0x.., 0..), optional k/m/g suffix; bounded to safe integers. */
export function parseInteger(value: string | null, key: string): number {
  if (value === null) throw new ConfigError(`missing value for '${key}'`)
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(.*)$/s.exec(value)
  if (m === null) throw new ConfigError(`bad numeric config value '${value}' for '${key}': invalid unit`)
  const digits = m[2] as string
  let n: bigint
  if (/^0[xX]/.test(digits)) n = BigInt(digits)
  else if (digits.length > 1 && digits.startsWith('0')) n = BigInt(`0o${digits.slice(1)}`)
  else n = BigInt(digits)
  if (m[1] === '-') n = -n
  const unit = (m[3] as string).toLowerCase()
  const factor = unit === '' ? 1n : unit === 'k' ? 1024n : unit === 'm' ? 1024n ** 2n : unit === 'g' ? 1024n ** 3n : undefined
  if (factor === undefined) throw new ConfigError(`bad numeric config value '${value}' for '${key}': invalid unit`)
  n *= factor
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ConfigError(`bad numeric config value '${value}' for '${key}': out of range`)
  }
  return Number(n)
}

/** git's path values: a leading `~` or `~/` is the home directory. */
export function expandPath(value: string | null, key: string, home: string | undefined): string {
  if (value === null) throw new ConfigError(`missing value for '${key}'`)
  if (value === '~' || value.startsWith('~/')) {
    if (home === undefined || home === '') throw new ConfigError(`failed to expand user dir in: '${value}'`)
    return home + value.slice(1)
  }
  if (value.startsWith('~')) throw new ConfigError(`failed to expand user dir in: '${value}'`)
  return value
}

export type ConfigScope = 'system' | 'global' | 'local' | 'worktree' | 'command'

export interface ScopedEntry extends ConfigEntry {
  scope: ConfigScope
  /** The file it came from, when it came from a file. */
  file?: string
}

/** Typed reads over a list of entries, last one winning: shared by a file and the layered view. */
export abstract class ConfigReader {
  constructor(protected readonly home: string | undefined) {}

  protected abstract list(): readonly ScopedEntry[]

  entries(): readonly ScopedEntry[] {
    return this.list()
  }
  get(key: string): string | null | undefined {
    return lastValue(this.list(), key)
  }
  getAll(key: string): (string | null)[] {
    return allValues(this.list(), key)
  }
  has(key: string): boolean {
    return this.get(key) !== undefined
  }
  getString(key: string): string | undefined {
    const v = this.get(key)
    if (v === null) throw new ConfigError(`missing value for '${key}'`)
    return v
  }
  getBool(key: string): boolean | undefined
  getBool(key: string, fallback: boolean): boolean
  getBool(key: string, fallback?: boolean): boolean | undefined {
    const v = this.get(key)
    return v === undefined ? fallback : parseBool(v, key)
  }
  getInt(key: string): number | undefined
  getInt(key: string, fallback: number): number
  getInt(key: string, fallback?: number): number | undefined {
    const v = this.get(key)
    return v === undefined ? fallback : parseInteger(v, key)
  }
  getPath(key: string): string | undefined {
    const v = this.get(key)
    return v === undefined ? undefined : expandPath(v, key, this.home)
  }
  subsections(section: string): string[] {
    return subsectionsOf(this.list(), section)
  }
}
