import { defaultOutboxStore, type OutboxStore } from '@/protocol';

let store: OutboxStore | null = null;

/** Where the app keeps unsent messages across reloads (IndexedDB; memory where there is none). */
export function outboxStore(): OutboxStore {
  store ??= defaultOutboxStore();
  return store;
}

/** Replaces the store (tests pass a memory one). */
export function provideOutboxStore(replacement: OutboxStore | null): void {
  store = replacement;
}
