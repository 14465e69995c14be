/**
 * Words for the chat UI: a human sentence for every event kind, previews, times, initials.
 * Pure functions (unit-tested).
 */
import type { EventBody, RoleId, TimelineItem } from '@/protocol';
import { attachmentSummary } from '../media/format';
import { parseRichText, plainText } from './richtext';

export type NameOf = (user: string) => string;
export type RoleNameOf = (role: RoleId) => string | undefined;

function quoted(s: string): string {
  return `“${s}”`;
}

function withReason(sentence: string, reason: string): string {
  return reason.trim() ? `${sentence}: ${reason.trim()}` : sentence;
}

/** A sentence for an event, e.g. "Ana banned Bo: spam". `me` is called "You". */
export function describeEvent(item: Pick<TimelineItem, 'sender' | 'body' | 'kind'>, nameOf: NameOf, roleName: RoleNameOf = () => undefined): string {
  const who = nameOf(item.sender);
  const b: EventBody = item.body;
  const role = (id: RoleId): string => {
    const n = roleName(id);
    return n ? `the role ${quoted(n)}` : 'a role';
  };
  switch (b.kind) {
    case 'group.create':
      return b.groupKind === 'direct' ? `${who} started the chat` : `${who} created the group ${quoted(b.name)}`;
    case 'group.update': {
      const parts: string[] = [];
      if (b.name !== undefined) parts.push(`renamed the group to ${quoted(b.name)}`);
      if (b.description !== undefined) parts.push('changed the description');
      if (b.visibility === 'public') parts.push(b.handle ? `made the group public as ${b.handle}` : 'made the group public');
      else if (b.visibility === 'private') parts.push('made the group private');
      else if (b.handle !== undefined) parts.push(`changed the handle to ${b.handle}`);
      return parts.length ? `${who} ${parts.join(' and ')}` : `${who} updated the group`;
    }
    case 'group.delete':
      return `${who} deleted the group`;
    case 'member.invite':
      return `${who} invited ${nameOf(b.user)}`;
    case 'member.join':
      return b.via === 'invite' ? `${who} accepted an invitation and joined` : b.via === 'link' ? `${who} joined with an invite link` : `${who} joined`;
    case 'member.leave':
      return `${who} left`;
    case 'member.kick':
      return withReason(`${who} removed ${nameOf(b.user)}`, b.reason);
    case 'member.ban':
      return withReason(`${who} banned ${nameOf(b.user)}`, b.reason);
    case 'member.unban':
      return `${who} unbanned ${nameOf(b.user)}`;
    case 'member.roles':
      return b.roles.length === 0
        ? `${who} took all roles from ${nameOf(b.user)}`
        : `${who} gave ${nameOf(b.user)} ${b.roles.length === 1 ? 'the role' : 'the roles'} ${b.roles.map((r) => quoted(roleName(r) ?? `#${r}`)).join(', ')}`;
    case 'role.create':
      return `${who} created the role ${quoted(b.name)}`;
    case 'role.update': {
      const parts: string[] = [];
      if (b.name !== undefined) parts.push(`renamed it to ${quoted(b.name)}`);
      if (b.permissions !== undefined) parts.push('changed its permissions');
      if (b.rank !== undefined) parts.push('moved it');
      if (b.colour !== undefined) parts.push('changed its colour');
      const target = b.role === 0 ? 'the role “everyone”' : role(b.role);
      return parts.length ? `${who} updated ${target}: ${parts.join(', ')}` : `${who} updated ${target}`;
    }
    case 'role.delete':
      return `${who} deleted ${role(b.role)}`;
    case 'owner.transfer':
      return `${who} made ${nameOf(b.user)} the owner`;
    case 'msg.post':
      return `${who}: ${b.text}`;
    case 'msg.edit':
      return `${who} edited a message`;
    case 'msg.delete':
      return `${who} deleted a message`;
    case 'msg.react':
      return b.on ? `${who} reacted ${b.emoji}` : `${who} removed a reaction ${b.emoji}`;
    case 'msg.pin':
      return b.on ? `${who} pinned a message` : `${who} unpinned a message`;
    case 'unknown':
      return `${who}: ${item.kind}`;
  }
}

/** The chat list's preview line for the last item. */
export function previewOf(item: TimelineItem | undefined, nameOf: NameOf, opts: { me: string | null; direct: boolean }): string {
  if (item === undefined) return 'No messages yet';
  if (item.body.kind === 'msg.post') {
    const media = item.deleted ? '' : attachmentSummary(item.body.attachments ?? []);
    const caption = oneLine(item.body.text);
    const text = item.deleted
      ? 'Message deleted'
      : media === ''
        ? caption
        : caption === ''
          ? media
          : `${media}: ${caption}`;
    if (item.sender === opts.me) return `You: ${text}`;
    return opts.direct ? text : `${nameOf(item.sender)}: ${text}`;
  }
  return describeEvent(item, nameOf);
}

/** A message's text on one line, as shown (its formatting marks left out), cut to `max` characters. */
export function oneLine(text: string, max = 120): string {
  const flat = plainText(parseRichText(text)).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Up to two initials of a name. */
export function initials(name: string): string {
  const words = name.replace(/^[@#]/, '').split(/[\s._-]+/).filter(Boolean);
  const letters = words.length >= 2 ? [words[0], words[1]] : [words[0] ?? '?'];
  return letters
    .map((w) => Array.from(w ?? '')[0] ?? '')
    .join('')
    .toUpperCase() || '?';
}

/** A stable hue for a name (avatar colours). */
export function hueOf(text: string): number {
  let h = 0;
  for (const c of text) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 360;
  return h;
}

export function sameDay(a: number, b: number): boolean {
  const x = new Date(a);
  const y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
}

/** "Today", "Yesterday" or a date. */
export function dayLabel(ts: number, now = Date.now()): string {
  if (sameDay(ts, now)) return 'Today';
  if (sameDay(ts, now - 86_400_000)) return 'Yesterday';
  const d = new Date(ts);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString(undefined, sameYear ? { weekday: 'long', month: 'long', day: 'numeric' } : { year: 'numeric', month: 'long', day: 'numeric' });
}

export function timeLabel(ts: number): string {
  return new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** The list's time column: a time today, else a short date. */
export function listTime(ts: number, now = Date.now()): string {
  if (sameDay(ts, now)) return timeLabel(ts);
  return new Date(ts).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

/**
 * A DM header's presence line: "online", "last seen today at 14:05", "last seen yesterday at
 * 09:30", "last seen 3 March" (another day), "offline" (no last_seen); "" while unknown.
 */
export function presenceLine(p: { readonly status: 'online' | 'offline'; readonly lastSeen?: number } | undefined, now = Date.now()): string {
  if (p === undefined) return '';
  if (p.status === 'online') return 'online';
  const ts = p.lastSeen;
  if (ts === undefined) return 'offline';
  if (sameDay(ts, now) || ts > now) return `last seen today at ${timeLabel(ts)}`;
  if (sameDay(ts, now - 86_400_000)) return `last seen yesterday at ${timeLabel(ts)}`;
  const d = new Date(ts);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return `last seen ${d.toLocaleDateString(undefined, sameYear ? { month: 'long', day: 'numeric' } : { year: 'numeric', month: 'long', day: 'numeric' })}`;
}

/** "Ana is typing…", "Ana and Bo are typing…", "3 people are typing…". */
export function typingLine(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** Reactions offered first in the message menu. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🎉'] as const;
