/**
 * gitattributes(5) matching: which value attributes such as `text`, `eol` or `crlf`
 * have for a path, with git's precedence. Every file is parsed and its patterns
 * compiled once; a path's stack of files (its directory's, each parent's, the
 * top-level one) is built once per directory.
 *
 * Precedence, highest first: $GIT_DIR/info/attributes, the .gitattributes of the
 * path's own directory, of each parent up to the top, then the global file
 * (core.attributesFile), then git's built-in `[attr]binary -diff -merge -text`. In one
 * file a later line wins over an earlier one, and in one line a later attribute over
 * an earlier one. A macro attribute set on a path sets the attributes of its
 * definition that nothing of higher precedence set; macros may be defined only in
 * the top-level .gitattributes, info/attributes and the global file.
 *
 * Patterns are gitignore's, except that a negative pattern is ignored and that a
 * pattern ending in a slash names a directory, which never matches a file.
 */

/** An attribute's state for a path: set (true), unset (false), a value, or unspecified (undefined). */
export type AttrValue = boolean | string | undefined

/** What an attribute was given in a line: set, unset, a value, or `!name` (back to unspecified). */
type State = { name: string; value: AttrValue }

interface Line {
  /** undefined: the line defines a macro. */
  match?: (path: string, base: number) => boolean
  /** The states, last first (the order in which they are applied). */
  states: State[]
}

/** One parsed attributes file, its lines last first. */
export interface AttributesFile {
  /** The directory it applies to, slash-separated, '' for the top (and for info/attributes or a global file). */
  dir: string
  /** Last first. */
  lines: Line[]
  /** Macro definitions, name to states (last first); the later of two definitions kept. */
  macros: Map<string, State[]>
  /** Lines skipped, with the reason, for a caller that wants to warn as git does. */
  skipped: string[]
}

const BLANK = /[ \t\r\n]/
const ATTR_NAME = /^[A-Za-z0-9_.][-A-Za-z0-9_.]*$/

/** git's C-style quoting of a pattern: `"a\tb"`. Returns the pattern and the rest of the line, or undefined when unterminated. */
function unquote(line: string): { text: string; rest: string } | undefined {
  let out = ''
  const bytes: number[] = []
  const flush = (): void => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8')
    bytes.length = 0
  }
  for (let i = 1; i < line.length; i++) {
    const c = line[i] as string
    if (c === '"') {
      flush()
      return { text: out, rest: line.slice(i + 1) }
    }
    if (c !== '\\') {
      flush()
      out += c
      continue
    }
    const n = line[++i]
    if (n === undefined) return undefined
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' }
    if (simple[n] !== undefined) {
      flush()
      out += simple[n]
    } else if (/[0-3]/.test(n) && /^[0-7]{2}$/.test(line.slice(i + 1, i + 3))) {
      bytes.push(parseInt(line.slice(i, i + 3), 8))
      i += 2
    } else return undefined
  }
  return undefined
}

const CLASSES: Record<string, string> = {
  alnum: 'A-Za-z0-9', alpha: 'A-Za-z', blank: ' \\t', cntrl: '\\x00-\\x1f\\x7f', digit: '0-9', graph: '!-~',
  lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: ' \\t\\n\\r\\f\\v', upper: 'A-Z', xdigit: '0-9A-Fa-f',
}

const escapeChar = (c: string): string => (/[-\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c)

/** A bracket expression at `pattern[i]` ('['): its regular-expression text and where it ends, or undefined if unclosed. */
function bracket(pattern: string, i: number): { re: string; end: number } | undefined {
  let j = i + 1
  let negate = false
  if (pattern[j] === '!' || pattern[j] === '^') {
    negate = true
    j++
  }
  let body = ''
  let first = true
  for (; j < pattern.length; j++) {
    const c = pattern[j] as string
    if (c === ']' && !first) return { re: negate ? `[^/${body}]` : `[${body}]`, end: j }
    first = false
    if (c === '[' && pattern[j + 1] === ':') {
      const close = pattern.indexOf(':]', j + 2)
      const cls = close < 0 ? undefined : CLASSES[pattern.slice(j + 2, close)]
      if (cls === undefined) return undefined
      body += cls
      j = close + 1
      continue
    }
    let ch = c
    if (c === '\\') {
      j++
      if (j >= pattern.length) return undefined
      ch = pattern[j] as string
    }
    if (pattern[j + 1] === '-' && pattern[j + 2] !== undefined && pattern[j + 2] !== ']') {
      let hi = pattern[j + 2] as string
      j += 2
      if (hi === '\\') {
        j++
        hi = pattern[j] ?? ''
      }
      body += `${escapeChar(ch)}-${escapeChar(hi)}`
    } else body += escapeChar(ch)
  }
  return undefined
}

/**
 * A wildmatch pattern (with git's WM_PATHNAME: `*`, `?` and brackets never match a
 * slash; `**` between slashes or at an end matches across directories) as a regular
 * expression source, anchored at both ends.
 */
export function wildmatchSource(pattern: string): string {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*') {
      let j = i
      while (pattern[j + 1] === '*') j++
      const double = j > i
      const atStart = i === 0 || pattern[i - 1] === '/'
      const next = pattern[j + 1]
      if (double && atStart && (next === undefined || next === '/')) {
        if (next === undefined) re += '.*'
        else {
          // `**/`: zero or more leading directories
          re += '(?:.*/)?'
          j++
        }
      } else re += '[^/]*'
      i = j
    } else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const b = bracket(pattern, i)
      if (b === undefined) re += '\\['
      else {
        re += b.re
        i = b.end
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += escapeChar(pattern[++i] as string)
    } else re += escapeChar(c)
  }
  return `^${re}$`
}

