import { IndexedDbOutboxStore, MemoryOutboxStore, type OutboxStore } from '@/protocol';

let store: OutboxStore | null = null;

/**
 * Where the app keeps unsent messages across reloads: IndexedDB. Where there is none (unit
 * tests), a fresh store in memory each time, which could not outlive a reload anyway, so one
 * chats store never sees what another left.
 */
export function outboxStore(): OutboxStore {
  if (store !== null) return store;
  if (typeof indexedDB === 'undefined') return new MemoryOutboxStore();
  store = new IndexedDbOutboxStore(indexedDB);
  return store;
}

/** Replaces the store (tests pass one they can look into); null goes back to the default. */
export function provideOutboxStore(replacement: OutboxStore | null): void {
  store = replacement;
}
