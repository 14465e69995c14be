import { describe, expect, it } from 'vitest';

import { decodeTimelineItem, MAX_MENTIONS, type CborMap, type UserId } from '@/protocol';

import { activeMention, applyMention, localpart, mentionSegments, mentionsMe, mentionText, parseMentions, suggestMentions } from '../mentions';

const ANA = '@ana:node.test' as UserId;
const ANABEL = '@anabel:node.test' as UserId;
const BO = '@bob:node.test' as UserId;
const BO2 = '@bob:other.test' as UserId;
const EVERY = '@everyone:node.test' as UserId;
const LOCAL = '@e2e.x-1:127.0.0.1:7801' as UserId;

describe('localpart and mentionText', () => {
  it('inserts the user name, or the full id when it is ambiguous or "everyone"', () => {
    expect(localpart(ANA)).toBe('ana');
    expect(localpart(LOCAL)).toBe('e2e.x-1');
    expect(mentionText(ANA, [ANA, BO])).toBe('@ana');
    expect(mentionText(BO, [ANA, BO, BO2])).toBe(BO);
    expect(mentionText(EVERY, [EVERY])).toBe(EVERY);
  });
});

describe('activeMention', () => {
  it('finds the @word at the caret', () => {
    expect(activeMention('@', 1)).toEqual({ start: 0, end: 1, query: '' });
    expect(activeMention('hi @an', 6)).toEqual({ start: 3, end: 6, query: 'an' });
    // The caret inside the word: the whole word is replaced.
    expect(activeMention('hi @anabel!', 5)).toEqual({ start: 3, end: 10, query: 'a' });
    expect(activeMention('(@bo', 4)).toEqual({ start: 1, end: 4, query: 'bo' });
    expect(activeMention('@bob:node.te', 12)?.query).toBe('bob:node.te');
  });

  it('ignores e-mail addresses, finished words and text without @', () => {
    expect(activeMention('mail ana@node.test', 18)).toBeNull();
    expect(activeMention('@ana done', 9)).toBeNull();
    expect(activeMention('hello', 5)).toBeNull();
    expect(activeMention('@@a', 3)).toBeNull();
  });
});

describe('suggestMentions', () => {
  const members = [
    { user: ANA, displayName: 'Ana Lima' },
    { user: ANABEL, displayName: 'Belle' },
    { user: BO, displayName: 'Bo Stone' },
  ];

  it('filters by user name and by display name, prefix matches first, without me', () => {
    const names = (q: string, me: string | null = null) => suggestMentions(q, members, { everyone: false, me }).map((s) => (s.kind === 'user' ? s.user : '@everyone'));
    expect(names('')).toEqual([ANA, ANABEL, BO]);
    expect(names('ana')).toEqual([ANA, ANABEL]);
    expect(names('stone')).toEqual([BO]); // a later word of the display name
    expect(names('bel')).toEqual([ANABEL]); // display-name prefix before user-name infix
    expect(names('lim')).toEqual([ANA]);
    expect(names('', ANA)).toEqual([ANABEL, BO]);
    expect(names('zed')).toEqual([]);
  });

  it('offers @everyone only when allowed, and says what to insert', () => {
    expect(suggestMentions('ev', members, { everyone: false })).toEqual([]);
    expect(suggestMentions('ev', members, { everyone: true })).toEqual([{ kind: 'everyone', insert: '@everyone' }]);
    expect(suggestMentions('', members, { everyone: true })[0]).toEqual({ kind: 'everyone', insert: '@everyone' });
    expect(suggestMentions('bo', members, { everyone: true })[0]).toMatchObject({ kind: 'user', user: BO, insert: '@bob' });
    expect(suggestMentions('', members, { everyone: true, limit: 2 })).toHaveLength(2);
  });
});

describe('applyMention', () => {
  it('replaces the typed word and adds one space', () => {
    expect(applyMention('hi @an', { start: 3, end: 6 }, '@ana')).toEqual({ text: 'hi @ana ', caret: 8 });
    expect(applyMention('@b how are you', { start: 0, end: 2 }, '@bob')).toEqual({ text: '@bob how are you', caret: 5 });
    expect(applyMention('x @anab!', { start: 2, end: 7 }, '@anabel')).toEqual({ text: 'x @anabel !', caret: 10 });
  });
});

