/**
 * The one object that writes to the terminal. Library code reports progress and
 * messages through a ProgressSink; this renders them on stderr the way git does:
 * progress only when stderr is a terminal or --progress was given, nothing under
 * --quiet except errors, server messages prefixed with "remote: ".
 *
 * Every write ends with "\r" or "\n", as git's do: the cursor is always at the start
 * of a line, so whatever comes next (a server line, a message, a fatal error written
 * by the exit handler) starts at column 0. A progress line ends with "\r" and is
 * redrawn in place; a line that ends with "\n" while one is open overwrites it (padded
 * with spaces over what it leaves) and the progress line is drawn again below it.
 *
 * Deviation: git clears what a server line leaves of the line with an ANSI escape on
 * a terminal; this pads with spaces, knowing what it drew, on a terminal or not.
 */
import type { ProgressEvent, ProgressSink } from '../events.js'

export interface DisplayOptions {
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
  quiet?: boolean
  /** --progress / --no-progress; undefined means "when stderr is a terminal". */
  progress?: boolean
  /** Epoch milliseconds (tests pass their own). */
  now?: () => number
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']

/** Formats a byte count like git's progress ("1.20 MiB"). */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} bytes`
  let v = n
  let u = 0
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(2)} ${UNITS[u]}`
}

/**
 * A rate is measured over intervals longer than this, and none is shown before the
 * first has passed: the first chunks of a transfer arrive in a burst (what the kernel
 * buffered), and their bytes over a millisecond make a rate of hundreds of MiB/s.
 */
export const RATE_INTERVAL_MS = 500

/** The rate shown is over the last this many intervals (about four seconds), as git's. */
export const RATE_WINDOW = 8

/** A line whose percentage has not moved is still drawn again this often (its count, its rate). */
const REDRAW_MS = 500

/**
 * The "1.20 MiB | 3.40 MiB/s" of a progress line: taken every RATE_INTERVAL_MS, as an
 * average over the last RATE_WINDOW intervals. Empty until the first interval has passed.
 */
export class Throughput {
  private readonly startedAt: number
  private readonly startBytes: number
  private sampledAt: number
  private sampledBytes: number
  private readonly intervals: { bytes: number; ms: number }[] = []
  /** What the line shows: changes only when an interval is taken. */
  text = ''

  /** `since`: bytes have counted from 0 since then (ProgressEvent.bytesSince), earlier than `now`. */
  constructor(now: number, bytes: number, since?: number) {
    this.startedAt = since !== undefined && since < now ? since : now
    this.startBytes = since !== undefined && since < now ? 0 : bytes
    this.sampledAt = this.startedAt
    this.sampledBytes = this.startBytes
  }

  /** Counts `bytes` (so far) at `now`; the text changes when an interval has passed. */
  update(now: number, bytes: number): string {
    if (now - this.sampledAt <= RATE_INTERVAL_MS) return this.text
    this.intervals.push({ bytes: bytes - this.sampledBytes, ms: now - this.sampledAt })
    if (this.intervals.length > RATE_WINDOW) this.intervals.shift()
    this.sampledAt = now
    this.sampledBytes = bytes
    let b = 0
    let ms = 0
    for (const i of this.intervals) {
      b += i.bytes
      ms += i.ms
    }
    this.text = `${humanBytes(bytes)} | ${humanBytes(Math.round((b * 1000) / ms))}/s`
    return this.text
  }

  /**
   * The text of the last line: the window with the time since its last interval, or,
   * when the line lasted less than an interval, the average over its whole life (all
   * its bytes, as git's last line). No rate for a line with no time at all.
   */
  final(now: number, bytes: number): string {
    let b = bytes - this.sampledBytes
    let ms = now - this.sampledAt
    if (this.intervals.length === 0) {
      b = bytes
      ms = now - this.startedAt
    }
    for (const i of this.intervals) {
      b += i.bytes
      ms += i.ms
    }
    if (ms <= 0) return humanBytes(bytes)
    return `${humanBytes(bytes)} | ${humanBytes(Math.round((Math.max(b, 0) * 1000) / ms))}/s`
  }
}

interface TitleState {
  lastPercent: number
  lastDraw: number
  /** The line as last drawn; '' before the first draw. */
  text: string
  /** Its throughput as last drawn. */
  rate: string
  throughput: Throughput | undefined
}

/** Epoch milliseconds, finer than Date.now(): a small pack is received in under one. */
function preciseNow(): number {
  return performance.timeOrigin + performance.now()
}

