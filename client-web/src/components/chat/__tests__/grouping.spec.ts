import { describe, expect, it } from 'vitest';

import type { TimelineItem } from '@/protocol';

import { continuesRun, RUN_GAP_MS, runPlaces } from '../grouping';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

function msg(seq: number, sender: string, ts: number): TimelineItem {
  return { seq, sender, ts, kind: 'msg.post', body: { kind: 'msg.post', text: `m${seq}`, attachments: [] }, reactions: [], deleted: false, pinned: false } as unknown as TimelineItem;
}

function line(seq: number, sender: string, ts: number): TimelineItem {
  return { seq, sender, ts, kind: 'member.join', body: { kind: 'member.join' }, reactions: [], deleted: false, pinned: false } as unknown as TimelineItem;
}

describe('message runs', () => {
  it('joins messages of one sender within the gap', () => {
    expect(continuesRun(msg(1, '@a:x', T0), msg(2, '@a:x', T0 + 60_000))).toBe(true);
    expect(continuesRun(msg(1, '@a:x', T0), msg(2, '@a:x', T0 + RUN_GAP_MS))).toBe(false);
    expect(continuesRun(msg(1, '@a:x', T0), msg(2, '@b:x', T0 + 1000))).toBe(false);
    expect(continuesRun(line(1, '@a:x', T0), msg(2, '@a:x', T0 + 1000))).toBe(false);
    expect(continuesRun(null, msg(2, '@a:x', T0))).toBe(false);
  });

  it('marks the first and the last of each run', () => {
    const items = [msg(1, '@a:x', T0), msg(2, '@a:x', T0 + 1000), msg(3, '@a:x', T0 + 2000), msg(4, '@b:x', T0 + 3000), line(5, '@b:x', T0 + 4000), msg(6, '@b:x', T0 + 5000)];
    expect(runPlaces(items)).toEqual([
      { first: true, last: false },
      { first: false, last: false },
      { first: false, last: true },
      { first: true, last: true },
      { first: true, last: true },
      { first: true, last: true },
    ]);
  });
});
