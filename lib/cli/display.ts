/**
 * The one object that writes to the terminal. Library code reports progress and
 * messages through a ProgressSink; this renders them on stderr the way git does:
 * progress only when stderr is a terminal or --progress was given, nothing under
 * --quiet except errors, server messages prefixed with "remote: ".
 */
import type { ProgressEvent, ProgressSink } from '../events.js'

export interface DisplayOptions {
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
  quiet?: boolean
  /** --progress / --no-progress; undefined means "when stderr is a terminal". */
  progress?: boolean
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

interface TitleState {
  started: number
  lastPercent: number
  lastDraw: number
  lastLine: string
}

export class Display implements ProgressSink {
  private readonly out: DisplayOptions['stderr']
  private readonly quiet: boolean
  readonly showProgress: boolean
  private states = new Map<string, TitleState>()
  private remotePartial = ''

  constructor(opts: DisplayOptions) {
    this.out = opts.stderr
    this.quiet = opts.quiet ?? false
    this.showProgress = !this.quiet && (opts.progress ?? this.out.isTTY === true)
  }

  progress(ev: ProgressEvent): void {
    if (!this.showProgress) return
    const now = Date.now()
    let st = this.states.get(ev.title)
    if (!st) {
      st = { started: now, lastPercent: -1, lastDraw: 0, lastLine: '' }
      this.states.set(ev.title, st)
    }
    const percent = ev.total ? Math.floor((ev.current * 100) / ev.total) : -1
    if (!ev.done && percent === st.lastPercent && now - st.lastDraw < 500) return
    st.lastPercent = percent
    st.lastDraw = now
    let line = `${ev.title}: `
    line += ev.total !== undefined ? `${String(percent).padStart(3)}% (${ev.current}/${ev.total})` : `${ev.current}`
    if (ev.bytes !== undefined) {
      const secs = Math.max((now - st.started) / 1000, 0.001)
      line += `, ${humanBytes(ev.bytes)} | ${humanBytes(Math.round(ev.bytes / secs))}/s`
    }
    if (ev.done) {
      this.out.write(`\r${line}, done.\n`)
      this.states.delete(ev.title)
    } else {
      const pad = st.lastLine.length > line.length ? ' '.repeat(st.lastLine.length - line.length) : ''
      this.out.write(`\r${line}${pad}`)
      st.lastLine = line
    }
  }

  remote(text: string): void {
    if (this.quiet) return
    // Server progress uses \r to redraw; keep git's "remote: " prefix on every line.
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
      this.out.write(`remote: ${body}${sep}`)
    }
  }

  /**
   * Ends a progress line left open (a command failing mid-way), so that the message
   * that follows starts a line of its own; git writes it after the percentage.
   */
  endLine(): void {
    let open = false
    for (const st of this.states.values()) if (st.lastLine !== '') open = true
    this.states.clear()
    if (open) this.out.write('\n')
  }

  warn(message: string): void {
    this.out.write(`warning: ${message}\n`)
  }

  info(message: string): void {
    if (!this.quiet) this.out.write(`${message}\n`)
  }

  error(message: string): void {
    this.out.write(`error: ${message}\n`)
  }

  fatal(message: string): void {
    this.out.write(`fatal: ${message}\n`)
  }
}
