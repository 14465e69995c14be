import { describe, expect, it } from 'vitest';

import { decodeTimelineItem, type ChatError, type PostOptions, type WriteResult } from '../chat';
import type { GroupId } from '../ids';
import { Outbox } from '../outbox';
import { err, ok, type Result } from '../result';

const G = '!abcdef123:node.test' as GroupId;
const H = '!ghijkl456:node.test' as GroupId;
const EID = '$' + 'A'.repeat(43);

type Reply = Result<WriteResult, ChatError>;

/** A `post` whose answers the test gives, one call at a time. */
class FakePost {
  readonly calls: { group: GroupId; text: string; options: PostOptions; txn: string; answer: (r: Reply) => void }[] = [];
  /** Calls not answered yet. */
  open = 0;
  maxOpen = 0;

  readonly post = (group: GroupId, text: string, options: PostOptions, txn: string): Promise<Reply> =>
    new Promise((resolve) => {
      this.open += 1;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      this.calls.push({
        group,
        text,
        options,
        txn,
        answer: (r) => {
          this.open -= 1;
          resolve(r);
        },
      });
    });

  /** Answers call `i` with a commit at `seq`. */
  commit(i: number, seq: number): void {
    const c = this.calls[i];
    if (!c) throw new Error(`no call ${i}`);
    c.answer(ok({ group: c.group, seq, id: EID as WriteResult['id'] }));
  }

