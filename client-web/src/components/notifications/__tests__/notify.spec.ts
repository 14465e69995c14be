import { describe, expect, it } from 'vitest';

import type { TimelineItem } from '@/protocol';
import type { ChatEntry } from '@/stores/chats';

import { isMuted } from '../mute';
import { NOTIFY_MAX_AGE_MS, notificationFor, type NotifyContext } from '../notify';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const ME = '@me:x';

function post(text: string, opts: { sender?: string; ts?: number; mentions?: string[]; everyone?: boolean; attachments?: unknown[] } = {}): TimelineItem {
  return {
    seq: 7,
    sender: opts.sender ?? '@bo:x',
    ts: opts.ts ?? NOW - 1000,
    kind: 'msg.post',
    body: { kind: 'msg.post', text, attachments: opts.attachments ?? [], mentions: opts.mentions ?? [], mentionEveryone: opts.everyone ?? false },
    reactions: [],
    deleted: false,
    pinned: false,
  } as unknown as TimelineItem;
}

function chat(kind: 'group' | 'direct', extra: Record<string, unknown> = {}, left: ChatEntry['left'] = null): ChatEntry {
  return { summary: { group: '!g1234567:x', kind, name: 'Crabs', ...extra }, left, items: [], detail: null } as unknown as ChatEntry;
}

const ctx: NotifyContext = { me: ME, hidden: true, now: NOW, displayName: (u) => (u === '@bo:x' ? 'Bo' : u), chatTitle: (e) => (e.summary.kind === 'direct' ? 'Bo' : e.summary.name) };

describe('message notifications', () => {
  it("say who wrote what, in which chat, one per chat", () => {
    expect(notificationFor(post('Hello'), chat('group'), ctx)).toEqual({ title: 'Bo in Crabs', body: 'Hello', tag: '!g1234567:x', mention: false });
    expect(notificationFor(post('Hi'), chat('direct'), ctx)?.title).toBe('Bo');
    expect(notificationFor(post('', { attachments: [{ kind: 'image' }] }), chat('direct'), ctx)?.body).toBe('Photo');
  });

  it('say so for a mention', () => {
    expect(notificationFor(post('@me look', { mentions: [ME] }), chat('group'), ctx)).toMatchObject({ title: 'Bo mentioned you in Crabs', mention: true });
    expect(notificationFor(post('all of you', { everyone: true }), chat('group'), ctx)?.mention).toBe(true);
  });

  it('stay silent while the tab is visible, for my own messages, old replays, chats I left and muted chats', () => {
    expect(notificationFor(post('x'), chat('group'), { ...ctx, hidden: false })).toBeNull();
    expect(notificationFor(post('x', { sender: ME }), chat('group'), ctx)).toBeNull();
    expect(notificationFor(post('x', { ts: NOW - NOTIFY_MAX_AGE_MS - 1 }), chat('group'), ctx)).toBeNull();
    expect(notificationFor(post('x'), chat('group', {}, 'kicked'), ctx)).toBeNull();
    expect(notificationFor(post('x'), undefined, ctx)).toBeNull();
    expect(notificationFor(post('x'), chat('group', { mutedUntil: NOW + 60_000 }), ctx)).toBeNull();
  });
});

describe('isMuted', () => {
  it('reads the end time of my mute, else nothing is muted', () => {
    expect(isMuted(chat('group'), NOW)).toBe(false);
    expect(isMuted(chat('group', { mutedUntil: NOW + 1 }), NOW)).toBe(true);
    expect(isMuted(chat('group', { mutedUntil: NOW - 1 }), NOW)).toBe(false);
    expect(isMuted(undefined, NOW)).toBe(false);
  });
});
