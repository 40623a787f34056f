import t from 'tap'
import { adoptLauncherEnvironment } from '../../lib/ops/launcher.js'

t.test('what bin/tsgit set aside is put back for the processes tsgit starts', async (t) => {
  const env: NodeJS.ProcessEnv = { TSGIT_EXTRA_CA_CERTS: '/nonexistent/bundle.pem', PATH: '/bin' }
  adoptLauncherEnvironment(env)
  t.same(env, { NODE_EXTRA_CA_CERTS: '/nonexistent/bundle.pem', PATH: '/bin' })
})

t.test('nothing set aside: nothing changes; an empty one is dropped', async (t) => {
  const env: NodeJS.ProcessEnv = { PATH: '/bin' }
  adoptLauncherEnvironment(env)
  t.same(env, { PATH: '/bin' })
  const empty: NodeJS.ProcessEnv = { TSGIT_EXTRA_CA_CERTS: '' }
  adoptLauncherEnvironment(empty)
  t.same(empty, {})
})
