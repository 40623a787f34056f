/**
 * Commits printed the way `git log` prints them: the medium and oneline formats, and
 * `format:`/`tformat:` strings with git's placeholders. Pure: what needs the
 * repository (abbreviated ids, decorations) is handed in.
 */
import type { Commit, Ident } from '../odb/objects.js'
import type { Oid } from '../oid.js'

/** What a placeholder may need beyond the commit itself. */
export interface PrettyContext {
  oid: Oid
  commit: Commit
  /** Abbreviated ids (of this commit, its tree and parents). */
  abbrev(oid: Oid): string
  /** The decorations (`HEAD -> main`, `tag: v1`, `origin/main`), in git's order. */
  decorations: string[]
  /** Seconds since the epoch, for relative dates. */
  now: number
}

export type PrettyFormat = { kind: 'medium' } | { kind: 'oneline' } | { kind: 'user'; format: string; terminator: boolean }

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/** The ident's time as seen in its own zone: a UTC Date shifted by the offset. */
function localTime(ident: Ident): Date {
  const sign = ident.timezone.startsWith('-') ? -1 : 1
  const minutes = Number(ident.timezone.slice(1, 3)) * 60 + Number(ident.timezone.slice(3, 5))
  return new Date((ident.timestamp + sign * minutes * 60) * 1000)
}

/** git's default date format: `Thu Apr 7 15:13:13 2005 -0700`. */
export function formatDefaultDate(ident: Ident): string {
  const d = localTime(ident)
  return `${DAYS[d.getUTCDay()] as string} ${MONTHS[d.getUTCMonth()] as string} ${d.getUTCDate()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()} ${ident.timezone}`
}

/** `%ai`: `2005-04-07 15:13:13 -0700`. */
export function formatIsoDate(ident: Ident): string {
  const d = localTime(ident)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${ident.timezone}`
}

/** `%aI`: `2005-04-07T15:13:13-07:00`. */
export function formatStrictIsoDate(ident: Ident): string {
  const d = localTime(ident)
  const tz = `${ident.timezone.slice(0, 3)}:${ident.timezone.slice(3)}`
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${tz}`
}

