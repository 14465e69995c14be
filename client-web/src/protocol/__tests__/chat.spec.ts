import { describe, expect, it, vi } from 'vitest';

import { ChatClient, decodeChatSummary, decodeEventBody, decodeTimelineItem, Permissions, PERMISSION_FLAGS, removesUser, type ChatTransport } from '../chat';
import type { CborMap, CborValue } from '../codec';
import type { PushFrame } from '../frames';
import type { ConnectionState, Ready } from '../gateway';
import type { GroupId, UserId } from '../ids';
import { err, ok, type Result } from '../result';

const G = '!abcdef123:node.test' as GroupId;
const ANA = '@ana:node.test' as UserId;
const BO = '@bob:node.test' as UserId;
const EID = '$' + 'A'.repeat(43);

type Reply = Result<CborValue, { code: string; message: string }>;

class FakeTransport implements ChatTransport {
  state: ConnectionState = 'connected';
  readonly sent: { method: string; params: CborMap }[] = [];
  readonly replies: Reply[] = [];
  readonly handlers: Record<string, ((v: never) => void)[]> = {};

  request(method: string, params: CborMap = {}): Promise<Reply> {
    this.sent.push({ method, params });
    const r = this.replies.shift() ?? ok({});
    return Promise.resolve(r);
  }

  on(event: 'push' | 'resync' | 'ready', handler: ((f: PushFrame) => void) | ((r: Ready) => void)): () => void {
    (this.handlers[event] ??= []).push(handler as (v: never) => void);
    return () => {};
  }

  push(event: string, data: CborValue): void {
    for (const h of this.handlers.push ?? []) (h as (f: PushFrame) => void)({ t: 'push', event, data, cursor: 'c' });
  }
}

function item(seq: number, kind: string, body: CborMap, extra: CborMap = {}): CborMap {
  return { seq, id: EID, ts: 1_700_000_000_000 + seq, sender: ANA, kind, body, ...extra };
}

function summary(extra: CborMap = {}): CborMap {
  return {
    group: G,
    kind: 'group',
    name: 'Rust',
    description: 'crabs',
    visibility: 'public',
    handle: '#rust:node.test',
    owner: ANA,
    members: 2,
    last_seq: 5,
    last: item(5, 'msg.post', { text: 'hi' }),
    read_seq: 3,
    unread: 1,
    my_rank: 0,
    my_permissions: Permissions.ALL,
    pinned: [2],
    ...extra,
  };
}

describe('permissions', () => {
  it('has the bit values and names of permissions.rs', () => {
    expect(PERMISSION_FLAGS.send_messages).toBe(1);
    expect(PERMISSION_FLAGS.pin_messages).toBe(8);
    expect(PERMISSION_FLAGS.manage_messages).toBe(16);
    expect(PERMISSION_FLAGS.view_audit_log).toBe(8192);
    expect(Permissions.ALL).toBe(2 ** 14 - 1);
    expect(Permissions.EVERYONE_DEFAULT).toBe(1 | 2 | 4 | 32);
    expect(Permissions.DIRECT).toBe(1 | 2 | 4 | 8);
    expect(Permissions.NAMES[0]).toBe('send_messages');
    expect(Permissions.NAMES.at(-1)).toBe('view_audit_log');
  });

  it('tests, names and edits sets, keeping unknown high bits', () => {
    const set = Permissions.fromNames(['kick_members', 'ban_members']) + 2 ** 40;
    expect(Permissions.has(set, 'kick_members')).toBe(true);
    expect(Permissions.has(set, 'send_messages')).toBe(false);
    expect(Permissions.names(set)).toEqual(['kick_members', 'ban_members']);
    expect(Permissions.with(set, 'kick_members', false)).toBe(PERMISSION_FLAGS.ban_members + 2 ** 40);
    expect(Permissions.known(set)).toBe(PERMISSION_FLAGS.kick_members + PERMISSION_FLAGS.ban_members);
    expect(Permissions.byName('manage_roles')).toBe(512);
    expect(Permissions.byName('nope')).toBeUndefined();
  });
});

