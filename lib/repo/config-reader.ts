/**
 * Reads over config entries, last one winning, as git answers `git config --get`:
 * the lookups a single file (config-edit.ts) and the layered view (config-load.ts)
 * share, and ConfigReader, the typed reads (bool, int, path) callers are handed.
 */
import { ConfigError } from '../errors.js'
import { lower, parseKey, type ConfigEntry } from './config-parse.js'
import { expandPath, parseBool, parseInteger } from './config-value.js'

export type ConfigScope = 'system' | 'global' | 'local' | 'worktree' | 'command'

export interface ScopedEntry extends ConfigEntry {
  scope: ConfigScope
  /** The file it came from, when it came from a file. */
  file?: string
}

/** The value `key` has last in `entries` (null: set without `=`), or undefined when it is not set. */
export function lastValue(entries: readonly ConfigEntry[], key: string): string | null | undefined {
  const k = parseKey(key).key
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i] as ConfigEntry
    if (e.key === k) return e.value
  }
  return undefined
}

/** Every value of `key` in file (and layer) order. */
export function allValues(entries: readonly ConfigEntry[], key: string): (string | null)[] {
  const k = parseKey(key).key
  return entries.filter((e) => e.key === k).map((e) => e.value)
}

/** Subsection names of `section` in order, each once (e.g. remote names). */
export function subsectionsOf(entries: readonly ConfigEntry[], section: string): string[] {
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