function ago(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`
}

/** `%ar`: git's relative date ("3 hours ago", "2 years, 1 month ago"). */
export function formatRelativeDate(timestamp: number, now: number): string {
  if (now < timestamp) return 'in the future'
  let diff = now - timestamp
  if (diff < 90) return ago(diff, 'second')
  diff = Math.floor((diff + 30) / 60)
  if (diff < 90) return ago(diff, 'minute')
  diff = Math.floor((diff + 30) / 60)
  if (diff < 36) return ago(diff, 'hour')
  diff = Math.floor((diff + 12) / 24)
  if (diff < 14) return ago(diff, 'day')
  if (diff < 70) return ago(Math.floor((diff + 3) / 7), 'week')
  if (diff < 365) return ago(Math.floor((diff + 15) / 30), 'month')
  if (diff < 1825) {
    const totalMonths = Math.floor((diff * 12 * 2 + 365) / (365 * 2))
    const years = Math.floor(totalMonths / 12)
    const months = totalMonths % 12
    if (months === 0) return ago(years, 'year')
    return `${years} year${years === 1 ? '' : 's'}, ${months} month${months === 1 ? '' : 's'} ago`
  }
  return ago(Math.floor((diff + 183) / 365), 'year')
}

/** The message's lines, and where its first paragraph (the subject) ends. */
function paragraphs(message: string): { subject: string; body: string } {
  const lines = message.split('\n')
  let i = 0
  while (i < lines.length && (lines[i] as string).trim() === '') i++
  const subjectLines: string[] = []
  while (i < lines.length && (lines[i] as string).trim() !== '') subjectLines.push((lines[i++] as string).trimEnd())
  // the body: what follows, from its first non-blank line, as written
  let rest = lines.slice(i).join('\n')
  rest = rest.replace(/^(?:[ \t]*\n)+/, '')
  if (i >= lines.length) rest = ''
  return { subject: subjectLines.join(' '), body: rest }
}

/** `%s`: the first paragraph on one line. */
export function subjectOf(message: string): string {
  return paragraphs(message).subject
}

function identPart(ident: Ident, what: string, now: number): string | undefined {
  switch (what) {
    case 'n':
      return ident.name
    case 'e':
      return ident.email
    case 'd':
      return formatDefaultDate(ident)
    case 't':
      return String(ident.timestamp)
    case 'i':
      return formatIsoDate(ident)
    case 'I':
      return formatStrictIsoDate(ident)
    case 'r':
      return formatRelativeDate(ident.timestamp, now)
    default:
      return undefined
  }
}

/** Expands one `format:` string for one commit; unknown placeholders stay as written, as in git. */
export function expandFormat(format: string, p: PrettyContext): string {
  let out = ''
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string
    if (ch !== '%') {
      out += ch
      continue
    }
    const next = format[i + 1]
    let value: string | undefined
    let used = 1
    switch (next) {
      case '%':
        value = '%'
        break
      case 'n':
        value = '\n'
        break
      case 'H':
        value = p.oid
        break
      case 'h':
        value = p.abbrev(p.oid)
        break
      case 'T':
        value = p.commit.tree
        break
      case 't':
        value = p.abbrev(p.commit.tree)
        break
      case 'P':
        value = p.commit.parents.join(' ')
        break
      case 'p':
        value = p.commit.parents.map((x) => p.abbrev(x)).join(' ')
        break
      case 's':
        value = subjectOf(p.commit.message)
        break
      case 'b':
        value = paragraphs(p.commit.message).body
        break
      case 'B':
        value = p.commit.message
        break
      case 'd':
        value = p.decorations.length > 0 ? ` (${p.decorations.join(', ')})` : ''
        break
      case 'D':
        value = p.decorations.join(', ')
        break
      case 'a':
      case 'c':
        value = identPart(next === 'a' ? p.commit.author : p.commit.committer, format[i + 2] ?? '', p.now)
        used = 2
        break
      case 'x':
        if (/^[0-9a-fA-F]{2}$/.test(format.slice(i + 2, i + 4))) {
          value = String.fromCharCode(parseInt(format.slice(i + 2, i + 4), 16))
          used = 3
        }
        break
      default:
        break
    }
    if (value === undefined) {
      out += ch
      continue
    }
    out += value
    i += used
  }
  return out
}

/** The medium format's entry: header lines, then the message indented by four spaces. */
export function formatMedium(p: PrettyContext): string {
  let out = `commit ${p.oid}${p.decorations.length > 0 ? ` (${p.decorations.join(', ')})` : ''}\n`
  if (p.commit.parents.length > 1) out += `Merge: ${p.commit.parents.map((x) => p.abbrev(x)).join(' ')}\n`
  out += `Author: ${p.commit.author.name} <${p.commit.author.email}>\n`
  out += `Date:   ${formatDefaultDate(p.commit.author)}\n`
  const lines = p.commit.message.split('\n').map((l) => l.trimEnd())
  while (lines.length > 0 && lines[0] === '') lines.shift()
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  out += '\n'
  for (const l of lines) out += `    ${l}\n`
  return out
}

/** Every commit's text, with what comes between and after them (git's separator and terminator rules). */
export function formatEntry(format: PrettyFormat, p: PrettyContext, first: boolean, abbrevCommit: boolean): string {
  switch (format.kind) {
    case 'medium':
      return `${first ? '' : '\n'}${formatMedium(p)}`
    case 'oneline':
      return `${abbrevCommit ? p.abbrev(p.oid) : p.oid}${p.decorations.length > 0 ? ` (${p.decorations.join(', ')})` : ''} ${subjectOf(p.commit.message)}\n`
    case 'user':
      // an empty tformat prints nothing at all, not even the newlines (git's --format=)
      if (format.terminator) return format.format === '' ? '' : `${expandFormat(format.format, p)}\n`
      return `${first ? '' : '\n'}${expandFormat(format.format, p)}`
  }
}