describe('decoding', () => {
  it('decodes a chat summary with snake_case keys', () => {
    const s = decodeChatSummary(summary({ peer_read_seq: null }));
    expect(s.group).toBe(G);
    expect(s.lastSeq).toBe(5);
    expect(s.last?.body).toEqual({ kind: 'msg.post', text: 'hi', mentions: [], mentionEveryone: false, attachments: [] });
    expect(s.myPermissions).toBe(Permissions.ALL);
    expect('peerReadSeq' in s).toBe(false);
  });

  it('refuses bad ids, negative or fractional numbers, wrong enums', () => {
    expect(() => decodeChatSummary(summary({ group: 'nope' }))).toThrow();
    expect(() => decodeChatSummary(summary({ unread: -1 }))).toThrow();
    expect(() => decodeChatSummary(summary({ unread: 1.5 }))).toThrow();
    expect(() => decodeChatSummary(summary({ kind: 'channel' }))).toThrow();
    expect(() => decodeChatSummary(summary({ owner: 'ana' }))).toThrow();
    expect(() => decodeTimelineItem(item(1, 'msg.post', { text: 'x' }, { id: 'bad' }))).toThrow();
  });

  it('decodes every known body and falls back to unknown', () => {
    expect(decodeEventBody('member.ban', { user: BO, reason: 'spam' })).toEqual({ kind: 'member.ban', user: BO, reason: 'spam' });
    expect(decodeEventBody('member.kick', { user: BO })).toEqual({ kind: 'member.kick', user: BO, reason: '' });
    expect(decodeEventBody('member.join', { via: 'link' })).toEqual({ kind: 'member.join', via: 'link' });
    expect(decodeEventBody('role.create', { role: 3, name: 'Mod', colour: '#ff0000', permissions: 128, rank: 1 })).toMatchObject({ role: 3, rank: 1 });
    expect(decodeEventBody('role.update', { role: 0, permissions: 1 })).toEqual({ kind: 'role.update', role: 0, permissions: 1 });
    expect(decodeEventBody('msg.react', { seq: 4, emoji: '👍', on: true })).toEqual({ kind: 'msg.react', seq: 4, emoji: '👍', on: true });
    expect(decodeEventBody('msg.post', { text: 'a', reply_to: 3 })).toMatchObject({ replyTo: 3 });
    expect(decodeEventBody('group.update', { name: 'New' })).toEqual({ kind: 'group.update', name: 'New' });
    expect(decodeEventBody('group.delete', {})).toEqual({ kind: 'group.delete' });
    expect(decodeEventBody('poll.vote', { x: 1 })).toEqual({ kind: 'unknown', raw: { x: 1 } });
    expect(decodeEventBody('member.ban', { user: 'bad' }).kind).toBe('unknown');
    expect(decodeEventBody('msg.edit', { seq: 'x', text: 'y' }).kind).toBe('unknown');
  });

  it('knows which events remove me', () => {
    const me = BO;
    const ban = decodeTimelineItem(item(6, 'member.ban', { user: BO, reason: '' }));
    const leave = decodeTimelineItem({ ...item(7, 'member.leave', {}), sender: BO });
    const otherLeave = decodeTimelineItem(item(7, 'member.leave', {}));
    expect(removesUser(ban, me)).toBe('banned');
    expect(removesUser(leave, me)).toBe('left');
    expect(removesUser(otherLeave, me)).toBeNull();
    expect(removesUser(decodeTimelineItem(item(8, 'group.delete', {})), me)).toBe('deleted');
  });
});