  refuse(i: number, code: string): void {
    const c = this.calls[i];
    if (!c) throw new Error(`no call ${i}`);
    c.answer(err({ code, message: `refused: ${code}` }));
  }
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function setup(options: { committed?: (group: GroupId, seq: number) => boolean } = {}) {
  const fake = new FakePost();
  const sleeps: number[] = [];
  let n = 0;
  const outbox = new Outbox({
    post: fake.post,
    newTxn: () => `txn-${++n}`,
    now: () => 1_000,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  return { fake, sleeps, outbox };
}

describe('outbox', () => {
  it('sends a chat’s messages one at a time, in the order written, each with the txn it got when queued', async () => {
    const { fake, outbox } = setup();
    const a = outbox.enqueue(G, 'one');
    const b = outbox.enqueue(G, 'two', { replyTo: 3 });
    const c = outbox.enqueue(G, 'three');
    expect([a.txn, b.txn, c.txn]).toEqual(['txn-1', 'txn-2', 'txn-3']);
    expect(outbox.list(G).map((o) => o.state)).toEqual(['sending', 'queued', 'queued']);
    await flush();
    expect(fake.calls.map((x) => x.text)).toEqual(['one']);
    fake.commit(0, 10);
    await flush();
    fake.commit(1, 11);
    await flush();
    fake.commit(2, 12);
    await flush();
    expect(fake.calls.map((x) => [x.text, x.txn])).toEqual([
      ['one', 'txn-1'],
      ['two', 'txn-2'],
      ['three', 'txn-3'],
    ]);
    expect(fake.calls[1]?.options).toEqual({ replyTo: 3 });
    expect(fake.maxOpen).toBe(1);
    expect(outbox.list(G).map((o) => [o.state, o.seq])).toEqual([
      ['sent', 10],
      ['sent', 11],
      ['sent', 12],
    ]);
  });

  it('sends the queues of different chats independently', async () => {
    const { fake, outbox } = setup();
    outbox.enqueue(G, 'in g');
    outbox.enqueue(H, 'in h');
    await flush();
    expect(fake.calls.map((x) => x.group)).toEqual([G, H]);
  });

  it('waits out rate_limited with growing pauses and sends the same txn again', async () => {
    const { fake, sleeps, outbox } = setup();
    outbox.enqueue(G, 'hello');
    outbox.enqueue(G, 'after');
    await flush();
    fake.refuse(0, 'rate_limited');
    await flush();
    fake.refuse(1, 'rate_limited');
    await flush();
    fake.commit(2, 5);
    await flush();
    expect(sleeps).toEqual([500, 1_000]);
    expect(fake.calls.map((x) => x.txn)).toEqual(['txn-1', 'txn-1', 'txn-1', 'txn-2']);
    expect(outbox.list(G)[0]).toMatchObject({ state: 'sent', seq: 5, attempts: 3 });
  });

  it('fails a message that stays rate_limited after every pause', async () => {
    const { fake, sleeps, outbox } = setup();
    outbox.enqueue(G, 'hello');
    for (let i = 0; i < 6; i++) {
      await flush();
      fake.refuse(i, 'rate_limited');
    }
    await flush();
    expect(sleeps).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
    expect(outbox.list(G)[0]).toMatchObject({ state: 'failed', error: { code: 'rate_limited' } });
  });

  it('resends with the same txn after a lost connection, while reconnecting', async () => {
    const { fake, outbox } = setup();
    outbox.enqueue(G, 'hello');
    await flush();
    fake.refuse(0, 'unavailable');
    await flush();
    // While it is tried again, the entry says what it waits out.
    expect(outbox.list(G)[0]).toMatchObject({ state: 'sending', waitingOn: { code: 'unavailable' } });
    fake.refuse(1, 'timeout');
    await flush();
    expect(outbox.list(G)[0]?.waitingOn?.code).toBe('timeout');
    fake.commit(2, 9);
    await flush();
    expect(fake.calls.map((x) => x.txn)).toEqual(['txn-1', 'txn-1', 'txn-1']);
    expect(outbox.list(G)[0]?.state).toBe('sent');
    expect(outbox.list(G)[0]?.waitingOn).toBeUndefined();
  });

  it('fails a lost send once the connection was given up', async () => {
    const fake = new FakePost();
    const outbox = new Outbox({ post: fake.post, connecting: () => false, sleep: () => Promise.resolve() });
    outbox.enqueue(G, 'hello');
    await flush();
    fake.refuse(0, 'unavailable');
    await flush();
    expect(outbox.list(G)[0]?.state).toBe('failed');
  });

  it('marks a refused message failed, holds the later ones back, and retries it with the same txn', async () => {
    const { fake, outbox } = setup();
    const a = outbox.enqueue(G, 'one');
    outbox.enqueue(G, 'two');
    await flush();
    fake.refuse(0, 'forbidden');
    await flush();
    expect(outbox.list(G).map((o) => o.state)).toEqual(['failed', 'queued']);
    expect(outbox.list(G)[0]?.error).toEqual({ code: 'forbidden', message: 'refused: forbidden' });
    // Nothing else went out: "two" waits, so the order is kept.
    expect(fake.calls).toHaveLength(1);

    expect(outbox.retry(a.txn)).toBe(true);
    await flush();
    expect(fake.calls.map((x) => x.txn)).toEqual(['txn-1', 'txn-1']);
    fake.commit(1, 7);
    await flush();
    fake.commit(2, 8);
    await flush();
    expect(fake.calls.map((x) => [x.text, x.txn])).toEqual([
      ['one', 'txn-1'],
      ['one', 'txn-1'],
      ['two', 'txn-2'],
    ]);
    expect(outbox.list(G).map((o) => [o.state, o.seq])).toEqual([
      ['sent', 7],
      ['sent', 8],
    ]);
  });

  it('discards a failed message and goes on with the next; never one on its way', async () => {
    const { fake, outbox } = setup();
    const a = outbox.enqueue(G, 'one');
    const b = outbox.enqueue(G, 'two');
    await flush();
    expect(outbox.discard(a.txn)).toBe(false); // on its way
    fake.refuse(0, 'bad_request');
    await flush();
    expect(outbox.discard(a.txn)).toBe(true);
    await flush();
    expect(fake.calls.map((x) => x.text)).toEqual(['one', 'two']);
    expect(outbox.list(G).map((o) => o.txn)).toEqual([b.txn]);
  });

  it('drops an acknowledged message once its event is shown, whether the push or the answer comes first', async () => {
    const shown = new Set<number>();
    const { fake, outbox } = setup({ committed: (_g, seq) => shown.has(seq) });
    outbox.enqueue(G, 'answer first');
    await flush();
    fake.commit(0, 20);
    await flush();
    expect(outbox.list(G).map((o) => [o.state, o.seq])).toEqual([['sent', 20]]);
    // Its event arrives.
    shown.add(20);
    outbox.confirmUpTo(G, 20);
    expect(outbox.list(G)).toEqual([]);

    outbox.enqueue(G, 'push first');
    await flush();
    const echo = decodeTimelineItem({ seq: 21, id: EID, ts: 1, sender: '@ana:node.test', kind: 'msg.post', body: { text: 'push first' } });
    outbox.noteEcho(G, echo);
    expect(outbox.list(G)[0]).toMatchObject({ state: 'sending', echoSeq: 21 });
    shown.add(21);
    fake.commit(1, 21);
    await flush();
    expect(outbox.list(G)).toEqual([]);
  });

  it('takes no echo of another text, and forgets a wrong guess when the answer names another seq', async () => {
    const { fake, outbox } = setup();
    outbox.enqueue(G, 'mine');
    await flush();
    outbox.noteEcho(G, decodeTimelineItem({ seq: 30, id: EID, ts: 1, sender: '@ana:node.test', kind: 'msg.post', body: { text: 'other' } }));
    expect(outbox.list(G)[0]?.echoSeq).toBeUndefined();
    outbox.noteEcho(G, decodeTimelineItem({ seq: 31, id: EID, ts: 1, sender: '@ana:node.test', kind: 'msg.post', body: { text: 'mine' } }));
    expect(outbox.list(G)[0]?.echoSeq).toBe(31);
    fake.commit(0, 32);
    await flush();
    expect(outbox.list(G)[0]).toEqual(expect.objectContaining({ state: 'sent', seq: 32 }));
    expect(outbox.list(G)[0]?.echoSeq).toBeUndefined();
  });

  it('does not take the event of an answered message for the next one with the same text', async () => {
    const { fake, outbox } = setup();
    outbox.enqueue(G, 'ok');
    outbox.enqueue(G, 'ok');
    await flush();
    fake.commit(0, 40);
    await flush();
    outbox.noteEcho(G, decodeTimelineItem({ seq: 40, id: EID, ts: 1, sender: '@ana:node.test', kind: 'msg.post', body: { text: 'ok' } }));
    expect(outbox.list(G).map((o) => [o.state, o.seq, o.echoSeq])).toEqual([
      ['sent', 40, undefined],
      ['sending', undefined, undefined],
    ]);
  });

  it('reports changes and forgets everything on clear', async () => {
    const { fake, outbox } = setup();
    const changed: GroupId[] = [];
    outbox.onChange((g) => changed.push(g));
    outbox.enqueue(G, 'one');
    outbox.enqueue(G, 'two');
    await flush();
    outbox.clear();
    expect(outbox.list(G)).toEqual([]);
    expect(changed.at(-1)).toBe(G);
    fake.commit(0, 3);
    await flush();
    // The abandoned send does not come back, nor does the queue go on.
    expect(outbox.list(G)).toEqual([]);
    expect(fake.calls).toHaveLength(1);
  });
});
