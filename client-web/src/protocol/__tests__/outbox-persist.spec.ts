import { describe, expect, it } from 'vitest';

import type { ChatError, PostOptions, WriteResult } from '../chat';
import type { GroupId } from '../ids';
import { Outbox, type Outgoing } from '../outbox';
import { keptEntries, MemoryOutboxStore, OutboxPersistence, RESEND_WITHIN_MS, reviveEntries } from '../outbox-persist';
import { err, ok, type Result } from '../result';

const G = '!abcdef123:node.test' as GroupId;
const H = '!ghijkl456:node.test' as GroupId;
const ALICE = '@alice:node.test';
const BOB = '@bob:node.test';
const EID = '$' + 'A'.repeat(43);
const NOW = 1_700_000_000_000;

type Reply = Result<WriteResult, ChatError>;
type Call = { group: GroupId; text: string; options: PostOptions; txn: string; answer: (r: Reply) => void };

/** A `post` the test answers call by call. */
function fakePost() {
  const calls: Call[] = [];
  const post = (group: GroupId, text: string, options: PostOptions, txn: string): Promise<Reply> =>
    new Promise((resolve) => calls.push({ group, text, options, txn, answer: resolve }));
  const commit = (i: number, seq: number): void => calls[i]?.answer(ok({ group: G, seq, id: EID as WriteResult['id'] }));
  const refuse = (i: number, code: string): void => calls[i]?.answer(err({ code, message: `refused: ${code}` }));
  return { calls, post, commit, refuse };
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function entry(fields: Partial<Outgoing> & Pick<Outgoing, 'txn'>): Outgoing {
  return { group: G, text: 'hi', options: {}, queuedAt: NOW - 1_000, state: 'queued', attempts: 0, ...fields };
}

function outboxWith(post: ReturnType<typeof fakePost>, txns: string[] = ['new-1', 'new-2']) {
  return new Outbox({ post: post.post, newTxn: () => txns.shift() ?? 'new-x', now: () => NOW, sleep: () => new Promise(() => {}) });
}

describe('Outbox.restore', () => {
  it('puts kept messages back with their txns and sends them in the order written', async () => {
    const post = fakePost();
    const outbox = outboxWith(post);
    outbox.restore([entry({ txn: 'b', text: 'second', queuedAt: NOW - 500 }), entry({ txn: 'a', text: 'first', queuedAt: NOW - 900, state: 'sending', attempts: 1 })]);
    expect(outbox.list(G).map((e) => [e.txn, e.state])).toEqual([
      ['a', 'sending'],
      ['b', 'queued'],
    ]);
    await flush();
    expect(post.calls.map((c) => [c.txn, c.text])).toEqual([['a', 'first']]);
    post.commit(0, 7);
    await flush();
    expect(post.calls.map((c) => c.txn)).toEqual(['a', 'b']);
    expect(outbox.list(G)[0]).toMatchObject({ txn: 'a', state: 'sent', seq: 7, attempts: 2 });
  });

  it('keeps a restored failed message failed (it holds back the rest until retried or deleted)', async () => {
    const post = fakePost();
    const outbox = outboxWith(post);
    outbox.restore([entry({ txn: 'a', state: 'failed', attempts: 1, error: { code: 'forbidden', message: 'no' } }), entry({ txn: 'b' })]);
    await flush();
    expect(post.calls).toEqual([]);
    expect(outbox.discard('a')).toBe(true);
    await flush();
    expect(post.calls.map((c) => c.txn)).toEqual(['b']);
  });

  it('never puts a kept message before one already on its way, nor twice', async () => {
    const post = fakePost();
    const outbox = outboxWith(post);
    outbox.enqueue(G, 'typed now');
    await flush();
    outbox.restore([entry({ txn: 'old', text: 'kept', queuedAt: NOW - 10_000 })]);
    outbox.restore([entry({ txn: 'old', text: 'kept', queuedAt: NOW - 10_000 })]);
    expect(outbox.list(G).map((e) => e.txn)).toEqual(['new-1', 'old']);
    post.commit(0, 3);
    await flush();
    expect(post.calls.map((c) => c.txn)).toEqual(['new-1', 'old']);
  });

  it('puts a kept message before newer ones still waiting their turn', () => {
    const post = fakePost();
    const outbox = outboxWith(post);
    outbox.enqueue(G, 'one');
    outbox.enqueue(G, 'two');
    outbox.restore([entry({ txn: 'old', queuedAt: NOW - 10_000 })]);
    expect(outbox.list(G).map((e) => e.txn)).toEqual(['new-1', 'old', 'new-2']);
  });

  it('does not put back acknowledged messages', () => {
    const outbox = outboxWith(fakePost());
    outbox.restore([entry({ txn: 'a', state: 'sent', seq: 4, attempts: 1 })]);
    expect(outbox.list(G)).toEqual([]);
  });
});

describe('Outbox.wake', () => {
  it('cuts short the pause after a lost connection: the same txn goes again at once', async () => {
    const post = fakePost();
    // A pause that would never end by itself.
    const outbox = new Outbox({ post: post.post, newTxn: () => 't1', sleep: () => new Promise(() => {}) });
    outbox.enqueue(G, 'hello');
    await flush();
    post.refuse(0, 'unavailable');
    await flush();
    expect(post.calls).toHaveLength(1);
    expect(outbox.list(G)[0]?.waitingOn?.code).toBe('unavailable');
    outbox.wake();
    await flush();
    expect(post.calls.map((c) => c.txn)).toEqual(['t1', 't1']);
  });

  it('stops resending by itself once the message is older than the node remembers txns for', async () => {
    const post = fakePost();
    let now = NOW;
    const outbox = new Outbox({ post: post.post, newTxn: () => 't1', now: () => now, sleep: () => new Promise(() => {}) });
    outbox.enqueue(G, 'hello');
    await flush();
    post.refuse(0, 'unavailable');
    await flush();
    // The laptop sleeps for longer than the window; the connection comes back.
    now += RESEND_WITHIN_MS + 1;
    outbox.wake();
    await flush();
    expect(post.calls).toHaveLength(1);
    expect(outbox.list(G)[0]).toMatchObject({ txn: 't1', state: 'failed', attempts: 1, error: { code: 'timeout' } });
    expect(outbox.list(G)[0]?.error?.message).toMatch(/may have been sent/);
    expect(outbox.list(G)[0]?.waitingOn).toBeUndefined();

    // The user retries: it goes again (same txn), and a lost answer is again retried, from the retry on.
    expect(outbox.retry('t1')).toBe(true);
    await flush();
    expect(post.calls.map((c) => c.txn)).toEqual(['t1', 't1']);
    post.refuse(1, 'timeout');
    await flush();
    outbox.wake();
    await flush();
    expect(post.calls.map((c) => c.txn)).toEqual(['t1', 't1', 't1']);
    post.commit(2, 9);
    await flush();
    expect(outbox.list(G)[0]).toMatchObject({ state: 'sent', seq: 9 });
  });

  it('does not cut short a rate_limited pause', async () => {
    const post = fakePost();
    const outbox = new Outbox({ post: post.post, newTxn: () => 't1', sleep: () => new Promise(() => {}) });
    outbox.enqueue(G, 'hello');
    await flush();
    post.refuse(0, 'rate_limited');
    await flush();
    outbox.wake();
    await flush();
    expect(post.calls).toHaveLength(1);
  });
});

describe('keptEntries / reviveEntries', () => {
  it('keeps what still has to go, as plain data, and leaves acknowledged ones out', () => {
    const waveform = new Uint8Array([1, 2, 3]);
    const queue = [
      entry({ txn: 'a', state: 'sent', seq: 3, attempts: 1 }),
      entry({ txn: 'b', state: 'sending', attempts: 2, waitingOn: { code: 'timeout', message: 'x' }, options: { replyTo: 3, attachments: [{ media: 'n/ab', voice: true, waveform, durationMs: 1200 }] } }),
      entry({ txn: 'c', state: 'failed', attempts: 1, error: { code: 'forbidden', message: 'You cannot.' } }),
    ];
    const kept = keptEntries(queue);
    expect(kept.map((e) => e.txn)).toEqual(['b', 'c']);
    expect(kept[0]).not.toHaveProperty('waitingOn');
    expect(kept[0]?.options).toEqual({ replyTo: 3, attachments: [{ media: 'n/ab', voice: true, waveform, durationMs: 1200 }] });
    expect(kept[1]?.error).toEqual({ code: 'forbidden', message: 'You cannot.' });
  });

  it('queues again what was on its way at the reload', () => {
    const [e] = reviveEntries([entry({ txn: 'a', state: 'sending', attempts: 1 })], NOW);
    expect(e).toMatchObject({ txn: 'a', state: 'queued', attempts: 1 });
  });

  it('fails, instead of resending, any message queued so long ago that the node may have forgotten its txn', () => {
    const old = NOW - RESEND_WITHIN_MS - 1;
    const recent = NOW - RESEND_WITHIN_MS + 60_000;
    const out = reviveEntries(
      [
        entry({ txn: 'sent-once', attempts: 1, queuedAt: old - 2 }),
        // Saved before its first attempt was: it may have left all the same.
        entry({ txn: 'recorded-unsent', attempts: 0, queuedAt: old - 1 }),
        entry({ txn: 'on-its-way', state: 'sending', attempts: 0, queuedAt: old }),
        entry({ txn: 'recent', attempts: 3, queuedAt: recent }),
      ],
      NOW,
    );
    expect(out.map((e) => [e.txn, e.state])).toEqual([
      ['sent-once', 'failed'],
      ['recorded-unsent', 'failed'],
      ['on-its-way', 'failed'],
      ['recent', 'queued'],
    ]);
    for (const e of out.slice(0, 3)) expect(e.error).toEqual({ code: 'timeout', message: expect.stringMatching(/may have been sent/) as unknown as string });
  });

  it('drops, one by one, entries that do not hold', () => {
    const good = entry({ txn: 'ok', options: { mentions: [BOB as never], mentionEveryone: true } });
    const bad: unknown[] = [
      null,
      'text',
      { ...good, txn: '' },
      { ...good, txn: 'x'.repeat(65) },
      { ...good, txn: 'g', group: 'not a group' },
      { ...good, txn: 't', text: 5 },
      { ...good, txn: 's', state: 'sent' },
      { ...good, txn: 'n', attempts: -1 },
      { ...good, txn: 'q', queuedAt: 'yesterday' },
      { ...good, txn: 'r', options: { replyTo: 1.5 } },
      { ...good, txn: 'm', options: { mentions: ['bob'] } },
      { ...good, txn: 'e', options: { mentionEveryone: 'yes' } },
      { ...good, txn: 'w', options: { attachments: [{ media: 'n/ab', waveform: [1, 2] }] } },
      { ...good, txn: 'a', options: { attachments: 'n/ab' } },
    ];
    const out = reviveEntries([...bad, good, { ...good }], NOW);
    expect(out).toEqual([good]);
  });

  it('gives a failed entry without a readable reason a generic one', () => {
    const [e] = reviveEntries([{ ...entry({ txn: 'f' }), state: 'failed', error: 42 }], NOW);
    expect(e).toMatchObject({ state: 'failed', error: { code: 'internal', message: 'It was refused.' } });
  });
});

describe('OutboxPersistence', () => {
  it('keeps a user’s unsent messages across a reload and sends them again with the same txns', async () => {
    const store = new MemoryOutboxStore();
    const before = fakePost();
    const first = outboxWith(before, ['t1', 't2']);
    const p1 = new OutboxPersistence(first, store, () => NOW);
    await p1.attach(ALICE);
    first.enqueue(G, 'one');
    first.enqueue(H, 'two');
    await flush();
    await p1.flushed();
    expect([...(store.records.get(ALICE)?.keys() ?? [])].sort()).toEqual(['t1', 't2']);

    // The page is reloaded: a new outbox, the same store.
    const after = fakePost();
    const second = outboxWith(after, []);
    const p2 = new OutboxPersistence(second, store, () => NOW);
    await p2.attach(ALICE);
    await flush();
    expect(after.calls.map((c) => [c.txn, c.text]).sort()).toEqual([
      ['t1', 'one'],
      ['t2', 'two'],
    ]);
    // Acknowledged: nothing is kept any more.
    after.commit(0, 5);
    after.commit(1, 6);
    await flush();
    await p2.flushed();
    expect(store.records.has(ALICE)).toBe(false);
  });

  it('keeps each user’s messages apart, and detaching before clearing keeps them', async () => {
    const store = new MemoryOutboxStore();
    const outbox = outboxWith(fakePost(), ['t1']);
    const p = new OutboxPersistence(outbox, store, () => NOW);
    await p.attach(ALICE);
    outbox.enqueue(G, 'from alice');
    await p.flushed();
    p.detach();
    outbox.clear();
    await p.attach(BOB);
    expect(outbox.list(G)).toEqual([]);
    await p.flushed();
    expect((await store.load(ALICE)).map((r) => r.txn)).toEqual(['t1']);
    expect(await store.load(BOB)).toEqual([]);
  });

  it('drops the records that could not be used', async () => {
    const store = new MemoryOutboxStore();
    store.records.set(ALICE, new Map<string, unknown>([['bad', { txn: 'bad', group: 'nonsense' }]]));
    const p = new OutboxPersistence(outboxWith(fakePost()), store, () => NOW);
    await p.attach(ALICE);
    await p.flushed();
    expect(store.records.has(ALICE)).toBe(false);
  });

  it('works without storage when the store refuses', async () => {
    const outbox = outboxWith(fakePost(), ['t1']);
    const broken = new MemoryOutboxStore();
    broken.load = () => Promise.reject(new Error('blocked'));
    broken.save = () => Promise.reject(new Error('quota'));
    const p = new OutboxPersistence(outbox, broken, () => NOW);
    await p.attach(ALICE);
    outbox.enqueue(G, 'still goes');
    await p.flushed();
    expect(outbox.list(G).map((e) => e.text)).toEqual(['still goes']);
  });
});

describe('OutboxPersistence.forget', () => {
  it('drops what is kept for the user, after the saves already started, and saves no more', async () => {
    const store = new MemoryOutboxStore();
    const outbox = outboxWith(fakePost(), ['t1', 't2']);
    const p = new OutboxPersistence(outbox, store, () => NOW);
    await p.attach(ALICE);
    outbox.enqueue(G, 'one');
    await p.forget(ALICE);
    outbox.enqueue(G, 'two');
    await p.flushed();
    expect(store.records.has(ALICE)).toBe(false);
  });
});

describe('OutboxPersistence with two tabs', () => {
  it('one tab saving its queue never drops what the other tab kept since', async () => {
    const store = new MemoryOutboxStore();
    const tabA = outboxWith(fakePost(), ['a1']);
    const tabB = outboxWith(fakePost(), ['b1']);
    const pA = new OutboxPersistence(tabA, store, () => NOW);
    const pB = new OutboxPersistence(tabB, store, () => NOW);
    await pA.attach(ALICE);
    await pB.attach(ALICE);
    tabA.enqueue(G, 'from tab A');
    await pA.flushed();
    tabB.enqueue(G, 'from tab B');
    await pB.flushed();
    expect([...(store.records.get(ALICE)?.keys() ?? [])].sort()).toEqual(['a1', 'b1']);
  });

  it('one tab never writes back a message the other tab deleted or sent', async () => {
    const store = new MemoryOutboxStore();
    const failed = entry({ txn: 'f1', state: 'failed', attempts: 1, error: { code: 'forbidden', message: 'no' } });
    const behind = entry({ txn: 'f2', queuedAt: NOW - 500 });
    await store.save(ALICE, [failed, behind], []);
    const postA = fakePost();
    const tabA = outboxWith(postA, ['a1']);
    const tabB = outboxWith(fakePost(), ['b1']);
    const pA = new OutboxPersistence(tabA, store, () => NOW);
    const pB = new OutboxPersistence(tabB, store, () => NOW);
    await pA.attach(ALICE);
    await pB.attach(ALICE);
    await flush();
    // Tab A deletes the failed message; the one behind it goes and is committed.
    expect(tabA.discard('f1')).toBe(true);
    await flush();
    postA.commit(0, 4);
    await flush();
    await pA.flushed();
    expect(store.records.has(ALICE)).toBe(false);
    // Tab B, which still shows both, sends a new message in that chat: only that one is written.
    tabB.enqueue(G, 'from tab B');
    await flush();
    await pB.flushed();
    expect([...(store.records.get(ALICE)?.keys() ?? [])]).toEqual(['b1']);
  });
});
