import { describe, expect, it } from 'vitest';

import { decodeTimelineItem, type CborMap } from '@/protocol';

import { countLabel, firstUnreadSeq, paintIcon, titleWithCount, totalUnread, type IconPainter } from '../unread';

const ANA = '@ana:node.test';
const BO = '@bob:node.test';

function item(seq: number, sender: string, kind = 'msg.post', body: CborMap = { text: `m${seq}` }, extra: CborMap = {}) {
  return decodeTimelineItem({ seq, id: '$' + 'A'.repeat(43), ts: 1_700_000_000_000 + seq, sender, kind, body, ...extra });
}

describe('firstUnreadSeq', () => {
  const items = [item(1, BO, 'member.join', { via: 'public' }), item(2, BO), item(3, ANA), item(4, BO, 'member.leave', {}), item(5, ANA), item(6, BO), item(7, BO)];

  it('is the first message from someone else after the read position', () => {
    expect(firstUnreadSeq(items, 2, ANA)).toBe(6);
    expect(firstUnreadSeq(items, 0, ANA)).toBe(2);
    expect(firstUnreadSeq(items, 6, ANA)).toBe(7);
  });

  it('skips my own messages, event lines and deleted messages', () => {
    const withDeleted = [item(3, ANA), item(4, BO, 'msg.post', { text: '' }, { deleted: true }), item(5, BO)];
    expect(firstUnreadSeq(withDeleted, 2, ANA)).toBe(5);
  });

  it('is null when nothing after the read position is in the window', () => {
    expect(firstUnreadSeq(items, 7, ANA)).toBeNull();
    expect(firstUnreadSeq([], 0, ANA)).toBeNull();
  });
});

describe('totalUnread', () => {
  it('adds up the chats I am still in', () => {
    expect(
      totalUnread([
        { summary: { unread: 3 }, left: null },
        { summary: { unread: 0 }, left: null },
        { summary: { unread: 4 }, left: 'kicked' },
        { summary: { unread: 2 }, left: null },
      ]),
    ).toBe(5);
    expect(totalUnread([])).toBe(0);
  });

  it('leaves out the chats I muted, until the mute runs out', () => {
    const now = 1_700_000_000_000;
    const chats = [
      { summary: { unread: 3 }, left: null },
      { summary: { unread: 7, mutedUntil: now + 60_000 }, left: null },
      { summary: { unread: 2, mutedUntil: now - 1 }, left: null },
    ];
    expect(totalUnread(chats, now)).toBe(5);
    expect(totalUnread(chats, now + 120_000)).toBe(12);
  });
});

describe('titleWithCount', () => {
  it('puts the count in front, replacing one already there, and takes it away at 0', () => {
    expect(titleWithCount('WiniChat', 3)).toBe('(3) WiniChat');
    expect(titleWithCount('(3) WiniChat', 12)).toBe('(12) WiniChat');
    expect(titleWithCount('(12) WiniChat', 0)).toBe('WiniChat');
    expect(titleWithCount('(99+) WiniChat', 150)).toBe('(99+) WiniChat');
    expect(titleWithCount('(draft) notes', 0)).toBe('(draft) notes');
  });

  it('caps the label at 99+', () => {
    expect(countLabel(99)).toBe('99');
    expect(countLabel(100)).toBe('99+');
  });
});

describe('paintIcon', () => {
  /** Records the texts drawn and the colours they were drawn in. */
  function recorder(): IconPainter & { texts: string[]; fills: string[] } {
    const r = {
      fillStyle: '' as IconPainter['fillStyle'],
      font: '',
      textAlign: 'start' as CanvasTextAlign,
      textBaseline: 'alphabetic' as CanvasTextBaseline,
      texts: [] as string[],
      fills: [] as string[],
      clearRect: () => {},
      beginPath: () => {},
      arc: () => {},
      roundRect: () => {},
      moveTo: () => {},
      lineTo: () => {},
      closePath: () => {},
      fill: () => r.fills.push(String(r.fillStyle)),
      fillText: (text: string) => r.texts.push(text),
    };
    return r;
  }

  it('draws the icon alone without unread messages', () => {
    const p = recorder();
    paintIcon(p, 0);
    expect(p.texts).toEqual(['W']);
    expect(p.fills).not.toContain('#dc2626');
  });

  it('draws a red badge with the count', () => {
    const p = recorder();
    paintIcon(p, 7);
    expect(p.texts).toEqual(['W', '7']);
    expect(p.fills).toContain('#dc2626');
    const many = recorder();
    paintIcon(many, 1234);
    expect(many.texts.at(-1)).toBe('99+');
  });
});
