import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { AuthClient, decodeTimelineItem, err, MUTED_FOREVER, ok, Permissions, type CborMap, type CborValue, type Gateway, type GroupId, type Result, type UserId } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useChatsStore } from '@/stores/chats';
import { useSessionStore } from '@/stores/session';

const G = '!abcdef123:node.test' as GroupId;
const D = '!dmdmdm1:node.test' as GroupId;
const ANA = '@ana:node.test' as UserId;
const BO = '@bob:node.test' as UserId;
const CY = '@cyd:node.test' as UserId;
const EID = '$' + 'A'.repeat(43);

type Reply = Result<CborValue, { code: string; message: string }>;

/** A gateway stand-in: records requests, answers from per-method handlers, emits pushes. */
class FakeGateway {
  state = 'connected';
  readonly sent: { method: string; params: CborMap }[] = [];
  readonly answers: Record<string, (params: CborMap) => Reply | Promise<Reply>> = {};
  readonly handlers: Record<string, ((v: unknown) => void)[]> = {};

  request(method: string, params: CborMap = {}): Promise<Reply> {
    this.sent.push({ method, params });
    const a = this.answers[method];
    return Promise.resolve(a ? a(params) : ok({}));
  }

  on(event: string, handler: (v: unknown) => void): () => void {
    (this.handlers[event] ??= []).push(handler);
    return () => {};
  }

  emit(event: string, v: unknown): void {
    for (const h of this.handlers[event] ?? []) h(v);
  }

  push(event: string, data: CborValue): void {
    this.emit('push', { t: 'push', event, data, cursor: 'c' });
  }

  start(): void {}
  stop(): void {}
  methods(): string[] {
    return this.sent.map((s) => s.method);
  }
}

function item(seq: number, kind: string, body: CborMap, sender: string = ANA, extra: CborMap = {}): CborMap {
  return { seq, id: EID, ts: 1_700_000_000_000 + seq * 1000, sender, kind, body, ...extra };
}

function summary(group: GroupId, extra: CborMap = {}): CborMap {
  return {
    group,
    kind: 'group',
    name: 'Rust',
    description: '',
    visibility: 'private',
    owner: ANA,
    members: 3,
    last_seq: 4,
    last: item(4, 'msg.post', { text: 'four' }),
    read_seq: 4,
    unread: 0,
    my_rank: 0xffffffff,
    my_permissions: Permissions.EVERYONE_DEFAULT,
    pinned: [],
    ...extra,
  };
}

const dmSummary = summary(D, { kind: 'direct', name: '', peer: ANA, members: 2, peer_read_seq: 2, last_seq: 3, last: item(3, 'msg.post', { text: 'dm' }, BO), read_seq: 3 });

let gw: FakeGateway;

