/**
 * A remote made a promisor remote, as git's partial_clone_register does it (clone
 * --filter, fetch --filter): the repository format raised to 1, remote.<name>.promisor
 * and remote.<name>.partialclonefilter. tsgit also names the remote in
 * extensions.partialClone when no remote is named there yet (see DEVIATIONS in
 * tsgit-clone(1)): a promisor remote added later is then tried before it.
 */
import type { ConfigFile } from '../repo/config.js'

export function registerPromisorRemote(f: ConfigFile, remote: string, filter: string): void {
  const promisor = f.get(`remote.${remote}.promisor`)
  if (promisor !== undefined && promisor !== null && /^(true|yes|on|1)$/i.test(promisor)) {
    // Registered already: a filter that is there stays (git's rule), one is added if none is.
    if (f.get(`remote.${remote}.partialclonefilter`) === undefined) f.set(`remote.${remote}.partialclonefilter`, filter)
    return
  }
  const version = f.get('core.repositoryformatversion')
  if (version === undefined || version === null || Number(version) < 1) f.set('core.repositoryformatversion', '1')
  if (f.get('extensions.partialClone') === undefined) f.set('extensions.partialClone', remote)
  f.set(`remote.${remote}.promisor`, 'true')
  f.set(`remote.${remote}.partialclonefilter`, filter)
}
