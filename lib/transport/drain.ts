/**
 * What a transport's close() does with output nobody read: upload-pack is read to its
 * end so it can finish and say how it ended, up to a bound past which the transfer was
 * abandoned mid-way and the caller cuts it off instead.
 */

/** How much unread output close() reads and discards before cutting the connection instead. */
export const DRAIN_MAX = 1 << 20

/**
 * Reads and discards what is left of `output`, at most `max` bytes, then ends it. When
 * more was left than that, `onOver` runs first (the caller kills the process). A failure
 * while reading ends the draining: the conversation is over.
 */
export async function drainOutput(output: AsyncGenerator<Buffer> | undefined, onOver?: () => void, max = DRAIN_MAX): Promise<void> {
  let drained = 0
  try {
    for (;;) {
      const r = await output?.next()
      if (r === undefined || r.done === true) break
      drained += r.value.length
      if (drained > max) {
        onOver?.()
        break
      }
    }
  } catch {
    // judged by the caller (an exit status) or of no interest once the conversation ends
  }
  await output?.return(undefined).catch(() => undefined)
}