async function setup(): Promise<ReturnType<typeof useChatsStore>> {
  gw = new FakeGateway();
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  setActivePinia(createPinia());
  const session = useSessionStore();
  session.userId = BO;
  gw.answers['chats.list'] = () => ok({ chats: [summary(G), dmSummary] });
  gw.answers['invites.list'] = () => ok({ invites: [] });
  gw.answers['msgs.history'] = () =>
    ok({ items: [item(1, 'group.create', { kind: 'group', name: 'Rust', description: '', visibility: 'private' }), item(2, 'msg.post', { text: 'two' }), item(3, 'msg.post', { text: 'three' }, BO), item(4, 'msg.post', { text: 'four' })], more_before: false, more_after: false });
  gw.answers['chats.get'] = () =>
    ok({
      chat: summary(G, { my_permissions: Permissions.ALL }),
      members: [
        { user: ANA, display_name: 'Ana', roles: [], rank: 0, joined_at: 1, read_seq: 4 },
        { user: BO, display_name: 'Bo', roles: [], rank: 0xffffffff, joined_at: 1, read_seq: 4 },
        { user: CY, display_name: 'Cy', roles: [], rank: 0xffffffff, joined_at: 1, read_seq: 2 },
      ],
      roles: [],
      invited: [],
    });
  const chats = useChatsStore();
  await chats.ensureLoaded();
  return chats;
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('chats store', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => provideSdk(null));

  it('lists chats by activity and opens a timeline', async () => {
    const chats = await setup();
    expect(chats.list.map((e) => e.summary.group)).toEqual([G, D]);
    await chats.open(G);
    expect(chats.entry(G)?.items.map((i) => i.seq)).toEqual([1, 2, 3, 4]);
    expect(gw.methods()).toContain('chats.get');
  });

  it('loads the next page of members after the detail\'s members_next', async () => {
    const chats = await setup();
    const first = gw.answers['chats.get'];
    gw.answers['chats.get'] = async (p) => {
      const r = await first?.(p);
      return r?.ok ? ok({ ...(r.value as CborMap), members: [{ user: ANA, display_name: 'Ana', roles: [], rank: 0, joined_at: 1, read_seq: 4 }], members_next: 'after-ana' }) : ok({});
    };
    gw.answers['members.list'] = () => ok({ members: [{ user: CY, display_name: 'Cy', roles: [], rank: 0xffffffff, joined_at: 2, read_seq: 2 }] });
    await chats.refreshDetail(G);
    expect(chats.detail(G)?.membersNext).toBe('after-ana');
    expect(await chats.loadMoreMembers(G)).toBe(true);
    expect(gw.sent.at(-1)).toEqual({ method: 'members.list', params: { group: G, after: 'after-ana' } });
    expect(chats.detail(G)?.members.map((m) => m.user)).toEqual([ANA, CY]);
    expect(chats.detail(G)?.membersNext).toBeUndefined();
    expect(await chats.loadMoreMembers(G)).toBe(false);
  });

  it('appends msg.post, counts unread and re-sorts', async () => {
    const chats = await setup();
    await chats.open(D);
    gw.push('chat.event', { group: D, item: item(5, 'msg.post', { text: 'yo' }, ANA) });
    const e = chats.entry(D)!;
    expect(e.items.at(-1)?.seq).toBe(5);
    expect(e.summary.unread).toBe(1);
    expect(e.summary.lastSeq).toBe(5);
    expect(chats.list[0]?.summary.group).toBe(D);
    // My own message does not count and moves my read position.
    gw.push('chat.event', { group: D, item: item(6, 'msg.post', { text: 'mine' }, BO) });
    expect(e.summary.unread).toBe(1);
    expect(e.summary.readSeq).toBe(6);
  });

  it('flags chats with an unread mention of me or @everyone until they are read', async () => {
    const chats = await setup();
    // G is not opened: only pushes and the last item are known.
    gw.push('chat.event', { group: G, item: item(5, 'msg.post', { text: 'hey @bob', mentions: [BO] }, ANA) });
    gw.push('chat.event', { group: G, item: item(6, 'msg.post', { text: 'later' }, ANA) });
    expect(chats.hasUnreadMention(G)).toBe(true);
    expect(chats.hasUnreadMention(D)).toBe(false);
    await chats.markRead(G, 6);
    expect(chats.hasUnreadMention(G)).toBe(false);
    // Mentions of others, or my own @everyone, do not count.
    gw.push('chat.event', { group: G, item: item(7, 'msg.post', { text: 'hey @cyd', mentions: [CY] }, ANA) });
    gw.push('chat.event', { group: G, item: item(8, 'msg.post', { text: '@everyone', mention_everyone: true }, BO) });
    expect(chats.hasUnreadMention(G)).toBe(false);
    gw.push('chat.event', { group: G, item: item(9, 'msg.post', { text: '@everyone', mention_everyone: true }, CY) });
    expect(chats.hasUnreadMention(G)).toBe(true);
    // Deleted before I read it: no longer flagged.
    gw.push('chat.event', { group: G, item: item(10, 'msg.delete', { seq: 9 }, CY) });
    expect(chats.hasUnreadMention(G)).toBe(false);
  });

  it('applies edit, delete, react and pin to the message they reference', async () => {
    const chats = await setup();
    await chats.open(G);
    gw.push('chat.event', { group: G, item: item(5, 'msg.edit', { seq: 4, text: 'FOUR' }) });
    let m = chats.entry(G)!.items.find((i) => i.seq === 4)!;
    expect(m.body).toMatchObject({ text: 'FOUR' });
    expect(m.editedAt).toBe(1_700_000_005_000);
    expect(chats.entry(G)!.summary.last?.body).toMatchObject({ text: 'FOUR' });
    expect(chats.entry(G)!.items).toHaveLength(4);

    gw.push('chat.event', { group: G, item: item(6, 'msg.react', { seq: 4, emoji: '👍', on: true }, BO) });
    gw.push('chat.event', { group: G, item: item(7, 'msg.react', { seq: 4, emoji: '👍', on: true }, CY) });
    m = chats.entry(G)!.items.find((i) => i.seq === 4)!;
    expect(m.reactions).toEqual([{ emoji: '👍', count: 2, users: [BO, CY] }]);
    gw.push('chat.event', { group: G, item: item(8, 'msg.react', { seq: 4, emoji: '👍', on: false }, BO) });
    m = chats.entry(G)!.items.find((i) => i.seq === 4)!;
    expect(m.reactions).toEqual([{ emoji: '👍', count: 1, users: [CY] }]);

    gw.push('chat.event', { group: G, item: item(9, 'msg.pin', { seq: 2, on: true }) });
    expect(chats.entry(G)!.items.find((i) => i.seq === 2)?.pinned).toBe(true);
    expect(chats.entry(G)!.summary.pinned).toEqual([2]);

    gw.push('chat.event', { group: G, item: item(10, 'msg.delete', { seq: 2 }) });
    m = chats.entry(G)!.items.find((i) => i.seq === 2)!;
    expect(m.deleted).toBe(true);
    expect(m.body).toMatchObject({ text: '' });
    expect(chats.entry(G)!.summary.lastSeq).toBe(10);
  });

  it('appends admin lines and refreshes the detail (permissions update live)', async () => {
    vi.useFakeTimers();
    const chats = await setup();
    await chats.open(G);
    await vi.runAllTimersAsync();
    gw.sent.length = 0;
    expect(chats.can(G, 'kick_members')).toBe(true); // the chats.get answer grants ALL
    gw.answers['chats.get'] = () => ok({ chat: summary(G, { my_permissions: Permissions.EVERYONE_DEFAULT }), members: [], roles: [], invited: [] });
    gw.push('chat.event', { group: G, item: item(5, 'member.roles', { user: BO, roles: [] }) });
    gw.push('chat.event', { group: G, item: item(6, 'member.ban', { user: CY, reason: 'spam' }) });
    expect(chats.entry(G)!.items.map((i) => i.kind).slice(-2)).toEqual(['member.roles', 'member.ban']);
    await vi.runAllTimersAsync();
    expect(gw.methods().filter((m) => m === 'chats.get')).toHaveLength(1);
    expect(chats.can(G, 'kick_members')).toBe(false);
    expect(chats.can(G, 'send_messages')).toBe(true);
    vi.useRealTimers();
  });

  it('marks the chat as left when an event removes me', async () => {
    const chats = await setup();
    await chats.open(G);
    gw.sent.length = 0;
    gw.push('chat.event', { group: G, item: item(5, 'member.kick', { user: BO, reason: '' }) });
    const e = chats.entry(G)!;
    expect(e.left).toBe('kicked');
    expect(chats.can(G, 'send_messages')).toBe(false);
    expect(chats.list.map((x) => x.summary.group)).toContain(G);
    await flush();
    expect(gw.methods()).not.toContain('chats.get');
    gw.push('chat.event', { group: D, item: item(7, 'group.delete', {}, ANA) });
    expect(chats.entry(D)!.left).toBe('deleted');
  });

  it('fetches a chat it did not know when an event arrives', async () => {
    const chats = await setup();
    const N = '!newnew1:node.test' as GroupId;
    gw.answers['chats.get'] = () => ok({ chat: summary(N), members: [], roles: [], invited: [] });
    gw.push('chat.event', { group: N, item: item(1, 'group.create', { kind: 'group', name: 'X', description: '', visibility: 'private' }, ANA) });
    await flush();
    expect(chats.entry(N)?.summary.group).toBe(N);
  });

  it('applies chat.read: my position, the DM peer (ticks) and seen-by counts', async () => {
    const chats = await setup();
    gw.answers['chats.get'] = () => ok({ chat: dmSummary, members: [{ user: ANA, display_name: 'Ana', roles: [], rank: 0, joined_at: 1, read_seq: 2 }], roles: [], invited: [] });
    await chats.open(D);
    gw.push('chat.event', { group: D, item: item(4, 'msg.post', { text: 'a' }, ANA) });
    gw.push('chat.event', { group: D, item: item(5, 'msg.post', { text: 'b' }, ANA) });
    expect(chats.entry(D)!.summary.unread).toBe(2);
    gw.push('chat.read', { group: D, user: BO, seq: 5 });
    expect(chats.entry(D)!.summary.unread).toBe(0);
    expect(chats.entry(D)!.summary.readSeq).toBe(5);
    gw.push('chat.read', { group: D, user: ANA, seq: 3 });
    expect(chats.entry(D)!.summary.peerReadSeq).toBe(3);
    gw.push('chat.read', { group: D, user: ANA, seq: 1 });
    expect(chats.entry(D)!.summary.peerReadSeq).toBe(3);
    expect(chats.entry(D)!.reads[ANA]).toBe(3);
  });

  it('marks read only forward and sends msgs.read', async () => {
    const chats = await setup();
    await chats.open(D);
    gw.push('chat.event', { group: D, item: item(4, 'msg.post', { text: 'a' }, ANA) });
    gw.sent.length = 0;
    await chats.markRead(D, 4);
    await chats.markRead(D, 3);
    expect(gw.sent).toEqual([{ method: 'msgs.read', params: { group: D, seq: 4 } }]);
    expect(chats.entry(D)!.summary.unread).toBe(0);
  });

  it('shows typing for 6 s unless repeated, and not my own', async () => {
    vi.useFakeTimers();
    const chats = await setup();
    gw.push('chat.typing', { group: G, user: ANA });
    gw.push('chat.typing', { group: G, user: BO });
    expect(chats.typingUsers(G)).toEqual([ANA]);
    vi.advanceTimersByTime(4000);
    gw.push('chat.typing', { group: G, user: ANA });
    vi.advanceTimersByTime(4000);
    expect(chats.typingUsers(G)).toEqual([ANA]);
    vi.advanceTimersByTime(2100);
    expect(chats.typingUsers(G)).toEqual([]);
    expect(chats.entry(G)!.typing).toEqual({});
    vi.useRealTimers();
  });

  it('adds invites and resyncs on the gateway resync event', async () => {
    const chats = await setup();
    await chats.open(G);
    gw.push('invite', { group: '!inv1234:node.test', name: 'Secret', by: ANA, at: 5 });
    expect(chats.invites.map((i) => i.name)).toEqual(['Secret']);
    gw.sent.length = 0;
    gw.answers['chats.list'] = () => ok({ chats: [summary(G)] });
    gw.emit('resync', {});
    await flush();
    await flush();
    expect(gw.methods()).toEqual(expect.arrayContaining(['chats.list', 'invites.list', 'msgs.history', 'chats.get']));
    expect(chats.entry(D)?.left).toBe('removed');
  });

  it('does not append live posts to a window that does not reach the end', async () => {
    const chats = await setup();
    gw.answers['msgs.history'] = () => ok({ items: [item(2, 'msg.post', { text: 'two' })], more_before: true, more_after: true });
    await chats.jumpTo(G, 2);
    gw.push('chat.event', { group: G, item: item(9, 'msg.post', { text: 'nine' }) });
    expect(chats.entry(G)!.items.map((i) => i.seq)).toEqual([2]);
    expect(chats.entry(G)!.summary.lastSeq).toBe(9);
  });

  it('exposes a client whose methods work through the store (not a reactive proxy)', async () => {
    const chats = await setup();
    const r = await chats.client.listChats();
    expect(r.ok).toBe(true);
  });

  it('pages older and newer items into the window', async () => {
    const chats = await setup();
    gw.answers['msgs.history'] = (p) =>
      p.before === 10
        ? ok({ items: [item(8, 'msg.post', { text: '8' }), item(9, 'msg.post', { text: '9' })], more_before: false, more_after: true })
        : p.after === 11
          ? ok({ items: [item(12, 'msg.post', { text: '12' })], more_before: true, more_after: false })
          : ok({ items: [item(10, 'msg.post', { text: '10' }), item(11, 'msg.post', { text: '11' })], more_before: true, more_after: true });
    await chats.jumpTo(G, 10);
    expect(await chats.loadOlder(G)).toBe(true);
    expect(await chats.loadNewer(G)).toBe(true);
    const e = chats.entry(G)!;
    expect(e.items.map((i) => i.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(e.moreBefore).toBe(false);
    expect(e.moreAfter).toBe(false);
    expect(await chats.loadOlder(G)).toBe(false);
  });

  it('forgets everything when another user signs in', async () => {
    const chats = await setup();
    expect(chats.list.length).toBe(2);
    useSessionStore().userId = CY;
    await flush();
    expect(chats.list.length).toBe(0);
  });

  it('shows a message at once as sending, then once only, whether its push or its answer comes first', async () => {
    const chats = await setup();
    await chats.open(G);
    let answer: (r: Reply) => void = () => {};
    gw.answers['msgs.post'] = () => new Promise<Reply>((resolve) => (answer = resolve));
    const seqs = (): number[] => chats.entry(G)?.items.map((i) => i.seq) ?? [];

    // The push comes first: the event shows, the outbox entry hides; the answer then drops it.
    const first = chats.send(G, 'hello');
    expect(chats.pending(G).map((o) => [o.text, o.state])).toEqual([['hello', 'sending']]);
    await flush();
    const posts = (): CborMap[] => gw.sent.filter((x) => x.method === 'msgs.post').map((x) => x.params);
    expect(posts().map((p) => [p.text, p.txn])).toEqual([['hello', first.txn]]);
    gw.push('chat.event', { group: G, item: item(5, 'msg.post', { text: 'hello' }, BO) });
    expect(seqs()).toEqual([1, 2, 3, 4, 5]);
    expect(chats.pending(G)).toEqual([]);
    answer(ok({ group: G, seq: 5, id: EID }));
    await flush();
    expect(chats.pending(G)).toEqual([]);

    // The answer comes first: shown as sent until the push replaces it.
    chats.send(G, 'again');
    await flush();
    answer(ok({ group: G, seq: 6, id: EID }));
    await flush();
    expect(chats.pending(G).map((o) => [o.text, o.state, o.seq])).toEqual([['again', 'sent', 6]]);
    gw.push('chat.event', { group: G, item: item(6, 'msg.post', { text: 'again' }, BO) });
    expect(chats.pending(G)).toEqual([]);
    expect(seqs()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(chats.entry(G)?.items.filter((i) => i.body.kind === 'msg.post' && i.body.text === 'again')).toHaveLength(1);
  });

  it('shows a refused message as failed; Retry sends it with the same txn, Delete drops it', async () => {
    const chats = await setup();
    await chats.open(G);
    const replies: Reply[] = [err({ code: 'forbidden', message: 'You cannot send messages here.' }), ok({ group: G, seq: 5, id: EID })];
    gw.answers['msgs.post'] = () => replies.shift() ?? err({ code: 'forbidden', message: 'no' });
    const sent = chats.send(G, 'hello', { replyTo: 4 });
    await flush();
    expect(chats.pending(G).map((o) => [o.state, o.error?.code])).toEqual([['failed', 'forbidden']]);
    expect(chats.retrySend(sent.txn)).toBe(true);
    await flush();
    const posts = gw.sent.filter((x) => x.method === 'msgs.post').map((x) => x.params);
    expect(posts.map((p) => [p.txn, p.reply_to])).toEqual([
      [sent.txn, 4],
      [sent.txn, 4],
    ]);
    expect(chats.pending(G).map((o) => [o.state, o.seq])).toEqual([['sent', 5]]);

    const doomed = chats.send(G, 'refused');
    await flush();
    expect(chats.pending(G).at(-1)?.state).toBe('failed');
    expect(chats.discardSend(doomed.txn)).toBe(true);
    expect(chats.pending(G).map((o) => o.txn)).toEqual([sent.txn]);
  });

  it('opens a chat with unread messages at the page around the first of them', async () => {
    const chats = await setup();
    gw.answers['chats.list'] = () => ok({ chats: [summary(G, { read_seq: 2, unread: 2 })] });
    await chats.loadList();
    gw.sent.length = 0;
    await chats.open(G);
    const history = gw.sent.filter((s) => s.method === 'msgs.history').map((s) => s.params);
    expect(history).toEqual([{ group: G, around: 3, limit: 50 }]);
    expect(chats.entry(G)?.loaded).toBe(true);
  });

  it('toggles my reaction', async () => {
    const chats = await setup();
    const it1 = decodeTimelineItem(item(4, 'msg.post', { text: 'x' }, ANA, { reactions: [{ emoji: '🎉', count: 1, users: [BO] }] }));
    await chats.toggleReaction(G, it1, '🎉');
    await chats.toggleReaction(G, it1, '👍');
    expect(gw.sent.slice(-2).map((s) => [s.params.emoji, s.params.on])).toEqual([
      ['🎉', false],
      ['👍', true],
    ]);
  });
});

describe('chat settings (mute, pin)', () => {
  afterEach(() => provideSdk(null));

  it('reads mute and pin from the list, puts pinned chats first and leaves expired mutes out', async () => {
    const chats = await setup();
    expect(chats.isMuted(G)).toBe(false);
    gw.answers['chats.list'] = () => ok({ chats: [summary(G, { muted_until: Date.now() + 60_000 }), { ...dmSummary, pinned_at: 5 }] });
    await chats.loadList();
    expect(chats.isMuted(G)).toBe(true);
    expect(chats.isMuted(G, Date.now() + 120_000)).toBe(false);
    expect(chats.isPinned(D)).toBe(true);
    expect(chats.list.map((e) => e.summary.group)).toEqual([D, G]);
  });

  it('sends chats.settings and applies the answer and the push of another device', async () => {
    const chats = await setup();
    gw.answers['chats.settings'] = (p) => ok({ group: p.group as string, muted_until: MUTED_FOREVER });
    const r = await chats.setChatSettings(G, { mutedUntil: MUTED_FOREVER });
    expect(r.ok).toBe(true);
    expect(gw.sent.at(-1)).toEqual({ method: 'chats.settings', params: { group: G, muted_until: MUTED_FOREVER } });
    expect(chats.isMuted(G)).toBe(true);
    // Another device unmutes and pins it: the push carries the whole settings.
    gw.push('chat.settings', { group: G, pinned_at: 42 });
    await flush();
    expect(chats.isMuted(G)).toBe(false);
    expect(chats.isPinned(G)).toBe(true);
    expect(chats.list[0]?.summary.group).toBe(G);
  });

  it('sends msgs.forward with the source message', async () => {
    const chats = await setup();
    gw.answers['msgs.forward'] = () => ok({ group: D, seq: 9, id: EID });
    const r = await chats.client.forward(D, G, 2, 'tx-1');
    expect(r.ok).toBe(true);
    expect(gw.sent.at(-1)).toEqual({ method: 'msgs.forward', params: { txn: 'tx-1', group: D, from: { group: G, seq: 2 } } });
  });

  it('decodes forwarded on a message', () => {
    const it = decodeTimelineItem(item(5, 'msg.post', { text: 'fw', forwarded: { user: CY, ts: 7 } }));
    expect(it.body.kind === 'msg.post' ? it.body.forwarded : null).toEqual({ user: CY, ts: 7 });
  });
});
