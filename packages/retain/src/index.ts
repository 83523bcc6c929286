export { estimateRetainedBytes, RETAINED_ENTRY_OVERHEAD_BYTES } from './byte-estimate.js';
export {
  DEFAULT_RETAIN_PAGE_LIMIT,
  type RetainCursor,
  type RetainedMessage,
  type RetainInput,
  type RetainMatchOptions,
  type RetainPage,
  type RetainStore,
} from './contract.js';
export { expiryDeadline } from './expiry.js';
export {
  createMemoryRetainStore,
  DEFAULT_MAX_RETAINED_BYTES,
  type MemoryRetainLimits,
  MemoryRetainStore,
  type MemoryRetainStoreOptions,
  type MemoryRetainStoreStats,
} from './memory-retain-store.js';
export { resolvePageLimit } from './page-limit.js';
export { copyRetainedProperties } from './properties.js';