describe('ChatClient', () => {
  it('sends params with snake_case keys and a txn, and decodes the result', async () => {
    const t = new FakeTransport();
    const c = new ChatClient(t, { newTxn: () => 'txn-1' });
    t.replies.push(ok({ group: G, seq: 9, id: EID }));
    const r = await c.post(G, 'hello', { replyTo: 3 });
    expect(r).toEqual({ ok: true, value: { group: G, seq: 9, id: EID } });
    expect(t.sent[0]).toEqual({ method: 'msgs.post', params: { txn: 'txn-1', group: G, text: 'hello', reply_to: 3 } });
  });

  it('retries a write with the same txn after the connection drops', async () => {
    vi.useFakeTimers();
    try {
      const t = new FakeTransport();
      let n = 0;
      const c = new ChatClient(t, { newTxn: () => `txn-${++n}`, retryDelayMs: 10 });
      t.replies.push(err({ code: 'unavailable', message: 'The connection was lost.' }), err({ code: 'timeout', message: 'slow' }), ok({ group: G, seq: 2, id: EID }));
      const p = c.edit(G, 1, 'fixed');
      await vi.runAllTimersAsync();
      const r = await p;
      expect(r.ok).toBe(true);
      expect(t.sent.map((s) => s.params.txn)).toEqual(['txn-1', 'txn-1', 'txn-1']);
      expect(n).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not retry node errors, or when the gateway is stopped, or links.create', async () => {
    const t = new FakeTransport();
    const c = new ChatClient(t, { retryDelayMs: 0 });
    t.replies.push(err({ code: 'forbidden', message: 'missing permission kick_members' }));
    const r = await c.kick(G, BO, 'bye');
    expect(r).toEqual({ ok: false, error: { code: 'forbidden', message: 'missing permission kick_members' } });
    expect(t.sent).toHaveLength(1);

    t.state = 'offline';
    t.replies.push(err({ code: 'unavailable', message: 'Not connected.' }));
    await c.leave(G);
    expect(t.sent).toHaveLength(2);

    t.state = 'connected';
    t.replies.push(err({ code: 'unavailable', message: 'lost' }));
    const link = await c.createLink(G, { maxUses: 5 });
    expect(link.ok).toBe(false);
    expect(t.sent).toHaveLength(3);
    expect(t.sent[2]).toEqual({ method: 'links.create', params: { group: G, max_uses: 5 } });
  });

  it('turns a malformed reply into bad_response', async () => {
    const t = new FakeTransport();
    const c = new ChatClient(t);
    t.replies.push(ok({ chats: [summary({ my_permissions: 'all' })] }));
    const r = await c.listChats();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('bad_response');
    t.replies.push(ok([1, 2]));
    const h = await c.history(G);
    expect(h.ok).toBe(false);
  });

  it('decodes history, directory, detail, links, bans and seen-by', async () => {
    const t = new FakeTransport();
    const c = new ChatClient(t);
    t.replies.push(ok({ items: [item(4, 'msg.post', { text: 'b' }), item(3, 'member.join', { via: 'public' })], more_before: true, more_after: false }));
    const h = await c.history(G, { before: 5, limit: 2 });
    expect(h.ok && h.value.items.map((i) => i.seq)).toEqual([3, 4]);
    expect(t.sent.at(-1)?.params).toEqual({ group: G, before: 5, limit: 2 });

    t.replies.push(ok({ groups: [{ group: G, handle: '#rust:node.test', name: 'Rust', description: '', members: 3, joined: false }] }));
    const d = await c.directory('ru');
    expect(d.ok && d.value[0]?.handle).toBe('#rust:node.test');

    t.replies.push(
      ok({
        chat: summary(),
        members: [{ user: ANA, display_name: 'Ana', roles: [], rank: 0, joined_at: 1, read_seq: 5 }],
        roles: [{ id: 0, name: 'everyone', colour: '', permissions: 39, rank: 0xffffffff }],
        invited: [BO],
      }),
    );
    const detail = await c.getChat(G);
    expect(detail.ok && detail.value.members[0]?.displayName).toBe('Ana');
    expect(detail.ok && detail.value.roles[0]?.rank).toBe(0xffffffff);

    t.replies.push(ok({ links: [{ code: 'abc', group: G, created_by: ANA, created_at: 1, uses: 0, revoked: false }] }));
    const links = await c.listLinks(G);
    expect(links.ok && links.value[0]?.createdBy).toBe(ANA);

    t.replies.push(ok({ bans: [{ user: BO, by: ANA, by_rank: 2, reason: 'spam', at: 2 }] }));
    const bans = await c.listBans(G);
    expect(bans.ok && bans.value[0]?.reason).toBe('spam');
    expect(bans.ok && bans.value[0]?.byRank).toBe(2);

    t.replies.push(ok({ users: [BO] }));
    const seen = await c.seenBy(G, 4);
    expect(seen).toEqual({ ok: true, value: [BO] });

    t.replies.push(ok({ group: G, seq: 10, id: EID, role: 4 }));
    const role = await c.createRole(G, { name: 'Mod', permissions: 128 });
    expect(role.ok && role.value.role).toBe(4);
    expect(t.sent.at(-1)?.params).toMatchObject({ group: G, name: 'Mod', colour: '', permissions: 128 });
  });

  it('follows next through every page of a cut list (gateway.md §8.8)', async () => {
    const t = new FakeTransport();
    const c = new ChatClient(t);
    const G2 = '!bcdefg123:node.test' as GroupId;
    t.replies.push(ok({ chats: [summary()], next: 'cursor-1' }));
    t.replies.push(ok({ chats: [summary({ group: G2 })] }));
    const r = await c.listChats();
    expect(r.ok && r.value.map((s) => s.group)).toEqual([G, G2]);
    expect(t.sent.map((s) => s.params)).toEqual([{}, { after: 'cursor-1' }]);

    t.replies.push(ok({ users: [ANA], next: '1' }));
    t.replies.push(ok({ users: [BO] }));
    const seen = await c.seenBy(G, 4);
    expect(seen).toEqual({ ok: true, value: [ANA, BO] });
    expect(t.sent.at(-1)?.params).toEqual({ group: G, seq: 4, after: '1' });
  });

  it('reads members_next from chats.get and pages members.list', async () => {
    const t = new FakeTransport();
    const c = new ChatClient(t);
    const member = (user: UserId, name: string) => ({ user, display_name: name, roles: [], rank: 0, joined_at: 1, read_seq: 5 });
    t.replies.push(ok({ chat: summary(), members: [member(ANA, 'Ana')], roles: [], invited: [], members_next: 'm1', more_invited: true }));
    const detail = await c.getChat(G);
    expect(detail.ok && detail.value.membersNext).toBe('m1');
    expect(detail.ok && detail.value.moreInvited).toBe(true);
    t.replies.push(ok({ members: [member(BO, 'Bob')] }));
    const page = await c.listMembers(G, 'm1');
    expect(page.ok && page.value.items.map((m) => m.displayName)).toEqual(['Bob']);
    expect(page.ok && page.value.next).toBeUndefined();
    expect(t.sent.at(-1)).toEqual({ method: 'members.list', params: { group: G, after: 'm1' } });
  });

  it('emits typed pushes and drops malformed ones', () => {
    const t = new FakeTransport();
    const c = new ChatClient(t);
    const events: unknown[] = [];
    const bad: unknown[] = [];
    c.on('event', (e) => events.push(e));
    c.on('read', (e) => events.push(e));
    c.on('typing', (e) => events.push(e));
    c.on('invite', (e) => events.push(e));
    c.on('badPush', (e) => bad.push(e));
    t.push('chat.event', { group: G, item: item(6, 'msg.edit', { seq: 5, text: 'x' }) });
    t.push('chat.read', { group: G, user: BO, seq: 6 });
    t.push('chat.typing', { group: G, user: BO });
    t.push('invite', { group: G, name: 'Rust', by: ANA, at: 5 });
    t.push('chat.read', { group: G, user: BO });
    t.push('presence', { user: BO, status: 'online' });
    expect(events).toHaveLength(4);
    expect(bad).toHaveLength(1);
  });
});