export class Display implements ProgressSink {
  private readonly out: DisplayOptions['stderr']
  private readonly quiet: boolean
  private readonly now: () => number
  readonly showProgress: boolean
  private states = new Map<string, TitleState>()
  private remotePartial = ''
  /** Length of what is on the line the cursor is at the start of; 0: a fresh line. */
  private under = 0
  /** That line is a server's progress, left open with "\r". */
  private underIsRemote = false
  /** The progress line last drawn and not done, drawn again after a line written over it. */
  private open: { title: string; text: string } | undefined

  constructor(opts: DisplayOptions) {
    this.out = opts.stderr
    this.quiet = opts.quiet ?? false
    this.now = opts.now ?? preciseNow
    this.showProgress = !this.quiet && (opts.progress ?? this.out.isTTY === true)
  }

  progress(ev: ProgressEvent): void {
    if (!this.showProgress) return
    const now = this.now()
    let st = this.states.get(ev.title)
    if (!st) {
      st = { lastPercent: -1, lastDraw: 0, text: '', rate: '', throughput: undefined }
      this.states.set(ev.title, st)
    }
    const percent = ev.total ? Math.floor((ev.current * 100) / ev.total) : -1
    let text = `${ev.title}: `
    text += ev.total !== undefined ? `${String(percent).padStart(3)}% (${ev.current}/${ev.total})` : `${ev.current}`
    if (ev.bytes !== undefined) {
      if (st.throughput === undefined) st.throughput = new Throughput(now, ev.bytes, ev.bytesSince)
      const shown = ev.done ? st.throughput.final(now, ev.bytes) : st.throughput.update(now, ev.bytes)
      if (shown !== '') text += `, ${shown}`
    }
    if (ev.done) {
      this.states.delete(ev.title)
      if (this.open?.title === ev.title) this.open = undefined
      this.line(`${text}, done.`)
      return
    }
    // As git: drawn when the percentage or the rate moves, and the count now and then.
    const rate = st.throughput?.text ?? ''
    if (text === st.text || (percent === st.lastPercent && rate === st.rate && now - st.lastDraw < REDRAW_MS)) return
    st.lastPercent = percent
    st.lastDraw = now
    st.text = text
    st.rate = rate
    this.open = { title: ev.title, text }
    this.write(text, '\r')
  }

  remote(text: string): void {
    if (this.quiet) return
    // A server's own progress redraws with \r: each of its lines gets git's "remote: ".
    const all = this.remotePartial + text
    const parts = all.split(/(\r|\n)/)
    this.remotePartial = ''
    for (let i = 0; i < parts.length; i += 2) {
      const body = parts[i] ?? ''
      const sep = parts[i + 1]
      if (sep === undefined) {
        this.remotePartial = body
        break
      }
      if (sep === '\r') {
        this.write(`remote: ${body}`, '\r')
        this.underIsRemote = true
      } else if (body === '' && this.underIsRemote) {
        // The "\n" that ends a server's progress line after its last "\r".
        this.out.write('\n')
        this.under = 0
        this.underIsRemote = false
        this.redraw()
      } else {
        this.line(`remote: ${body}`)
      }
    }
  }

  /**
   * Ends a progress line left open (a command failing mid-way), so that the message
   * that follows starts a line of its own; git writes it after the percentage.
   */
  endLine(): void {
    this.states.clear()
    this.open = undefined
    if (this.under === 0) return
    this.out.write('\n')
    this.under = 0
    this.underIsRemote = false
  }

  warn(message: string): void {
    this.line(`warning: ${message}`)
  }

  info(message: string): void {
    if (!this.quiet) this.line(message)
  }

  error(message: string): void {
    this.line(`error: ${message}`)
  }

  fatal(message: string): void {
    this.states.clear()
    this.open = undefined
    this.line(`fatal: ${message}`)
  }

  /** A line of its own, over whatever is open; the open progress line comes back below it. */
  private line(text: string): void {
    this.write(text, '\n')
    this.redraw()
  }

  private redraw(): void {
    if (this.open !== undefined) this.write(this.open.text, '\r')
  }

  /** `text` from column 0, padded over what the line held, then `eol`. */
  private write(text: string, eol: '\r' | '\n'): void {
    const pad = this.under > text.length ? ' '.repeat(this.under - text.length) : ''
    this.out.write(`${text}${pad}${eol}`)
    this.under = eol === '\r' ? text.length : 0
    this.underIsRemote = false
  }
}
