/**
 * URL matching of `<section>.<url>.<name>` keys: each case is asked of real git too
 * (`git config --get-urlmatch`), and the two answers must be the same.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git, tempDir } from '../fixtures/git.js'
import { parseConfig } from '../../lib/repo/config-parse.js'
import { compareMatches, matchUrl, parseMatchUrl, UrlConfig } from '../../lib/repo/url-match.js'

const dir = tempDir('tsgit-urlmatch-')
t.teardown(dir.cleanup)

const CONFIG = `[http]
\tcookie = bare
[http "https://example.com"]
\tcookie = host
[http "https://*.example.com"]
\tcookie = wild-host
[http "https://example.com/foo"]
\tcookie = path-foo
[http "https://example.com/foo/bar"]
\tcookie = path-foo-bar
[http "https://user@example.com"]
\tcookie = user
[http "https://example.com:8443/"]
\tcookie = port
[http "http://example.com"]
\tcookie = plain-http
[http "https://a.b.example.com/"]
\tcookie = deep
[http "https://EXAMPLE.org/x/"]
\tcookie = upper-host
`
const file = join(dir.path, 'config')
writeFileSync(file, CONFIG)
const entries = parseConfig(CONFIG, file).entries

function gitAnswer(url: string): string | undefined {
  const r = git(['config', '-f', file, '--get-urlmatch', 'http.cookie', url], { allowFail: true })
  return r.status === 0 ? r.stdout.replace(/\n$/, '') : undefined
}

const URLS = [
  'https://example.com/',
  'https://example.com/repo.git',
  'https://example.com:443/repo.git',
  'https://example.com/foo',
  'https://example.com/foobar',
  'https://example.com/foo/x.git',
  'https://example.com/foo/bar/x.git',
  'https://user@example.com/x.git',
  'https://user@example.com/foo/x.git',
  'https://other@example.com/x.git',
  'https://user:secret@example.com/x.git',
  'https://example.com:8443/x.git',
  'http://example.com/x.git',
  'http://example.com:443/x.git',
  'https://git.example.com/x.git',
  'https://a.b.example.com/x.git',
  'https://x.b.example.com/x.git',
  'https://example.org/x/y.git',
  'https://example.org/xy.git',
  'https://unrelated.net/x.git',
]

t.test('the value each URL gets is the one git gives it', async (t) => {
  for (const url of URLS) t.equal(new UrlConfig(entries, 'http', url).get('cookie'), gitAnswer(url), url)
})

t.test('a list collects every applied value in order; an empty value clears it; a weaker entry after a stronger one is skipped', async (t) => {
  const text = `[http]\n\textraHeader = A: 1\n[http "https://example.com/"]\n\textraHeader = B: 2\n[http]\n\textraHeader = C: 3\n[http "https://example.com/repo"]\n\textraHeader = D: 4\n[http "https://example.com/other"]\n\textraHeader = E: 5\n`
  const list = (u: string): string[] => new UrlConfig(parseConfig(text, 'x').entries, 'http', u).list('extraheader')
  t.same(list('https://example.com/repo.git'), ['A: 1', 'B: 2'])
  t.same(list('https://example.com/repo/x.git'), ['A: 1', 'B: 2', 'D: 4'])
  t.same(list('https://elsewhere.com/repo'), ['A: 1', 'C: 3'])
  const reset = `[http "https://example.com/"]\n\textraHeader = A: 1\n\textraHeader =\n\textraHeader = B: 2\n`
  t.same(new UrlConfig(parseConfig(reset, 'x').entries, 'http', 'https://example.com/r').list('extraHeader'), ['B: 2'])
})

t.test('parseMatchUrl fills default ports, lowers scheme and host, drops the password', async (t) => {
  t.same(parseMatchUrl('HTTPS://u:pw@Example.COM/a/b'), { scheme: 'https', host: 'example.com', path: '/a/b', port: 443, user: 'u' })
  t.same(parseMatchUrl('http://h:8080'), { scheme: 'http', host: 'h', path: '/', port: 8080 })
  t.equal(parseMatchUrl('not a url'), undefined)
  t.equal(parseMatchUrl('http://h:port/'), undefined)
})

t.test('matches rank host, then path, then user name', async (t) => {
  const url = parseMatchUrl('https://user@example.com/foo/bar') as NonNullable<ReturnType<typeof parseMatchUrl>>
  const m = (k: string): ReturnType<typeof matchUrl> => matchUrl(parseMatchUrl(k) as NonNullable<ReturnType<typeof parseMatchUrl>>, url)
  const byPath = m('https://example.com/foo')
  const byUser = m('https://user@example.com')
  t.ok(byPath !== undefined && byUser !== undefined)
  t.ok(compareMatches(byPath as NonNullable<typeof byPath>, byUser as NonNullable<typeof byUser>) > 0, 'the path beats the user name (git-config(1)\'s example)')
  t.equal(m('https://example.com/fo'), undefined, 'a path prefix only matches on a / boundary')
  t.equal(m('https://*.example.com/'), undefined, 'a * stands for one label, not for none')
})
