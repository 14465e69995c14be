import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';

import { AuthClient, MemoryOutboxStore, ok, type CborMap, type CborValue, type Gateway, type GroupId, type Outgoing, type Result } from '@/protocol';
import { draftKey } from '@/components/chat/drafts';
import { provideOutboxStore } from '@/services/outbox-store';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

const G = '!abcdef123:node.test' as GroupId;
const ANA = '@ana:node.test';
const EID = '$' + 'A'.repeat(43);

type Reply = Result<CborValue, { code: string; message: string }>;

/** A gateway stand-in: `msgs.post` answers wait for the test; other requests answer `{}`. */
class FakeGateway {
  state = 'connected';
  readonly posts: { params: CborMap; answer: (r: Reply) => void }[] = [];
  readonly handlers: Record<string, ((v: unknown) => void)[]> = {};

  request(method: string, params: CborMap = {}): Promise<Reply> {
    if (method !== 'msgs.post') return Promise.resolve(ok({}));
    return new Promise((answer) => this.posts.push({ params, answer }));
  }

  on(event: string, handler: (v: unknown) => void): () => void {
    (this.handlers[event] ??= []).push(handler);
    return () => {};
  }

  emit(event: string, v: unknown): void {
    for (const h of this.handlers[event] ?? []) h(v);
  }

  start(): void {}
  stop(): void {}
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function kept(txn: string, text: string): Outgoing {
  return { txn, group: G, text, options: {}, queuedAt: Date.now() - 1_000, state: 'sending', attempts: 1 };
}

function setup(store: MemoryOutboxStore) {
  const gw = new FakeGateway();
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  provideOutboxStore(store);
  setActivePinia(createPinia());
  const session = useSessionStore();
  session.userId = ANA;
  const chats = useChatsStore();
  return { gw, session, chats };
}

describe('chats store: unsent messages kept across reloads', () => {
  afterEach(() => {
    provideSdk(null);
    provideOutboxStore(null);
    localStorage.clear();
  });

  it('sends what was kept for the signed-in user again, with its txn, as the store starts', async () => {
    const store = new MemoryOutboxStore();
    await store.save(ANA, [kept('kept-1', 'from before the reload')], []);
    await store.save('@bob:node.test', [kept('bobs', 'not mine')], []);
    const { gw, chats } = setup(store);
    await flush();
    expect(gw.posts.map((p) => [p.params.txn, p.params.text])).toEqual([['kept-1', 'from before the reload']]);
    expect(chats.pending(G)).toEqual([]); // the chat is not loaded: nothing to show it after
    gw.posts[0]?.answer(ok({ group: G, seq: 7, id: EID }));
    await flush();
    expect(store.records.has(ANA)).toBe(false);
    expect(store.records.has('@bob:node.test')).toBe(true);
  });

  it('keeps a new send until it is acknowledged', async () => {
    const store = new MemoryOutboxStore();
    const { gw, chats } = setup(store);
    await flush();
    const sent = chats.send(G, 'hello');
    await flush();
    expect([...(store.records.get(ANA)?.keys() ?? [])]).toEqual([sent.txn]);
    gw.posts[0]?.answer(ok({ group: G, seq: 3, id: EID }));
    await flush();
    expect(store.records.has(ANA)).toBe(false);
  });

  it('an explicit sign-out drops what this browser kept; an ended session keeps it', async () => {
    const store = new MemoryOutboxStore();
    const { session } = setup(store);
    await flush();
    await store.save(ANA, [kept('k', 'unsent')], []);
    localStorage.setItem(draftKey(ANA, G), 'a draft');

    session.notice = 'Your session has ended. Please log in again.';
    session.userId = null;
    await nextTick();
    await flush();
    expect(store.records.has(ANA)).toBe(true);
    expect(localStorage.getItem(draftKey(ANA, G))).toBe('a draft');

    session.userId = ANA;
    await nextTick();
    await flush();
    session.notice = null;
    session.userId = null;
    await nextTick();
    await flush();
    expect(store.records.has(ANA)).toBe(false);
    expect(localStorage.getItem(draftKey(ANA, G))).toBeNull();
  });

  it('sends at once when the connection is back, instead of waiting out the pause', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const store = new MemoryOutboxStore();
      const { gw, chats } = setup(store);
      await vi.advanceTimersByTimeAsync(0);
      chats.send(G, 'hello');
      await vi.advanceTimersByTimeAsync(0);
      // The SDK tries 4 times, 300 ms apart; then the outbox waits (500 ms) before its next go.
      for (let i = 0; i < 4; i++) {
        gw.posts[i]?.answer({ ok: false, error: { code: 'unavailable', message: 'lost' } });
        await vi.advanceTimersByTimeAsync(i < 3 ? 300 : 100);
      }
      expect(gw.posts).toHaveLength(4);
      gw.emit('state', 'connected');
      await vi.advanceTimersByTimeAsync(0);
      expect(gw.posts).toHaveLength(5);
      expect(new Set(gw.posts.map((p) => p.params.txn)).size).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
