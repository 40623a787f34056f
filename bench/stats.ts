/**
 * Pure helpers for the demo and the benchmark: statistics, request-log
 * summaries and plain-text tables. No I/O here so they can be tested alone.
 */

/** The median of a non-empty list (mean of the two middle values for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const hi = sorted[mid] as number
  if (sorted.length % 2 === 1) return hi
  return ((sorted[mid - 1] as number) + hi) / 2
}

/** a / b, or undefined when either is not a finite number or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined
  return a / b
}

export function formatRatio(r: number | undefined): string {
  return r === undefined ? 'n/a' : `${r.toFixed(2)}x`
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** Binary units with one decimal ("12.3 MiB"); whole bytes below 1 KiB. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a'
  if (Math.abs(n) < 1024) return `${Math.round(n)} B`
  let v = n
  let u = 0
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(1)} ${UNITS[u]}`
}

/** Milliseconds as seconds with two decimals below a minute. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'n/a'
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`
  const m = Math.floor(ms / 60_000)
  return `${m}m${((ms - m * 60_000) / 1000).toFixed(1).padStart(4, '0')}s`
}

/** What the benchmark needs from the server's request log. */
export interface LoggedRequest {
  method: string
  path: string
  command?: string
  bytesOut: number
  /** The pkt-line framing of a fetch answer's pack, where the server counted it (countPackFraming). */
  packFramingBytes?: number
}

export interface RequestSummary {
  count: number
  /** Response body bytes sent by the server. */
  bytes: number
  /** Of `bytes`, the pkt-line framing of packs (where counted): it varies run to run for the same request. */
  packFraming: number
  /** "GET info/refs", "POST ls-refs", "POST fetch" ... → how many. */
  kinds: Record<string, number>
}

function kindOf(r: LoggedRequest): string {
  if (r.command !== undefined) return `${r.method} ${r.command}`
  if (r.path.endsWith('/info/refs')) return `${r.method} info/refs`
  // git sends a flush-only probe before a request body larger than http.postBuffer.
  return `${r.method} ${r.path.split('/').pop() ?? ''} (no command)`
}

export function summarizeRequests(requests: readonly LoggedRequest[]): RequestSummary {
  const kinds: Record<string, number> = {}
  let bytes = 0
  let packFraming = 0
  for (const r of requests) {
    bytes += r.bytesOut
    packFraming += r.packFramingBytes ?? 0
    const k = kindOf(r)
    kinds[k] = (kinds[k] ?? 0) + 1
  }
  return { count: requests.length, bytes, packFraming, kinds }
}

/** "GET info/refs ×1, POST fetch ×2" in first-seen order. */
export function formatKinds(kinds: Record<string, number>): string {
  return Object.entries(kinds)
    .map(([k, n]) => `${k} x${n}`)
    .join(', ')
}

/**
 * The peak RSS in KiB that GNU time wrote with `-f '%M'` to its -o file: the
 * last line that is a plain integer (time may prepend "Command exited with
 * non-zero status N").
 */
/** GNU time's `%M %U %S` line: the largest process's RSS in KiB and the user and system CPU seconds of the command and its children, in ms. */
export function parseGnuTimeLine(text: string): { maxRssKiB: number; userMs: number; sysMs: number } | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '')
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(\d+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(lines[i] as string)
    if (m !== null) return { maxRssKiB: Number(m[1]), userMs: Number(m[2]) * 1000, sysMs: Number(m[3]) * 1000 }
  }
  return undefined
}


/** The resident set size in KiB from the text of /proc/<pid>/status (0 for kernel threads / zombies). */
export function parseVmRss(status: string): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  return m ? Number(m[1]) : 0
}

/** Left-aligned first column, right-aligned others, two spaces between columns. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows]
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)))
  const line = (r: readonly string[]): string =>
    widths
      .map((w, c) => {
        const cell = r[c] ?? ''
        return c === 0 ? cell.padEnd(w) : cell.padStart(w)
      })
      .join('  ')
      .trimEnd()
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [line(header), rule, ...rows.map(line)].join('\n') + '\n'
}
