import t from 'tap'
import { byteString } from '../../lib/rev/paths.js'

t.test('byteString: one char per UTF-8 byte, so code-unit order is byte order', async (t) => {
  t.equal(byteString('plain/path.txt'), 'plain/path.txt')
  t.equal(byteString('caf\u00e9'), 'caf\u00c3\u00a9')
  t.equal(Buffer.from(byteString('\u{1f600}/x'), 'latin1').toString('utf8'), '\u{1f600}/x', 'back to the same bytes')
  // U+FF21 sorts after U+00E9 as UTF-16 and as UTF-8 bytes; U+10000 sorts before U+FF21 as UTF-16 but after it as bytes
  const names = ['\u{10000}', '\uff21', '\u00e9'].map(byteString)
  t.same([...names].sort().map((n) => Buffer.from(n, 'latin1').toString('utf8')), ['\u00e9', '\uff21', '\u{10000}'])
})
