/**
 * What the launcher (bin/tsgit) sets aside before Node starts, taken back by the
 * process once, before any command runs. Today that is NODE_EXTRA_CA_CERTS, moved to
 * TSGIT_EXTRA_CA_CERTS so that Node does not parse the certificates at every start
 * (lib/transport/extra-ca.ts says why, and how https connections still trust them).
 */
import { adoptDeferredExtraCa } from '../transport/extra-ca.js'

/** Restores in `env` what the launcher moved aside, for the processes tsgit starts. */
export function adoptLauncherEnvironment(env: NodeJS.ProcessEnv): void {
  adoptDeferredExtraCa(env)
}