describe('parseMentions', () => {
  const members = [ANA, ANABEL, BO, LOCAL];

  it('lists the members still mentioned in the final text, once each', () => {
    expect(parseMentions('hi @ana and @bob, @ana again', members)).toEqual({ mentions: [ANA, BO], everyone: false });
    expect(parseMentions('@anabel: look', members)).toEqual({ mentions: [ANABEL], everyone: false });
    expect(parseMentions('thanks @e2e.x-1.', members)).toEqual({ mentions: [LOCAL], everyone: false });
    expect(parseMentions(`full ${LOCAL} id`, members)).toEqual({ mentions: [LOCAL], everyone: false });
    expect(parseMentions('@ANA shouting', members).mentions).toEqual([ANA]);
  });

  it('drops deleted or unknown mentions, e-mails and partial names', () => {
    expect(parseMentions('hi @an', members).mentions).toEqual([]);
    expect(parseMentions('hi @zed', members).mentions).toEqual([]);
    expect(parseMentions('mail ana@node.test', members).mentions).toEqual([]);
    expect(parseMentions('@anabelle', members).mentions).toEqual([]);
  });

  it('needs the full id when a user name is ambiguous', () => {
    expect(parseMentions('@bob hi', [BO, BO2]).mentions).toEqual([]);
    expect(parseMentions(`${BO2} hi`, [BO, BO2]).mentions).toEqual([BO2]);
  });

  it('sees @everyone, but not inside a word or as a user id', () => {
    expect(parseMentions('@everyone meeting!', members)).toEqual({ mentions: [], everyone: true });
    expect(parseMentions('@everyone, @bob', members)).toEqual({ mentions: [BO], everyone: true });
    expect(parseMentions('@everyonex', members).everyone).toBe(false);
    expect(parseMentions(`${EVERY} hi`, [EVERY])).toEqual({ mentions: [EVERY], everyone: false });
  });

  it('keeps at most MAX_MENTIONS', () => {
    const many = Array.from({ length: MAX_MENTIONS + 5 }, (_, i) => `@user${i}:node.test` as UserId);
    expect(parseMentions(many.map((u) => `@${localpart(u)}`).join(' '), many).mentions).toHaveLength(MAX_MENTIONS);
  });
});

describe('mentionSegments', () => {
  it('picks out the mentions the message carries, the rest stays plain', () => {
    expect(mentionSegments('hi @ana and @bob!', [ANA], false)).toEqual([
      { kind: 'text', text: 'hi ' },
      { kind: 'user', text: '@ana', user: ANA },
      { kind: 'text', text: ' and @bob!' },
    ]);
    expect(mentionSegments('@everyone look', [], true)).toEqual([
      { kind: 'everyone', text: '@everyone' },
      { kind: 'text', text: ' look' },
    ]);
    expect(mentionSegments('@everyone look', [], false)).toEqual([{ kind: 'text', text: '@everyone look' }]);
    expect(mentionSegments('', [], false)).toEqual([]);
    // The segments always put the text back together.
    const text = 'a @ana@bob @ana. @anabel x@ana';
    expect(
      mentionSegments(text, [ANA, ANABEL, BO], true)
        .map((s) => s.text)
        .join(''),
    ).toBe(text);
  });
});

describe('mentionsMe', () => {
  const item = (body: CborMap, sender = ANA, extra: CborMap = {}) =>
    decodeTimelineItem({ seq: 3, id: '$' + 'A'.repeat(43), ts: 1_700_000_000_000, sender, kind: 'msg.post', body, ...extra });

  it('is true for a message from someone else that mentions me or @everyone', () => {
    expect(mentionsMe(item({ text: '@bob', mentions: [BO] }), BO)).toBe(true);
    expect(mentionsMe(item({ text: '@everyone', mention_everyone: true }), BO)).toBe(true);
    expect(mentionsMe(item({ text: '@ana', mentions: [ANA] }), BO)).toBe(false);
    expect(mentionsMe(item({ text: '@everyone', mention_everyone: true }), ANA)).toBe(false); // my own
    expect(mentionsMe(item({ text: '' , mentions: [BO] }, ANA, { deleted: true }), BO)).toBe(false);
    expect(mentionsMe(item({ text: '@bob', mentions: [BO] }), null)).toBe(false);
  });
});