/** A matcher for one pattern of a file in directory `dir`; undefined when it can never match a file. */
function compilePattern(raw: string, dir: string): Line['match'] | undefined {
  let pattern = raw
  // a pattern ending in a slash names a directory: never a file
  if (pattern.endsWith('/')) return undefined
  const anchored = pattern.includes('/')
  if (pattern.startsWith('/')) pattern = pattern.slice(1)
  const prefix = dir === '' ? '' : `${dir}/`
  if (!anchored) {
    // the basename, at any depth below `dir`
    if (!/[*?[\\]/.test(pattern)) return (path, base) => path.length - base === pattern.length && path.endsWith(pattern)
    if (/^\*[^*?[\\]*$/.test(pattern)) {
      const tail = pattern.slice(1)
      return (path, base) => path.length - base >= tail.length && path.endsWith(tail)
    }
    const re = new RegExp(wildmatchSource(pattern), 's')
    return (path, base) => re.test(base === 0 ? path : path.slice(base))
  }
  const re = new RegExp(wildmatchSource(pattern), 's')
  return (path) => path.startsWith(prefix) && re.test(prefix === '' ? path : path.slice(prefix.length))
}

function parseStates(words: string[]): State[] | string {
  const states: State[] = []
  for (const w of words) {
    let name = w
    let value: AttrValue = true
    if (w.startsWith('-')) {
      name = w.slice(1)
      value = false
    } else if (w.startsWith('!')) {
      name = w.slice(1)
      value = undefined
    } else {
      const eq = w.indexOf('=')
      if (eq >= 0) {
        name = w.slice(0, eq)
        value = w.slice(eq + 1)
      }
    }
    if (!ATTR_NAME.test(name)) return `${name} is not a valid attribute name`
    states.push({ name, value })
  }
  return states.reverse()
}

/**
 * Parses the text of an attributes file. `dir`: the directory of a .gitattributes ('' at
 * the top); `macros`: whether `[attr]` lines are allowed (top level, info, global).
 */
export function parseAttributes(text: string, dir: string, macrosAllowed: boolean): AttributesFile {
  const lines: Line[] = []
  const macros = new Map<string, State[]>()
  const skipped: string[] = []
  const all = text.split('\n')
  for (let n = 0; n < all.length; n++) {
    let line = all[n] as string
    // git skips lines longer than 2048 bytes
    if (Buffer.byteLength(line) >= 2048) {
      skipped.push(`line ${n + 1}: too long`)
      continue
    }
    line = line.replace(/^[ \t\r\n]+/, '')
    if (line === '' || line.startsWith('#')) continue
    let pattern: string
    let rest: string
    if (line.startsWith('"')) {
      const q = unquote(line)
      if (q === undefined) {
        skipped.push(`line ${n + 1}: bad quoting`)
        continue
      }
      pattern = q.text
      rest = q.rest
    } else {
      const end = line.search(BLANK)
      pattern = end < 0 ? line : line.slice(0, end)
      rest = end < 0 ? '' : line.slice(end)
    }
    const words = rest.split(/[ \t\r\n]+/).filter((w) => w !== '')
    const states = parseStates(words)
    if (typeof states === 'string') {
      skipped.push(`line ${n + 1}: ${states}`)
      continue
    }
    if (pattern.startsWith('[attr]') && pattern.length > '[attr]'.length) {
      const name = pattern.slice('[attr]'.length)
      if (!macrosAllowed) {
        skipped.push(`line ${n + 1}: "${pattern}" not allowed`)
        continue
      }
      if (!ATTR_NAME.test(name)) {
        skipped.push(`line ${n + 1}: ${name} is not a valid attribute name`)
        continue
      }
      macros.set(name, states)
      continue
    }
    if (pattern.startsWith('!')) {
      skipped.push(`line ${n + 1}: negative patterns are ignored`)
      continue
    }
    const match = compilePattern(pattern, dir)
    if (match !== undefined) lines.push({ match, states })
  }
  return { dir, lines: lines.reverse(), macros, skipped }
}

const BUILTIN = parseAttributes('[attr]binary -diff -merge -text\n', '', true)

/** The attribute files of a checkout, by where they apply. */
export interface AttributeSources {
  /** .gitattributes texts by directory ('' for the top). */
  tree: ReadonlyMap<string, string>
  /** $GIT_DIR/info/attributes. */
  info?: string
  /** core.attributesFile (or its default). */
  global?: string
}

/** Answers "what are these attributes for this path" with git's precedence. */
export class AttributeMatcher {
  private readonly dirs = new Map<string, AttributesFile>()
  private readonly info: AttributesFile | undefined
  private readonly global: AttributesFile | undefined
  private readonly macros = new Map<string, State[]>()
  /** The stack of each directory asked about, highest precedence first. */
  private readonly stacks = new Map<string, AttributesFile[]>()

  /**
   * `only`: the attributes that will be asked about; lines (and states) that can set
   * none of them, directly or through a macro, are dropped, so a path is matched
   * against those lines only. Default: every attribute.
   */
  constructor(sources: AttributeSources, only?: readonly string[]) {
    for (const [dir, text] of sources.tree) this.dirs.set(dir, parseAttributes(text, dir, dir === ''))
    this.info = sources.info === undefined ? undefined : parseAttributes(sources.info, '', true)
    this.global = sources.global === undefined ? undefined : parseAttributes(sources.global, '', true)
    // lowest first, so a definition of higher precedence replaces one below it
    for (const f of [BUILTIN, this.global, this.dirs.get(''), this.info]) {
      if (f !== undefined) for (const [name, states] of f.macros) this.macros.set(name, states)
    }
    if (only !== undefined) {
      const relevant = new Set(only)
      for (let grew = true; grew; ) {
        grew = false
        for (const [name, states] of this.macros) {
          if (!relevant.has(name) && states.some((st) => relevant.has(st.name))) {
            relevant.add(name)
            grew = true
          }
        }
      }
      for (const f of [...this.dirs.values(), this.info, this.global]) {
        if (f === undefined) continue
        f.lines = f.lines.map((l) => ({ ...l, states: l.states.filter((st) => relevant.has(st.name)) })).filter((l) => l.states.length > 0)
      }
    }
  }

  /** Whether any file has a line that can match a path (then every path gets only unspecified values). */
  get empty(): boolean {
    return [...this.dirs.values(), this.info, this.global].every((f) => f === undefined || f.lines.length === 0)
  }

  /** The lines skipped in each file, for a warning. */
  skipped(): { where: string; reason: string }[] {
    const out: { where: string; reason: string }[] = []
    const add = (where: string, f: AttributesFile | undefined): void => {
      for (const reason of f?.skipped ?? []) out.push({ where, reason })
    }
    for (const [dir, f] of this.dirs) add(dir === '' ? '.gitattributes' : `${dir}/.gitattributes`, f)
    add('info/attributes', this.info)
    add('core.attributesFile', this.global)
    return out
  }

  private stack(dir: string): AttributesFile[] {
    let s = this.stacks.get(dir)
    if (s !== undefined) return s
    const own = this.dirs.get(dir)
    const parent = dir === '' ? [] : this.stack(dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '')
    // parent's stack is info, deepest .. top, global: put this directory's file after info
    s = parent.slice()
    if (dir === '') {
      s = []
      if (this.info !== undefined) s.push(this.info)
      if (own !== undefined) s.push(own)
      if (this.global !== undefined) s.push(this.global)
    } else if (own !== undefined) s.splice(this.info !== undefined ? 1 : 0, 0, own)
    this.stacks.set(dir, s)
    return s
  }

  /** The values of `names` for `path` (a file, slash-separated, relative to the top). */
  check(path: string, names: readonly string[]): Record<string, AttrValue> {
    const slash = path.lastIndexOf('/')
    const base = slash + 1
    const found = new Map<string, AttrValue>()
    let wanted = names.length
    const want = new Set(names)
    const fill = (states: readonly State[], depth: number): void => {
      for (const s of states) {
        if (found.has(s.name)) continue
        found.set(s.name, s.value)
        if (want.has(s.name)) wanted--
        const macro = s.value === true && depth < 32 ? this.macros.get(s.name) : undefined
        if (macro !== undefined) fill(macro, depth + 1)
      }
    }
    outer: for (const f of this.stack(slash < 0 ? '' : path.slice(0, slash))) {
      for (const line of f.lines) {
        if (line.match!(path, base)) {
          fill(line.states, 0)
          if (wanted === 0) break outer
        }
      }
    }
    const out: Record<string, AttrValue> = {}
    for (const n of names) out[n] = found.get(n)
    return out
  }
}
