export { applyDelta, deltaHeaderSizes, type DeltaHeader } from './delta.js'
export { PackIndex, writeIdxV2, type IdxEntry } from './idx.js'
export {
  DEFAULT_MAX_OBJECT_SIZE, DEFAULT_STREAMING_THRESHOLD, indexPack,
  type IndexPackOptions, type IndexPackResult, type IndexedObject,
} from './indexer.js'
export { PackFile, type PackFileOptions } from './reader.js'
export { hashObject, parsePackHeader } from './format.js'
