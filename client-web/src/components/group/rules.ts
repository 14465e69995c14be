/**
 * The group panel's mirror of `protocol/src/group/authorize.rs`: which admin actions to offer,
 * computed from what `chats.get` tells the caller (their rank and permissions, the roles and the
 * members). It only decides what the UI shows; the node checks every action again.
 *
 * Ranks: the owner is 0, custom roles 1..n (1 most senior), `everyone` is 2^32 − 1; a smaller
 * number is more senior. Act on a member or role only when strictly more senior; grant only
 * permissions you hold; the owner cannot be kicked, banned or demoted.
 */
import { EVERYONE, MAX_ROLES, Permissions, type PermissionName, type PermissionSet } from '@/protocol';

const EVERYONE_ROLE = EVERYONE;

/** What the caller is in the group. */
export interface Viewer {
  readonly me: string;
  readonly owner: string;
  readonly myRank: number;
  readonly myPermissions: PermissionSet;
  readonly direct: boolean;
}

export interface RoleLike {
  readonly id: number;
  readonly rank: number;
  readonly permissions: PermissionSet;
}

export interface MemberLike {
  readonly user: string;
  readonly rank: number;
  readonly roles: readonly number[];
}

export function isOwner(v: Viewer): boolean {
  return v.me === v.owner;
}

/** True when the caller holds `flag` (the owner holds everything). */
export function can(v: Viewer, flag: PermissionName): boolean {
  if (v.direct) return false;
  return isOwner(v) || Permissions.has(v.myPermissions, flag);
}

/** True when every known flag of `perms` is one the caller holds. */
export function mayGrant(v: Viewer, perms: PermissionSet): boolean {
  if (isOwner(v)) return true;
  return Permissions.names(perms).every((name) => Permissions.has(v.myPermissions, name));
}

/** The flags the caller may put into a role: the ones they hold. */
export function grantableFlags(v: Viewer): PermissionName[] {
  return Permissions.NAMES.filter((name) => isOwner(v) || Permissions.has(v.myPermissions, name));
}

/** Strictly more senior than `rank`. */
function above(v: Viewer, rank: number): boolean {
  return v.myRank < rank;
}

function actsOnMember(v: Viewer, target: MemberLike, flag: PermissionName): boolean {
  return !v.direct && target.user !== v.me && target.user !== v.owner && can(v, flag) && above(v, target.rank);
}

export function canKick(v: Viewer, target: MemberLike): boolean {
  return actsOnMember(v, target, 'kick_members');
}

export function canBan(v: Viewer, target: MemberLike): boolean {
  return actsOnMember(v, target, 'ban_members');
}

/** May the caller change `target`'s roles at all (at least one role they could give or take)? */
export function canAssignRoles(v: Viewer, target: MemberLike, roles: readonly RoleLike[]): boolean {
  return actsOnMember(v, target, 'assign_roles') && roles.some((r) => roleAssignable(v, r) || (target.roles.includes(r.id) && roleRemovable(v, r)));
}

/** May the caller give this role? Custom, below their rank, and granting nothing they lack. */
export function roleAssignable(v: Viewer, role: RoleLike): boolean {
  return roleRemovable(v, role) && mayGrant(v, role.permissions);
}

/** May the caller take this role away? Custom and below their rank. */
export function roleRemovable(v: Viewer, role: RoleLike): boolean {
  return role.id !== EVERYONE_ROLE && above(v, role.rank);
}

/** The roles the assign-roles checkboxes show: custom roles below the caller, most senior first. */
export function assignableRoles<R extends RoleLike>(v: Viewer, roles: readonly R[]): R[] {
  return sortRoles(roles).filter((r) => r.id !== EVERYONE_ROLE && above(v, r.rank));
}

/** May the caller tick or untick this role's checkbox for a member who holds `current`? */
export function roleToggleable(v: Viewer, role: RoleLike, current: readonly number[]): boolean {
  return current.includes(role.id) ? roleRemovable(v, role) : roleAssignable(v, role);
}

/**
 * The roles a member ends up with when the caller ticks `chosen`: a role the caller may not
 * give is not added, a role they may not take stays.
 */
export function nextRoles(v: Viewer, roles: readonly RoleLike[], current: readonly number[], chosen: readonly number[]): number[] {
  const byId = new Map(roles.map((r) => [r.id, r]));
  const kept = current.filter((id) => {
    const r = byId.get(id);
    return chosen.includes(id) || r === undefined || !roleRemovable(v, r);
  });
  const added = chosen.filter((id) => {
    const r = byId.get(id);
    return !current.includes(id) && r !== undefined && roleAssignable(v, r);
  });
  return [...new Set([...kept, ...added])].sort((a, b) => (byId.get(a)?.rank ?? 0) - (byId.get(b)?.rank ?? 0));
}

/**
 * May the caller switch this flag in a role's editor? Flags they hold, and (editing) flags
 * the role already has: taking them away grants nothing.
 */
export function flagEditable(v: Viewer, flag: PermissionName, original: PermissionSet): boolean {
  return isOwner(v) || Permissions.has(v.myPermissions, flag) || Permissions.has(original, flag);
}

