import t from 'tap'
import { parseRemoteUrl, type RemoteUrl } from '../../lib/transport/url.js'
import { TransportError } from '../../lib/errors.js'

t.test('classifies URLs the way git does', async (t) => {
  const cases: Array<[string, Partial<RemoteUrl> & Record<string, unknown>]> = [
    ['https://example.com/repo.git', { kind: 'https', baseUrl: 'https://example.com/repo.git', displayUrl: 'https://example.com/repo.git' }],
    ['http://example.com:8080/a/b/', { kind: 'http', baseUrl: 'http://example.com:8080/a/b', displayUrl: 'http://example.com:8080/a/b' }],
    ['https://alice:s3cr%40t@example.com/r', { kind: 'https', baseUrl: 'https://example.com/r', username: 'alice', password: 's3cr@t', displayUrl: 'https://alice@example.com/r' }],
    ['https://bob@example.com/r', { kind: 'https', baseUrl: 'https://example.com/r', username: 'bob', displayUrl: 'https://bob@example.com/r' }],
    ['file:///srv/git/r.git', { kind: 'file', path: '/srv/git/r.git' }],
    ['file://localhost/srv/r', { kind: 'file', path: '/srv/r' }],
    ['/abs/path/r.git', { kind: 'file', path: '/abs/path/r.git' }],
    ['rel/r', { kind: 'file', path: '/base/rel/r' }],
    ['./a:b', { kind: 'file', path: '/base/a:b' }],
    ['dir/a:b', { kind: 'file', path: '/base/dir/a:b' }],
    ['ssh://git@example.com/srv/r.git', { kind: 'ssh', user: 'git', host: 'example.com', path: '/srv/r.git' }],
    ['ssh://example.com:2222/srv/r.git', { kind: 'ssh', host: 'example.com', port: 2222, path: '/srv/r.git' }],
    ['git+ssh://example.com/~alice/r', { kind: 'ssh', host: 'example.com', path: '~alice/r' }],
    ['ssh+git://example.com/r', { kind: 'ssh', host: 'example.com', path: '/r' }],
    ['ssh://[::1]:22/r', { kind: 'ssh', host: '::1', port: 22, path: '/r' }],
    ['git@example.com:org/r.git', { kind: 'ssh', user: 'git', host: 'example.com', path: 'org/r.git' }],
    ['example.com:/srv/r', { kind: 'ssh', host: 'example.com', path: '/srv/r' }],
    ['host:~/r', { kind: 'ssh', host: 'host', path: '~/r' }],
    ['[host:2200]:r', { kind: 'ssh', host: 'host', port: 2200, path: 'r' }],
    ['git://example.com/srv/r.git', { kind: 'git', host: 'example.com', path: '/srv/r.git' }],
    ['git://127.0.0.1:9419/r', { kind: 'git', host: '127.0.0.1', port: 9419, path: '/r' }],
    ['git://[::1]/~alice/r', { kind: 'git', host: '::1', path: '~alice/r' }],
  ]
  for (const [url, want] of cases) {
    const got = parseRemoteUrl(url, '/base')
    t.match(got, want, url)
    if (want.username === undefined) t.notOk('username' in got && got.username !== undefined, `${url} has no username`)
    if (want.port === undefined) t.notOk('port' in got && got.port !== undefined, `${url} has no port`)
  }
})

t.test('ssh and http URLs never keep a password in displayUrl', async (t) => {
  const r = parseRemoteUrl('https://u:pw@h.example/x')
  t.notMatch(r.displayUrl, /pw/)
})

t.test('rejects what git rejects', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['foo://example.com/r', /^Unable to find remote helper for 'foo'$/],
    ['svn::https://example.com/r', /^Unable to find remote helper for 'svn'$/],
    ['git://user@example.com/r', /takes no user name/],
    ['git://example.com', /no path/],
    ['git://-x/r', /strange hostname/],
    ['ssh://-oProxyCommand=x/r', /strange hostname/],
    ['-oProxyCommand=x:r', /strange hostname/],
    ['host:-r', /strange pathname/],
    ['ssh://host:99999/r', /bad port/],
    ['', /empty/],
  ]
  for (const [url, msg] of bad) {
    t.throws(() => parseRemoteUrl(url, '/base'), msg, url)
    try {
      parseRemoteUrl(url, '/base')
    } catch (e) {
      t.ok(e instanceof TransportError, `${url}: TransportError`)
    }
  }
})
