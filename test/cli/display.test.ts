import t from 'tap'
import { Writable } from 'node:stream'
import { Display, humanBytes } from '../../lib/cli/display.js'

function capture(isTTY: boolean): { stream: NodeJS.WritableStream & { isTTY?: boolean }; text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString())
      cb()
    },
  }) as Writable & { isTTY?: boolean }
  stream.isTTY = isTTY
  return { stream, text: () => chunks.join('') }
}

t.test('humanBytes formats like git progress', async (t) => {
  t.equal(humanBytes(512), '512 bytes')
  t.equal(humanBytes(1536), '1.50 KiB')
  t.equal(humanBytes(5 * 1024 * 1024), '5.00 MiB')
})

t.test('progress is shown only on a terminal or when forced, never under --quiet', async (t) => {
  const notty = capture(false)
  new Display({ stderr: notty.stream }).progress({ title: 'Receiving objects', current: 1, total: 2, done: true })
  t.equal(notty.text(), '', 'no progress when stderr is not a terminal')

  const forced = capture(false)
  new Display({ stderr: forced.stream, progress: true }).progress({ title: 'Resolving deltas', current: 3, total: 3, done: true })
  t.equal(forced.text(), '\rResolving deltas: 100% (3/3), done.\n')

  const quiet = capture(true)
  const d = new Display({ stderr: quiet.stream, quiet: true, progress: true })
  d.progress({ title: 'Receiving objects', current: 1, total: 1, done: true })
  d.info('Cloning into x...')
  d.remote('Enumerating objects: 3, done.\n')
  t.equal(quiet.text(), '', '--quiet silences progress, info and remote lines')
})

t.test('endLine ends an open progress line, and only one', async (t) => {
  const out = capture(false)
  const d = new Display({ stderr: out.stream, progress: true })
  d.endLine()
  t.equal(out.text(), '', 'nothing open: nothing written')
  d.progress({ title: 'Receiving objects', current: 1, total: 4 })
  d.endLine()
  t.equal(out.text(), '\rReceiving objects:  25% (1/4)\n')
  d.endLine()
  t.equal(out.text(), '\rReceiving objects:  25% (1/4)\n', 'a second call writes nothing')
  d.progress({ title: 'Resolving deltas', current: 2, total: 2, done: true })
  d.endLine()
  t.equal(out.text(), '\rReceiving objects:  25% (1/4)\n\rResolving deltas: 100% (2/2), done.\n', 'a finished line is not ended twice')
})

t.test('server messages keep the remote: prefix on every line, across packets', async (t) => {
  const out = capture(false)
  const d = new Display({ stderr: out.stream })
  d.remote('Counting obj')
  d.remote('ects: 1\rCounting objects: 2, done.\nTotal 2\n')
  t.equal(out.text(), 'remote: Counting objects: 1\rremote: Counting objects: 2, done.\nremote: Total 2\n')
})
