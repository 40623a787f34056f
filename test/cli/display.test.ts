import t from 'tap'
import { Writable } from 'node:stream'
import { Display, RATE_INTERVAL_MS, RATE_WINDOW, Throughput, humanBytes } from '../../lib/cli/display.js'
import { screen, segments } from '../fixtures/terminal.js'

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

/** A clock the test moves. */
function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let at = start
  return { now: () => at, advance: (ms) => void (at += ms) }
}

const MiB = 1024 * 1024

t.test('humanBytes formats like git progress', async (t) => {
  t.equal(humanBytes(512), '512 bytes')
  t.equal(humanBytes(1536), '1.50 KiB')
  t.equal(humanBytes(5 * 1024 * 1024), '5.00 MiB')
})

t.test('progress is shown only on a terminal or when forced, never under --quiet', async (t) => {
  const notty = capture(false)
  new Display({ stderr: notty.stream }).progress({ title: 'Receiving objects', current: 1, total: 2, done: true })
  t.equal(notty.text(), '', 'no progress when stderr is not a terminal')

  const tty = capture(true)
  new Display({ stderr: tty.stream }).progress({ title: 'Receiving objects', current: 1, total: 2 })
  t.equal(tty.text(), 'Receiving objects:  50% (1/2)\r', 'on a terminal it is')

  const forced = capture(false)
  new Display({ stderr: forced.stream, progress: true }).progress({ title: 'Resolving deltas', current: 3, total: 3, done: true })
  t.equal(forced.text(), 'Resolving deltas: 100% (3/3), done.\n')

  const off = capture(true)
  new Display({ stderr: off.stream, progress: false }).progress({ title: 'Resolving deltas', current: 3, total: 3, done: true })
  t.equal(off.text(), '', '--no-progress on a terminal')

  const quiet = capture(true)
  const d = new Display({ stderr: quiet.stream, quiet: true, progress: true })
  d.progress({ title: 'Receiving objects', current: 1, total: 1, done: true })
  d.info('Cloning into x...')
  d.remote('Enumerating objects: 3, done.\n')
  t.equal(quiet.text(), '', '--quiet silences progress, info and remote lines')
})

t.test('a progress line is redrawn in place, ending with \\r as git\'s does, and padded over a longer one', async (t) => {
  const out = capture(true)
  const c = clock()
  const d = new Display({ stderr: out.stream, now: c.now })
  d.progress({ title: 'Counting', current: 1000 })
  c.advance(600)
  d.progress({ title: 'Counting', current: 7 })
  d.progress({ title: 'Counting', current: 9, done: true })
  t.equal(out.text(), 'Counting: 1000\rCounting: 7   \rCounting: 9, done.\n')
})

t.test('drawn when the percentage moves, else at most twice a second', async (t) => {
  const out = capture(true)
  const c = clock()
  const d = new Display({ stderr: out.stream, now: c.now })
  d.progress({ title: 'Resolving deltas', current: 0, total: 1000 })
  d.progress({ title: 'Resolving deltas', current: 5, total: 1000 })
  d.progress({ title: 'Resolving deltas', current: 10, total: 1000 })
  c.advance(600)
  d.progress({ title: 'Resolving deltas', current: 12, total: 1000 })
  t.same(segments(out.text()).filter((s) => s !== ''), [
    'Resolving deltas:   0% (0/1000)',
    'Resolving deltas:   1% (10/1000)',
    'Resolving deltas:   1% (12/1000)',
  ])
})

t.test('endLine ends an open progress line, and only one', async (t) => {
  const out = capture(false)
  const d = new Display({ stderr: out.stream, progress: true })
  d.endLine()
  t.equal(out.text(), '', 'nothing open: nothing written')
  d.progress({ title: 'Receiving objects', current: 1, total: 4 })
  d.endLine()
  t.equal(out.text(), 'Receiving objects:  25% (1/4)\r\n')
  d.endLine()
  t.equal(out.text(), 'Receiving objects:  25% (1/4)\r\n', 'a second call writes nothing')
  d.progress({ title: 'Resolving deltas', current: 2, total: 2, done: true })
  d.endLine()
  t.equal(out.text(), 'Receiving objects:  25% (1/4)\r\nResolving deltas: 100% (2/2), done.\n', 'a finished line is not ended twice')
  t.same(screen(out.text()), ['Receiving objects:  25% (1/4)', 'Resolving deltas: 100% (2/2), done.', ''])
})

t.test('server messages keep the remote: prefix on every line, across packets', async (t) => {
  const out = capture(false)
  const d = new Display({ stderr: out.stream })
  d.remote('Counting obj')
  d.remote('ects: 1\rCounting objects: 2, done.\nTotal 2\n')
  t.equal(out.text(), 'remote: Counting objects: 1\rremote: Counting objects: 2, done.\nremote: Total 2\n')
})

t.test('a server\'s own progress line, ended by a lone \\n after its last \\r, stays as it was', async (t) => {
  const out = capture(true)
  const d = new Display({ stderr: out.stream })
  d.remote('Compressing objects:  50% (1/2)\r')
  d.remote('Compressing objects: 100% (2/2)\r')
  d.remote('\nTotal 2 (delta 0)\n')
  t.equal(out.text(), 'remote: Compressing objects:  50% (1/2)\rremote: Compressing objects: 100% (2/2)\r\nremote: Total 2 (delta 0)\n')
  t.same(screen(out.text()), ['remote: Compressing objects: 100% (2/2)', 'remote: Total 2 (delta 0)', ''])
})

