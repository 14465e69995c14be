import { describe, expect, it } from 'vitest';

import type { EventBody, UserId } from '@/protocol';

import { auditSentence } from '../audit';

const names = {
  user: (id: string) => ({ '@a:n': 'Alice', '@b:n': 'Bob' })[id] ?? id,
  role: (id: number) => (id === 7 ? 'Mods' : undefined),
};
const A = '@a:n';
const B = '@b:n' as UserId;
const say = (body: EventBody) => auditSentence({ kind: body.kind, sender: A, body }, names);

describe('audit sentences', () => {
  it('tells moderation with the reason', () => {
    expect(say({ kind: 'member.kick', user: B, reason: 'spam' })).toBe('Alice removed Bob: “spam”');
    expect(say({ kind: 'member.ban', user: B, reason: '' })).toBe('Alice banned Bob');
    expect(say({ kind: 'member.unban', user: B })).toBe('Alice lifted the ban on Bob');
    expect(say({ kind: 'owner.transfer', user: B })).toBe('Alice made Bob the owner');
  });

  it('names roles, or their id once deleted', () => {
    expect(say({ kind: 'member.roles', user: B, roles: [7, 9] })).toBe('Alice set the roles of Bob to “Mods”, role #9');
    expect(say({ kind: 'member.roles', user: B, roles: [] })).toBe('Alice took every role from Bob');
    expect(say({ kind: 'role.create', role: 7, name: 'Mods', colour: '', permissions: 8, rank: 1 })).toBe('Alice created the role “Mods”');
    expect(say({ kind: 'role.update', role: 7, rank: 2 })).toBe('Alice updated the role “Mods”: moved it to position 2');
    expect(say({ kind: 'role.update', role: 0, permissions: 1 })).toBe('Alice updated the role “everyone”: changed its permissions');
    expect(say({ kind: 'role.delete', role: 9 })).toBe('Alice deleted a role (#9)');
  });

  it('describes group changes', () => {
    expect(say({ kind: 'group.update', name: 'Crabs', description: 'x' })).toBe('Alice renamed the group to “Crabs”, changed the description');
    expect(say({ kind: 'group.update', visibility: 'public', handle: '#crabs:n' as never })).toBe('Alice made the group public as #crabs:n');
    expect(say({ kind: 'group.delete' })).toBe('Alice deleted the group');
    expect(say({ kind: 'msg.delete', seq: 12 })).toBe('Alice deleted message #12');
    expect(say({ kind: 'unknown', raw: {} })).toBe('Alice: unknown');
  });
});
