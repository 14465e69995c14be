import { describe, expect, it } from 'vitest';

import { decodeTimelineItem, type CborMap } from '@/protocol';

import { dayLabel, describeEvent, initials, presenceLine, previewOf, timeLabel, typingLine } from '../format';

const ANA = '@ana:node.test';
const BO = '@bob:node.test';
const names: Record<string, string> = { [ANA]: 'Ana', [BO]: 'Bo' };
const nameOf = (u: string): string => names[u] ?? u;

function ev(kind: string, body: CborMap, sender = ANA, extra: CborMap = {}) {
  return decodeTimelineItem({ seq: 3, id: '$' + 'A'.repeat(43), ts: 1_700_000_000_000, sender, kind, body, ...extra });
}

describe('describeEvent', () => {
  it('has a human sentence for every event kind', () => {
    const roles = (id: number): string | undefined => ({ 1: 'Mods', 2: 'Helpers' })[id];
    const cases: [string, CborMap, string][] = [
      ['group.create', { kind: 'group', name: 'Rust', description: '', visibility: 'private' }, 'Ana created the group “Rust”'],
      ['group.create', { kind: 'direct', name: '', description: '', visibility: 'private', members: [BO] }, 'Ana started the chat'],
      ['group.update', { name: 'Crabs' }, 'Ana renamed the group to “Crabs”'],
      ['group.update', { visibility: 'public', handle: '#crabs:node.test' }, 'Ana made the group public as #crabs:node.test'],
      ['group.update', { visibility: 'private' }, 'Ana made the group private'],
      ['group.update', { description: 'x' }, 'Ana changed the description'],
      ['group.delete', {}, 'Ana deleted the group'],
      ['member.invite', { user: BO }, 'Ana invited Bo'],
      ['member.join', { via: 'public' }, 'Ana joined'],
      ['member.join', { via: 'link' }, 'Ana joined with an invite link'],
      ['member.join', { via: 'invite' }, 'Ana accepted an invitation and joined'],
      ['member.leave', {}, 'Ana left'],
      ['member.kick', { user: BO, reason: '' }, 'Ana removed Bo'],
      ['member.ban', { user: BO, reason: 'spam' }, 'Ana banned Bo: spam'],
      ['member.unban', { user: BO }, 'Ana unbanned Bo'],
      ['member.roles', { user: BO, roles: [1, 2] }, 'Ana gave Bo the roles “Mods”, “Helpers”'],
      ['member.roles', { user: BO, roles: [] }, 'Ana took all roles from Bo'],
      ['role.create', { role: 1, name: 'Mods', colour: '', permissions: 1, rank: 1 }, 'Ana created the role “Mods”'],
      ['role.update', { role: 1, permissions: 3 }, 'Ana updated the role “Mods”: changed its permissions'],
      ['role.update', { role: 0, permissions: 3 }, 'Ana updated the role “everyone”: changed its permissions'],
      ['role.delete', { role: 9 }, 'Ana deleted a role'],
      ['owner.transfer', { user: BO }, 'Ana made Bo the owner'],
      ['msg.edit', { seq: 1, text: 'x' }, 'Ana edited a message'],
      ['msg.delete', { seq: 1 }, 'Ana deleted a message'],
      ['msg.pin', { seq: 1, on: true }, 'Ana pinned a message'],
      ['msg.react', { seq: 1, emoji: '👍', on: true }, 'Ana reacted 👍'],
      ['poll.create', { q: 'x' }, 'Ana: poll.create'],
    ];
    for (const [kind, body, text] of cases) expect(describeEvent(ev(kind, body), nameOf, roles)).toBe(text);
  });
});

