/**
 * The chunks of a readable byte stream as they arrive, each its own Buffer.
 *
 * `for await (const c of readable)` hands out, at each step, everything the stream
 * has buffered, concatenated into one new Buffer (`Readable#read()` with no size).
 * When the consumer is slower than the socket, as a pack parser is, every byte is
 * copied once more into fresh memory. Here each chunk is passed on as it came, and the
 * stream is paused while more than `highWater` bytes wait. Otherwise it behaves like
 * the async iterator: the stream's error is thrown once what arrived before it is handed out (the iterator drops it),
 * a stream destroyed before its end throws ERR_STREAM_PREMATURE_CLOSE, and a consumer
 * that stops early destroys the stream.
 */
import type { Readable } from 'node:stream'

export async function* chunksOf(stream: Readable, highWater = 1 << 20): AsyncGenerator<Buffer> {
  const queue: Buffer[] = []
  let head = 0
  let queued = 0
  let ended = false
  let failure: unknown
  let wake: (() => void) | undefined
  const notify = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  const onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    queue.push(buf)
    queued += buf.length
    if (queued > highWater) stream.pause()
    notify()
  }
  const onEnd = (): void => {
    ended = true
    notify()
  }
  const onError = (e: unknown): void => {
    failure ??= e
    notify()
  }
  const onClose = (): void => {
    if (!ended && failure === undefined) {
      failure = Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
    }
    notify()
  }
  stream.on('data', onData)
  stream.on('end', onEnd)
  stream.on('error', onError)
  stream.on('close', onClose)
  try {
    for (;;) {
      // What arrived before an error is handed out first: a cut download or response
      // keeps every byte it got (the iterator would drop them).
      if (failure !== undefined && head >= queue.length) throw failure
      if (head < queue.length) {
        const chunk = queue[head] as Buffer
        queue[head++] = undefined as unknown as Buffer
        if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head)
          head = 0
        }
        queued -= chunk.length
        if (queued <= highWater / 2 && stream.isPaused() && !ended) stream.resume()
        yield chunk
        continue
      }
      if (ended) return
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  } finally {
    stream.off('data', onData)
    stream.off('end', onEnd)
    stream.off('error', onError)
    stream.off('close', onClose)
    if (!ended && !stream.destroyed) stream.destroy()
  }
}
