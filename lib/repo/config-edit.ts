/**
 * The editor: ConfigFile keeps a config file's bytes and splices only the region an
 * edit touches, placing new keys where `git config` places them, so an edited file is
 * byte for byte what `git config` would have written (comments, order and layout
 * kept). The parsing is config-parse.ts's; the text is its latin1 binary string.
 *
 * Not the `ini` npm package: it cannot round-trip git config (no case-sensitive
 * quoted subsections, no multi-valued keys, no preservation of comments, order
 * or layout), so it must never be used for .git/config.
 *
 * Deviations: `include.path` and `includeIf` are not followed yet. `set()` replaces
 * the last occurrence of a multi-valued key where `git config` refuses.
 */
import { readFileSync } from 'node:fs'
import { ConfigError, isNotFound } from '../errors.js'
import { LockFile } from './lock.js'
import { fromBinary, isKeyChar, isSpace, lower, parseConfig, parseKey, toBinary, type ConfigEntry, type ParseEvent, type Parsed } from './config-parse.js'
import { allValues, lastValue, subsectionsOf } from './config-reader.js'

/** The `[section "sub"]` line git writes for a new section. */
function formatSectionHeader(prefix: string): string {
  const dot = prefix.indexOf('.')
  if (dot < 0) return `[${prefix}]\n`
  const sub = prefix.slice(dot + 1).replace(/["\\]/g, (c) => `\\${c}`)
  return `[${prefix.slice(0, dot)} "${sub}"]\n`
}

/** The `\tname = value` line git writes: escapes always, quotes only to keep edge spaces or comment characters. */
function formatEntry(name: string, value: string): string {
  const needsQuotes = value.startsWith(' ') || value.endsWith(' ') || /[;#]/.test(value)
  const q = needsQuotes ? '"' : ''
  const escaped = value.replace(/[\n\t"\\]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\${c}`))
  return `\t${name} = ${q}${escaped}${q}\n`
}

type Match = (entry: ConfigEntry) => boolean

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
    this.parsed = parseConfig(text, name)
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
    this.parsed = parseConfig(text, this.name)
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
