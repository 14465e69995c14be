/**
 * Message grouping: consecutive messages of one sender within a few minutes (on the same day)
 * form a run. The first of a run carries the sender's name, the last one the bubble's tail and
 * the sender's avatar, so a run reads as one block.
 */
import type { TimelineItem } from '@/protocol';

import { sameDay } from './format';

/** How far apart two messages of one sender may be and still share a run. */
export const RUN_GAP_MS = 5 * 60_000;

/** Whether `item` continues the run of `prev` (the timeline row just before it). */
export function continuesRun(prev: TimelineItem | null | undefined, item: TimelineItem): boolean {
  return (
    prev != null &&
    prev.kind === 'msg.post' &&
    item.kind === 'msg.post' &&
    prev.sender === item.sender &&
    sameDay(prev.ts, item.ts) &&
    item.ts - prev.ts >= 0 &&
    item.ts - prev.ts < RUN_GAP_MS
  );
}

/** Where a message sits in its run. */
export interface RunPlace {
  readonly first: boolean;
  readonly last: boolean;
}

/** The run place of each item of a timeline window (ascending seq), by index. */
export function runPlaces(items: readonly TimelineItem[]): RunPlace[] {
  return items.map((item, i) => {
    const next = items[i + 1];
    return { first: !continuesRun(items[i - 1], item), last: next === undefined || !continuesRun(item, next) };
  });
}
