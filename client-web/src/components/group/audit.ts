/**
 * Human sentences for admin events (the audit tab): "Alice removed Bob: “spam”".
 */
import type { EventBody, RoleId } from '@/protocol';

/** The parts of a timeline item a sentence needs. */
export interface AuditItemLike {
  readonly kind: string;
  readonly sender: string;
  readonly body: EventBody;
}

export interface Names {
  /** A user's display name (or a short form of the id). */
  user(id: string): string;
  /** A role's name, when it still exists. */
  role(id: RoleId): string | undefined;
}

function withReason(sentence: string, reason: string): string {
  return reason ? `${sentence}: “${reason}”` : sentence;
}

function roleName(names: Names, id: RoleId, fallback?: string): string {
  if (id === 0) return '“everyone”';
  const name = names.role(id) ?? fallback;
  return name ? `“${name}”` : `role #${id}`;
}

export function auditSentence(item: AuditItemLike, names: Names): string {
  const who = names.user(item.sender);
  const b = item.body;
  switch (b.kind) {
    case 'group.create':
      return `${who} created the group`;
    case 'group.update': {
      const parts: string[] = [];
      if (b.name !== undefined) parts.push(`renamed the group to “${b.name}”`);
      if (b.description !== undefined) parts.push('changed the description');
      if (b.visibility === 'public') parts.push(b.handle ? `made the group public as ${b.handle}` : 'made the group public');
      else if (b.visibility === 'private') parts.push('made the group private');
      else if (b.handle) parts.push(`changed the handle to ${b.handle}`);
      return parts.length ? `${who} ${parts.join(', ')}` : `${who} updated the group`;
    }
    case 'group.delete':
      return `${who} deleted the group`;
    case 'member.invite':
      return `${who} invited ${names.user(b.user)}`;
    case 'member.join': {
      const how = b.via === 'link' ? ' with an invite link' : b.via === 'invite' ? ' by invitation' : ' from the directory';
      return `${who} joined${how}`;
    }
    case 'member.leave':
      return `${who} left`;
    case 'member.kick':
      return withReason(`${who} removed ${names.user(b.user)}`, b.reason);
    case 'member.ban':
      return withReason(`${who} banned ${names.user(b.user)}`, b.reason);
    case 'member.unban':
      return `${who} lifted the ban on ${names.user(b.user)}`;
    case 'member.roles':
      if (b.roles.length === 0) return `${who} took every role from ${names.user(b.user)}`;
      return `${who} set the roles of ${names.user(b.user)} to ${b.roles.map((id) => roleName(names, id)).join(', ')}`;
    case 'role.create':
      return `${who} created the role “${b.name}”`;
    case 'role.update': {
      const parts: string[] = [];
      if (b.name !== undefined) parts.push(`renamed it to “${b.name}”`);
      if (b.colour !== undefined) parts.push('changed its colour');
      if (b.permissions !== undefined) parts.push('changed its permissions');
      if (b.rank !== undefined) parts.push(`moved it to position ${b.rank}`);
      return `${who} updated the role ${roleName(names, b.role, b.name)}${parts.length ? `: ${parts.join(', ')}` : ''}`;
    }
    case 'role.delete':
      return names.role(b.role) ? `${who} deleted the role ${roleName(names, b.role)}` : `${who} deleted a role (#${b.role})`;
    case 'owner.transfer':
      return `${who} made ${names.user(b.user)} the owner`;
    case 'msg.delete':
      return `${who} deleted message #${b.seq}`;
    case 'msg.pin':
      return `${who} ${b.on ? 'pinned' : 'unpinned'} message #${b.seq}`;
    default:
      return `${who}: ${item.kind}`;
  }
}
