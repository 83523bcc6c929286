export type {
  MessageStage,
  SessionChange,
  SessionKey,
  SessionOutline,
  SessionPage,
  SessionState,
  SessionStore,
  StoredMessage,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from './contract.js';
export { createMemorySessionStore, MemorySessionStore } from './memory-session-store.js';
