/**
 * Library code never writes to the terminal. It reports through a ProgressSink,
 * and the CLI decides what to render (progress only on a terminal or with --progress).
 */
export interface ProgressEvent {
  /** Title as git prints it, e.g. "Receiving objects", "Resolving deltas", "Updating files". */
  title: string
  current: number
  /** Undefined when the total is unknown. */
  total?: number
  /** Bytes so far, shown with a rate for "Receiving objects". */
  bytes?: number
  /**
   * When `bytes` began to count from 0 (epoch milliseconds), for a title whose first
   * event comes after that (downloads shown once another line is done); otherwise the
   * rate is measured from the title's first event.
   */
  bytesSince?: number
  /** True on the last event of this title. */
  done?: boolean
}

export interface ProgressSink {
  progress(ev: ProgressEvent): void
  /** A line the server sent on sideband 2 (without the trailing newline handling); rendered as "remote: …". */
  remote(text: string): void
  /** A warning ("warning: …" on stderr). */
  warn(message: string): void
  /** Informational line (e.g. "Cloning into 'x'..."), suppressed by --quiet. */
  info(message: string): void
  /**
   * false: progress is not shown (no terminal, --quiet), so a fetch asks the server
   * for none (no-progress), as git does. Undefined: unknown; the server may send it.
   */
  readonly showProgress?: boolean
}

export const silentSink: ProgressSink = {
  progress() {},
  remote() {},
  warn() {},
  info() {},
  showProgress: false,
}