t.test('a server line while a progress line is open starts at column 0, and the progress line comes back below it', async (t) => {
  const out = capture(true)
  const d = new Display({ stderr: out.stream })
  d.progress({ title: 'Receiving objects', current: 45, total: 100 })
  d.remote('Total 100 (del')
  t.equal(out.text(), 'Receiving objects:  45% (45/100)\r', 'half a server line waits for its end')
  d.remote('ta 3)\n')
  d.progress({ title: 'Receiving objects', current: 100, total: 100, done: true })
  t.equal(out.text(), [
    'Receiving objects:  45% (45/100)\r',
    'remote: Total 100 (delta 3)     \n',
    'Receiving objects:  45% (45/100)\r',
    'Receiving objects: 100% (100/100), done.\n',
  ].join(''))
  for (const s of segments(out.text())) if (s.includes('remote:')) t.ok(s.startsWith('remote:'), `"${s}" starts at column 0`)
  t.same(screen(out.text()), ['remote: Total 100 (delta 3)', 'Receiving objects: 100% (100/100), done.', ''])
})

t.test('warnings and messages too start at column 0 over an open line, which comes back', async (t) => {
  const out = capture(true)
  const d = new Display({ stderr: out.stream })
  d.progress({ title: 'Updating files', current: 1, total: 3 })
  d.warn('x')
  d.info('note')
  d.progress({ title: 'Updating files', current: 3, total: 3, done: true })
  t.same(screen(out.text()), ['warning: x', 'note', 'Updating files: 100% (3/3), done.', ''])
  const fatal = capture(true)
  const f = new Display({ stderr: fatal.stream })
  f.progress({ title: 'Updating files', current: 1, total: 3 })
  f.fatal('disk full')
  t.equal(fatal.text(), 'Updating files:  33% (1/3)\rfatal: disk full          \n', 'after a fatal error the line is not drawn again')
})

t.test('a line done while another is open is written above it', async (t) => {
  const out = capture(true)
  const d = new Display({ stderr: out.stream })
  d.progress({ title: 'Downloading packs', current: 0, total: 2 })
  d.progress({ title: 'Resolving deltas', current: 5, total: 5, done: true })
  d.progress({ title: 'Downloading packs', current: 2, total: 2, done: true })
  t.same(screen(out.text()), ['Resolving deltas: 100% (5/5), done.', 'Downloading packs: 100% (2/2), done.', ''])
})

t.test('no rate until an interval has passed; then an average over the last intervals', async (t) => {
  const out = capture(true)
  const c = clock()
  const d = new Display({ stderr: out.stream, now: c.now })
  // The first run arrives in a burst: 4 MiB "in no time".
  d.progress({ title: 'Receiving objects', current: 0, total: 100, bytes: 4 * MiB })
  c.advance(1)
  d.progress({ title: 'Receiving objects', current: 1, total: 100, bytes: 4 * MiB + 65536 })
  c.advance(RATE_INTERVAL_MS - 1)
  d.progress({ title: 'Receiving objects', current: 2, total: 100, bytes: 5 * MiB })
  c.advance(100)
  d.progress({ title: 'Receiving objects', current: 3, total: 100, bytes: 5 * MiB + 102400 })
  const lines = segments(out.text()).filter((s) => s !== '')
  t.same(lines.slice(0, 3), [
    'Receiving objects:   0% (0/100)',
    'Receiving objects:   1% (1/100)',
    'Receiving objects:   2% (2/100)',
  ], 'nothing of bytes or rate within the first interval (the burst would read as GiB/s)')
  t.equal(lines[3], 'Receiving objects:   3% (3/100), 5.10 MiB | 1.83 MiB/s', 'after it: the 1.1 MiB of 600 ms, the burst left out')
})

t.test('Throughput: the window forgets intervals older than the last few', async (t) => {
  const c = clock()
  const tp = new Throughput(c.now(), 0)
  let bytes = 0
  // Slow at first (1 MiB/s), then fast (4 MiB/s) for a whole window.
  for (let i = 0; i < 4; i++) {
    c.advance(1000)
    bytes += MiB
    tp.update(c.now(), bytes)
  }
  t.match(tp.text, / \| 1\.00 MiB\/s$/)
  for (let i = 0; i < RATE_WINDOW; i++) {
    c.advance(1000)
    bytes += 4 * MiB
    tp.update(c.now(), bytes)
  }
  t.match(tp.text, / \| 4\.00 MiB\/s$/, 'only the fast intervals count now')
  c.advance(200)
  tp.update(c.now(), bytes + MiB)
  t.match(tp.text, / \| 4\.00 MiB\/s$/, 'not taken again within an interval')
  t.equal(tp.final(c.now(), bytes + MiB), `${humanBytes(bytes + MiB)} | ${humanBytes(Math.round(((RATE_WINDOW * 4 + 1) * MiB * 1000) / (RATE_WINDOW * 1000 + 200)))}/s`, 'the last line counts the time since the last interval too')
})

t.test('Throughput: a line done within its first interval shows the average over its life, or no rate without time', async (t) => {
  const c = clock()
  const quick = new Throughput(c.now(), 65536)
  c.advance(250)
  t.equal(quick.final(c.now(), 2 * MiB), '2.00 MiB | 8.00 MiB/s', 'every byte over the 250 ms, as git\'s last line')
  t.equal(new Throughput(c.now(), MiB).final(c.now(), MiB), '1.00 MiB', 'a line done at its first event: no time, no rate')
})

t.test('bytesSince: a line shown late measures its rate from when its bytes began', async (t) => {
  const out = capture(true)
  const c = clock()
  const d = new Display({ stderr: out.stream, now: c.now })
  const since = c.now()
  c.advance(2000)
  d.progress({ title: 'Downloading packs', current: 2, total: 2, bytes: 8 * MiB, bytesSince: since, done: true })
  t.equal(out.text(), 'Downloading packs: 100% (2/2), 8.00 MiB | 4.00 MiB/s, done.\n')
})
