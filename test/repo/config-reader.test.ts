import t from 'tap'
import { ConfigError } from '../../lib/errors.js'
import { ConfigReader, allValues, lastValue, subsectionsOf, type ScopedEntry } from '../../lib/repo/config-reader.js'

/** A reader over a fixed list, as a file layer or the layered view hands one over. */
class ListReader extends ConfigReader {
  constructor(private readonly items: ScopedEntry[], home?: string) {
    super(home)
  }
  protected list(): readonly ScopedEntry[] {
    return this.items
  }
}

const entry = (key: string, value: string | null, scope: ScopedEntry['scope'] = 'local'): ScopedEntry => ({ key, value, line: 0, scope })

t.test('lookups: the last value wins, keys are matched canonically, subsections in order of first sight', async (t) => {
  const entries = [
    entry('core.bare', 'false', 'global'),
    entry('remote.Origin.url', 'a'),
    entry('remote.origin.url', 'b'),
    entry('remote.Origin.fetch', '+x'),
    entry('remote.Origin.fetch', '+y'),
    entry('core.bare', 'true', 'command'),
    entry('core.filemode', null),
  ]
  t.equal(lastValue(entries, 'CORE.Bare'), 'true', 'section and name in any case')
  t.equal(lastValue(entries, 'remote.Origin.URL'), 'a', 'the subsection keeps its case')
  t.equal(lastValue(entries, 'core.filemode'), null, 'set without =')
  t.equal(lastValue(entries, 'core.nope'), undefined, 'not set')
  t.same(allValues(entries, 'remote.Origin.fetch'), ['+x', '+y'])
  t.same(subsectionsOf(entries, 'Remote'), ['Origin', 'origin'])
  t.throws(() => lastValue(entries, 'nosection'), ConfigError, 'a malformed key is an error, not a miss')
})

t.test('typed reads: fallbacks for what is not set, errors for what git refuses', async (t) => {
  const cfg = new ListReader([
    entry('a.flag', null),
    entry('a.off', 'no'),
    entry('a.size', '2k'),
    entry('a.bad', 'lots'),
    entry('a.path', '~/repos'),
    entry('a.text', 'hello'),
  ], '/home/me')
  t.equal(cfg.getBool('a.flag'), true)
  t.equal(cfg.getBool('a.off', true), false)
  t.equal(cfg.getBool('a.unset'), undefined)
  t.equal(cfg.getBool('a.unset', true), true)
  t.equal(cfg.getInt('a.size'), 2048)
  t.equal(cfg.getInt('a.unset', 7), 7)
  t.throws(() => cfg.getInt('a.bad'), ConfigError)
  t.equal(cfg.getPath('a.path'), '/home/me/repos')
  t.equal(cfg.getString('a.text'), 'hello')
  t.throws(() => cfg.getString('a.flag'), new ConfigError("missing value for 'a.flag'"), 'a string wants a value')
  t.ok(cfg.has('a.flag') && !cfg.has('a.unset'))
  t.same(cfg.getAll('a.text'), ['hello'])
  t.same(cfg.subsections('a'), [], 'no subsections')
  t.equal(cfg.entries().length, 6)
})