describe('previews and labels', () => {
  it('previews messages for DMs and groups', () => {
    const m = ev('msg.post', { text: 'hello\nthere' });
    expect(previewOf(m, nameOf, { me: BO, direct: false })).toBe('Ana: hello there');
    expect(previewOf(m, nameOf, { me: BO, direct: true })).toBe('hello there');
    expect(previewOf(m, nameOf, { me: ANA, direct: true })).toBe('You: hello there');
    expect(previewOf(ev('msg.post', { text: '' }, ANA, { deleted: true }), nameOf, { me: BO, direct: true })).toBe('Message deleted');
    expect(previewOf(ev('member.ban', { user: BO }), nameOf, { me: null, direct: false })).toBe('Ana banned Bo');
    expect(previewOf(undefined, nameOf, { me: null, direct: false })).toBe('No messages yet');
  });

  it('previews media messages by what they carry', () => {
    const media = { node: 'node.test', sha256: new Uint8Array(32).fill(7) };
    const photo = { media, kind: 'image', mime: 'image/png', size: 10, width: 4, height: 3 };
    const voice = { media, kind: 'voice', mime: 'audio/webm', size: 10, duration_ms: 900, waveform: new Uint8Array(16) };
    expect(previewOf(ev('msg.post', { text: '', attachments: [photo] }), nameOf, { me: BO, direct: false })).toBe('Ana: Photo');
    expect(previewOf(ev('msg.post', { text: 'look', attachments: [photo, photo] }), nameOf, { me: BO, direct: true })).toBe('2 photos: look');
    expect(previewOf(ev('msg.post', { text: '', attachments: [voice] }), nameOf, { me: ANA, direct: true })).toBe('You: Voice message');
    expect(previewOf(ev('msg.post', { text: '' , attachments: [photo] }, ANA, { deleted: true }), nameOf, { me: BO, direct: true })).toBe('Message deleted');
  });

  it('makes initials, typing lines and day labels', () => {
    expect(initials('Ana Maria')).toBe('AM');
    expect(initials('bob')).toBe('B');
    expect(initials('')).toBe('?');
    expect(typingLine([])).toBe('');
    expect(typingLine(['Ana'])).toBe('Ana is typing…');
    expect(typingLine(['Ana', 'Bo'])).toBe('Ana and Bo are typing…');
    expect(typingLine(['A', 'B', 'C'])).toBe('3 people are typing…');
    const now = new Date(2026, 5, 10, 12).getTime();
    expect(dayLabel(now - 3600_000, now)).toBe('Today');
    expect(dayLabel(now - 86_400_000, now)).toBe('Yesterday');
  });
});

describe('presenceLine', () => {
  const now = new Date(2026, 5, 10, 18, 30).getTime();
  const at = (day: number, h: number, m: number, year = 2026, month = 5) => new Date(year, month, day, h, m).getTime();

  it('says online, offline, or when last seen', () => {
    expect(presenceLine(undefined, now)).toBe('');
    expect(presenceLine({ status: 'online' }, now)).toBe('online');
    expect(presenceLine({ status: 'online', lastSeen: at(1, 1, 1) }, now)).toBe('online');
    expect(presenceLine({ status: 'offline' }, now)).toBe('offline');
    expect(presenceLine({ status: 'offline', lastSeen: at(10, 14, 5) }, now)).toBe(`last seen today at ${timeLabel(at(10, 14, 5))}`);
    expect(presenceLine({ status: 'offline', lastSeen: at(9, 23, 59) }, now)).toBe(`last seen yesterday at ${timeLabel(at(9, 23, 59))}`);
    expect(timeLabel(at(10, 14, 5))).toMatch(/14|2/);
  });

  it('gives a date for older days, with the year when it is another one', () => {
    const older = presenceLine({ status: 'offline', lastSeen: at(3, 9, 0) }, now);
    expect(older).toMatch(/^last seen /);
    expect(older).toContain('3');
    expect(older).not.toContain('2026');
    expect(older).not.toMatch(/today|yesterday/);
    const lastYear = presenceLine({ status: 'offline', lastSeen: at(3, 9, 0, 2025, 11) }, now);
    expect(lastYear).toContain('2025');
  });

  it('takes a last seen time slightly ahead of the clock as today', () => {
    expect(presenceLine({ status: 'offline', lastSeen: now + 2_000 }, now)).toBe(`last seen today at ${timeLabel(now + 2_000)}`);
  });
});

describe('previewOf with formatting', () => {
  it('leaves the formatting marks out', () => {
    expect(previewOf(ev('msg.post', { text: '**big** news: ```\ncode\n```' }), nameOf, { me: null, direct: true })).toBe('big news: code');
  });
});
