import { describe, expect, it } from 'vitest';

import type { ChatEntry } from '@/stores/chats';

import { closeProfile, profileUser, sharedGroups, showProfile } from '../profilePanel';

function entry(group: string, name: string, opts: { kind?: 'group' | 'direct'; owner?: string; members?: string[]; senders?: string[]; left?: ChatEntry['left'] } = {}): ChatEntry {
  return {
    summary: { group, name, kind: opts.kind ?? 'group', owner: opts.owner ?? '@o:x' },
    left: opts.left ?? null,
    detail: opts.members ? { members: opts.members.map((user) => ({ user })) } : null,
    items: (opts.senders ?? []).map((sender, i) => ({ seq: i + 1, sender })),
  } as unknown as ChatEntry;
}

describe('profile panel', () => {
  it('opens for one user and closes', () => {
    showProfile('@bo:x');
    expect(profileUser.value).toBe('@bo:x');
    closeProfile();
    expect(profileUser.value).toBeNull();
  });

  it('finds the groups we share by members, senders and owner, not DMs or groups I left', () => {
    const entries = [
      entry('!b:x', 'Boats', { members: ['@me:x', '@bo:x'] }),
      entry('!a:x', 'Apples', { senders: ['@bo:x'] }),
      entry('!c:x', 'Cats', { owner: '@bo:x' }),
      entry('!d:x', '', { kind: 'direct', members: ['@me:x', '@bo:x'] }),
      entry('!e:x', 'Eels', { members: ['@bo:x'], left: 'left' }),
      entry('!f:x', 'Figs', { members: ['@me:x', '@al:x'] }),
    ];
    expect(sharedGroups(entries, '@bo:x').map((e) => e.summary.name)).toEqual(['Apples', 'Boats', 'Cats']);
  });
});