/** Lifting a ban needs ban_members and a rank at least as senior as the ban's. */
export function canUnban(v: Viewer, ban: { readonly byRank: number }): boolean {
  return can(v, 'ban_members') && (isOwner(v) || v.myRank <= ban.byRank);
}

export function canEditInfo(v: Viewer): boolean {
  return can(v, 'edit_group_info');
}

export function canInvite(v: Viewer): boolean {
  return can(v, 'invite_members');
}

export function canManageInvites(v: Viewer): boolean {
  return can(v, 'manage_invites');
}

export function canViewBans(v: Viewer): boolean {
  return can(v, 'ban_members');
}

export function canViewAudit(v: Viewer): boolean {
  return can(v, 'view_audit_log');
}

export function canManageRoles(v: Viewer): boolean {
  return can(v, 'manage_roles');
}

/** Owner only: visibility, handle, delete, transfer. */
export function canOwnerActions(v: Viewer): boolean {
  return !v.direct && isOwner(v);
}

export function canTransferTo(v: Viewer, target: MemberLike): boolean {
  return canOwnerActions(v) && target.user !== v.me;
}

/** The owner cannot leave (they transfer ownership first). */
export function canLeave(v: Viewer): boolean {
  return !v.direct && !isOwner(v);
}

/** May the caller edit this role (name/colour for custom roles, permissions for any)? */
export function canEditRole(v: Viewer, role: RoleLike): boolean {
  return canManageRoles(v) && above(v, role.rank);
}

export function canDeleteRole(v: Viewer, role: RoleLike): boolean {
  return role.id !== EVERYONE_ROLE && canEditRole(v, role);
}

export function canCreateRole(v: Viewer, roles: readonly RoleLike[]): boolean {
  return canManageRoles(v) && customRoles(roles).length < MAX_ROLES;
}

/** The most senior rank the caller may place a role at (1 for the owner). */
export function topRankFor(v: Viewer): number {
  return Math.max(1, v.myRank + 1);
}

/** Roles most senior first, `everyone` last. */
export function sortRoles<R extends RoleLike>(roles: readonly R[]): R[] {
  return [...roles].sort((a, b) => a.rank - b.rank || a.id - b.id);
}

export function customRoles<R extends RoleLike>(roles: readonly R[]): R[] {
  return sortRoles(roles).filter((r) => r.id !== EVERYONE_ROLE);
}

/** May `role` move to `toRank`? Both ranks below the caller, within 1..n, and a real move. */
export function canMoveRole(v: Viewer, roles: readonly RoleLike[], role: RoleLike, toRank: number): boolean {
  const n = customRoles(roles).length;
  return (
    role.id !== EVERYONE_ROLE &&
    canManageRoles(v) &&
    above(v, role.rank) &&
    Number.isInteger(toRank) &&
    toRank >= topRankFor(v) &&
    toRank <= n &&
    toRank !== role.rank
  );
}

/**
 * The ranks after moving role `id` to `toRank` (as the node applies `role.update {rank}`): the
 * roles between the old and new place shift by one. Returns the roles sorted by new rank.
 */
export function moveRole<R extends RoleLike>(roles: readonly R[], id: number, toRank: number): R[] {
  const custom = customRoles(roles);
  const from = custom.findIndex((r) => r.id === id);
  if (from < 0) return sortRoles(roles);
  const order = [...custom];
  const [moved] = order.splice(from, 1);
  if (moved === undefined) return sortRoles(roles);
  const to = Math.min(Math.max(toRank, 1), custom.length) - 1;
  order.splice(to, 0, moved);
  const everyone = roles.filter((r) => r.id === EVERYONE_ROLE);
  return [...order.map((r, i) => ({ ...r, rank: i + 1 })), ...everyone];
}

/** The tabs the panel shows the caller. */
export type PanelTab = 'info' | 'members' | 'invites' | 'roles' | 'bans' | 'audit';

export function visibleTabs(v: Viewer): PanelTab[] {
  const tabs: PanelTab[] = ['info', 'members'];
  if (canInvite(v) || canManageInvites(v)) tabs.push('invites');
  tabs.push('roles');
  if (canViewBans(v)) tabs.push('bans');
  if (canViewAudit(v)) tabs.push('audit');
  return tabs;
}

/** Which actions the per-member menu offers (empty: no menu). */
export function memberActions(v: Viewer, target: MemberLike, roles: readonly RoleLike[]): ('kick' | 'ban' | 'roles' | 'transfer')[] {
  const actions: ('kick' | 'ban' | 'roles' | 'transfer')[] = [];
  if (canAssignRoles(v, target, roles)) actions.push('roles');
  if (canKick(v, target)) actions.push('kick');
  if (canBan(v, target)) actions.push('ban');
  if (canTransferTo(v, target)) actions.push('transfer');
  return actions;
}

/** The viewer of a chat, from its summary and my id. */
export function viewerOf(chat: { readonly owner: string; readonly myRank: number; readonly myPermissions: PermissionSet; readonly kind: string }, me: string): Viewer {
  return { me, owner: chat.owner, myRank: chat.myRank, myPermissions: chat.myPermissions, direct: chat.kind === 'direct' };
}
