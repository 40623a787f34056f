/**
 * The dates --shallow-since takes, turned into seconds since the epoch as git's
 * approxidate turns them: `@<seconds>`, ISO 8601 (`2020-01-02`: at the current time of day, `2020-01-02 03:04:05`,
 * with `T` and a zone or without: then local time), RFC 2822 (`Thu, 2 Jan 2020 03:04:05
 * +0000`), `now`, `yesterday`, and `<n> <unit> ago` (`2.weeks.ago` too).
 *
 * Deviation: git's approxidate reads almost any text as some date (an unknown word as
 * now); tsgit refuses what it does not understand rather than guess.
 */
import { UsageError } from '../errors.js'

const UNIT_SECONDS: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400, week: 7 * 86400 }

export function parseApproxDate(text: string, now: Date = new Date()): number {
  const s = text.trim()
  const nowSeconds = Math.floor(now.getTime() / 1000)
  const at = /^@(\d+)$/.exec(s)
  if (at !== null) return Number(at[1])
  if (s === 'now') return nowSeconds
  if (s === 'yesterday') return nowSeconds - 86400
  const ago = /^(\d+)[\s.]+(second|minute|hour|day|week|month|year)s?[\s.]+ago$/.exec(s)
  if (ago !== null) {
    const n = Number(ago[1])
    const unit = ago[2] as string
    const seconds = UNIT_SECONDS[unit]
    if (seconds !== undefined) return nowSeconds - n * seconds
    // months and years: calendar ones, as git steps back through the calendar
    const d = new Date(now.getTime())
    if (unit === 'month') d.setMonth(d.getMonth() - n)
    else d.setFullYear(d.getFullYear() - n)
    return Math.floor(d.getTime() / 1000)
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s)
  if (local !== null) {
    const [, y, mo, d, h, mi, sec] = local.map((v) => (v === undefined ? 0 : Number(v))) as number[]
    // A day without a time is that day at the current time of day, as git reads it.
    const date = local[4] === undefined ? new Date(y as number, (mo as number) - 1, d, now.getHours(), now.getMinutes(), now.getSeconds()) : new Date(y as number, (mo as number) - 1, d, h, mi, sec)
    if (!Number.isNaN(date.getTime())) return Math.floor(date.getTime() / 1000)
  }
  // With a zone: ISO 8601 put in the form Date reads exactly, RFC 2822 as it is.
  const iso = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?) ?(?:(Z)|([+-]\d{2}):?(\d{2}))$/.exec(s)
  const rfc = /^(?:[A-Z][a-z]{2}, )?\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}(?::\d{2})? [+-]\d{4}$/.test(s)
  const ms = iso !== null ? Date.parse(`${iso[1]}T${iso[2]}${iso[3] ?? `${iso[4]}:${iso[5]}`}`) : rfc ? Date.parse(s) : NaN
  if (!Number.isNaN(ms)) return Math.floor(ms / 1000)
  throw new UsageError(`invalid date '${text}': give @<seconds>, YYYY-MM-DD[ HH:MM[:SS]][ +ZZZZ], an RFC 2822 date, or '<n> <unit>s ago'`)
}
