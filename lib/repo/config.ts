/**
 * git config, as its parts' public face: most importers want a name or two from
 * several of them. The parts:
 *   config-parse.ts   the grammar: entries and byte offsets from a file's text, canonical keys
 *   config-edit.ts    ConfigFile: one file's bytes, edited as `git config` edits them
 *   config-value.ts   booleans, integers and paths as git reads them
 *   config-reader.ts  lookups over entries, last one winning; ConfigReader's typed reads
 *   config-load.ts    the layers git reads (system, global, local, worktree, command line)
 */
export { parseKey, type ConfigEntry } from './config-parse.js'
export { ConfigFile } from './config-edit.js'
export { parseBool, parseInteger } from './config-value.js'
export { ConfigReader, type ScopedEntry } from './config-reader.js'
