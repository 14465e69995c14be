import { describe, expect, it } from 'vitest';

import { EVERYONE_RANK, Permissions, type PermissionName } from '@/protocol';

import {
  assignableRoles,
  canBan,
  canCreateRole,
  canDeleteRole,
  canEditRole,
  canKick,
  canLeave,
  canMoveRole,
  canOwnerActions,
  canTransferTo,
  canUnban,
  flagEditable,
  grantableFlags,
  memberActions,
  moveRole,
  nextRoles,
  roleAssignable,
  roleToggleable,
  sortRoles,
  topRankFor,
  viewerOf,
  visibleTabs,
  type MemberLike,
  type RoleLike,
  type Viewer,
} from '../rules';

const P = (...names: PermissionName[]) => Permissions.fromNames(names);

const OWNER = '@owner:n';
// Roles: 1 admin (everything but audit), 2 mod (kick, assign, manage_roles, pin), 3 pinner (pin), everyone.
const admin: RoleLike = { id: 11, rank: 1, permissions: Permissions.with(Permissions.ALL, 'view_audit_log', false) };
const mod: RoleLike = { id: 12, rank: 2, permissions: P('kick_members', 'assign_roles', 'manage_roles', 'pin_messages', 'ban_members') };
const pinner: RoleLike = { id: 13, rank: 3, permissions: P('pin_messages') };
const auditor: RoleLike = { id: 14, rank: 4, permissions: P('view_audit_log') };
const everyone: RoleLike = { id: 0, rank: EVERYONE_RANK, permissions: Permissions.EVERYONE_DEFAULT };
const roles = [everyone, pinner, admin, auditor, mod];

function viewer(me: string, rank: number, perms: number): Viewer {
  return { me, owner: OWNER, myRank: rank, myPermissions: perms, direct: false };
}

const owner = viewer(OWNER, 0, Permissions.ALL);
const modV = viewer('@mod:n', 2, mod.permissions | Permissions.EVERYONE_DEFAULT);
const plain = viewer('@plain:n', EVERYONE_RANK, Permissions.EVERYONE_DEFAULT);

const m = (user: string, rank: number, r: number[] = []): MemberLike => ({ user, rank, roles: r });
const ownerM = m(OWNER, 0);
const adminM = m('@admin:n', 1, [11]);
const modM = m('@mod:n', 2, [12]);
const otherMod = m('@mod2:n', 2, [12]);
const pinnerM = m('@pinner:n', 3, [13]);
const plainM = m('@plain:n', EVERYONE_RANK);

describe('member actions mirror authorize()', () => {
  it('the owner may act on everyone but themself, and transfer ownership', () => {
    for (const t of [adminM, modM, pinnerM, plainM]) {
      expect(canKick(owner, t)).toBe(true);
      expect(canBan(owner, t)).toBe(true);
      expect(memberActions(owner, t, roles)).toEqual(['roles', 'kick', 'ban', 'transfer']);
    }
    expect(memberActions(owner, ownerM, roles)).toEqual([]);
  });

  it('acts only on strictly more junior members', () => {
    expect(canKick(modV, pinnerM)).toBe(true);
    expect(canKick(modV, plainM)).toBe(true);
    expect(canKick(modV, otherMod)).toBe(false); // same rank
    expect(canKick(modV, adminM)).toBe(false); // more senior
    expect(canKick(modV, ownerM)).toBe(false);
    expect(canKick(modV, modM)).toBe(false); // myself
  });

  it('needs the permission for each action', () => {
    const kickOnly = viewer('@k:n', 2, P('kick_members'));
    expect(memberActions(kickOnly, plainM, roles)).toEqual(['kick']);
    const banOnly = viewer('@b:n', 2, P('ban_members'));
    expect(memberActions(banOnly, plainM, roles)).toEqual(['ban']);
    expect(memberActions(plain, pinnerM, roles)).toEqual([]);
    expect(canUnban(banOnly, { byRank: 2 })).toBe(true);
    expect(canUnban(banOnly, { byRank: 3 })).toBe(true);
    expect(canUnban(banOnly, { byRank: 1 }), 'a more senior ban').toBe(false);
    expect(canUnban(kickOnly, { byRank: 2 })).toBe(false);
  });

  it('never offers actions on the owner, even to a rank-0-looking viewer', () => {
    const weird = viewer('@x:n', 0, Permissions.ALL);
    expect(canKick(weird, ownerM)).toBe(false);
    expect(canBan(weird, ownerM)).toBe(false);
  });

  it('offers nothing in a direct chat', () => {
    const dm: Viewer = { ...owner, direct: true };
    expect(memberActions(dm, plainM, roles)).toEqual([]);
    expect(visibleTabs(dm)).toEqual(['info', 'members', 'roles']);
    expect(canLeave(dm)).toBe(false);
  });

  it('only a non-owner may leave; only the owner has owner actions', () => {
    expect(canLeave(owner)).toBe(false);
    expect(canLeave(modV)).toBe(true);
    expect(canOwnerActions(owner)).toBe(true);
    expect(canOwnerActions(modV)).toBe(false);
    expect(canTransferTo(owner, modM)).toBe(true);
    expect(canTransferTo(owner, ownerM)).toBe(false);
  });
});

describe('role assignment', () => {
  it('the checkboxes list only custom roles below my rank, most senior first', () => {
    expect(assignableRoles(modV, roles).map((r) => r.id)).toEqual([13, 14]);
    expect(assignableRoles(owner, roles).map((r) => r.id)).toEqual([11, 12, 13, 14]);
  });

  it('a role granting permissions I lack is listed but not assignable', () => {
    expect(roleAssignable(modV, pinner)).toBe(true);
    expect(roleAssignable(modV, auditor)).toBe(false); // view_audit_log not held
    expect(roleAssignable(owner, auditor)).toBe(true);
  });

  it('without assignable roles there is no roles action', () => {
    const assignNoRoles = viewer('@a:n', 3, P('assign_roles', 'pin_messages'));
    // Below rank 3 there is only the auditor role, which grants view_audit_log they lack.
    expect(memberActions(assignNoRoles, plainM, roles)).toEqual([]);
  });

  it('keeps roles I cannot touch when saving', () => {
    // A member with admin (above me) and pinner; I untick pinner and tick auditor (not allowed).
    const current = [11, 13];
    expect(nextRoles(modV, roles, current, [14])).toEqual([11]);
    expect(nextRoles(modV, roles, current, [13, 11])).toEqual([11, 13]);
    expect(nextRoles(owner, roles, [], [14, 12])).toEqual([12, 14]);
    // A held role with a permission I lack may still be taken away (taking grants nothing).
    expect(nextRoles(modV, roles, [14], [])).toEqual([]);
    expect(nextRoles(modV, roles, [14], [14])).toEqual([14]);
  });

  it('a checkbox is live when I could give the role, or take it from this member', () => {
    expect(roleToggleable(modV, auditor, [])).toBe(false);
    expect(roleToggleable(modV, auditor, [14])).toBe(true);
    expect(roleToggleable(modV, pinner, [])).toBe(true);
    expect(roleToggleable(modV, mod, [12])).toBe(false); // my own rank
  });
});

describe('roles editor', () => {
  it('grants only flags I hold', () => {
    expect(grantableFlags(owner)).toEqual(Permissions.NAMES);
    expect(grantableFlags(viewer('@x:n', 2, P('pin_messages', 'manage_roles')))).toEqual(['pin_messages', 'manage_roles']);
  });

  it('edits and deletes only roles below me; everyone is editable but not deletable', () => {
    expect(canEditRole(modV, admin)).toBe(false);
    expect(canEditRole(modV, mod)).toBe(false);
    expect(canEditRole(modV, pinner)).toBe(true);
    expect(canEditRole(modV, everyone)).toBe(true);
    expect(canDeleteRole(modV, pinner)).toBe(true);
    expect(canDeleteRole(modV, everyone)).toBe(false);
    expect(canEditRole(plain, everyone)).toBe(false);
    const managerWithoutRole = viewer('@x:n', EVERYONE_RANK, P('manage_roles'));
    expect(canEditRole(managerWithoutRole, everyone)).toBe(false);
    expect(canCreateRole(managerWithoutRole, roles)).toBe(true);
  });

  it('editor flags: the ones I hold, plus the ones the role already has (to take away)', () => {
    const v = viewer('@x:n', 2, P('pin_messages', 'manage_roles'));
    expect(flagEditable(v, 'pin_messages', 0)).toBe(true);
    expect(flagEditable(v, 'kick_members', 0)).toBe(false);
    expect(flagEditable(v, 'kick_members', P('kick_members'))).toBe(true);
    expect(flagEditable(owner, 'view_audit_log', 0)).toBe(true);
  });

  it('creates roles only below my rank', () => {
    expect(topRankFor(owner)).toBe(1);
    expect(topRankFor(modV)).toBe(3);
  });

  it('moves roles only within the ranks below mine', () => {
    expect(canMoveRole(owner, roles, mod, 1)).toBe(true);
    expect(canMoveRole(owner, roles, mod, 4)).toBe(true);
    expect(canMoveRole(owner, roles, mod, 5)).toBe(false); // past the last custom role
    expect(canMoveRole(owner, roles, mod, 2)).toBe(false); // not a move
    expect(canMoveRole(owner, roles, everyone, 1)).toBe(false);
    expect(canMoveRole(modV, roles, pinner, 4)).toBe(true);
    expect(canMoveRole(modV, roles, auditor, 3)).toBe(true);
    expect(canMoveRole(modV, roles, auditor, 2)).toBe(false); // onto my own rank
    expect(canMoveRole(modV, roles, mod, 3)).toBe(false); // my own role
    expect(canMoveRole(plain, roles, pinner, 4)).toBe(false);
  });

  it('a move shifts the roles in between by one, everyone stays last', () => {
    const up = moveRole(roles, 14, 1);
    expect(up.map((r) => [r.id, r.rank])).toEqual([
      [14, 1],
      [11, 2],
      [12, 3],
      [13, 4],
      [0, EVERYONE_RANK],
    ]);
    const down = moveRole(roles, 11, 3);
    expect(down.map((r) => [r.id, r.rank])).toEqual([
      [12, 1],
      [13, 2],
      [11, 3],
      [14, 4],
      [0, EVERYONE_RANK],
    ]);
    expect(moveRole(roles, 99, 1).map((r) => r.id)).toEqual(sortRoles(roles).map((r) => r.id));
  });

  it('sorts most senior first with everyone last', () => {
    expect(sortRoles(roles).map((r) => r.id)).toEqual([11, 12, 13, 14, 0]);
  });
});

describe('tabs', () => {
  it('shows admin tabs by permission', () => {
    expect(visibleTabs(owner)).toEqual(['info', 'members', 'invites', 'roles', 'bans', 'audit']);
    expect(visibleTabs(plain)).toEqual(['info', 'members', 'invites', 'roles']); // everyone may invite by default
    expect(visibleTabs(viewer('@x:n', 3, P('send_messages')))).toEqual(['info', 'members', 'roles']);
    expect(visibleTabs(viewer('@x:n', 3, P('view_audit_log')))).toEqual(['info', 'members', 'roles', 'audit']);
  });

  it('builds a viewer from a chat summary', () => {
    const v = viewerOf({ owner: OWNER, myRank: 2, myPermissions: 5, kind: 'group' }, '@me:n');
    expect(v).toEqual({ me: '@me:n', owner: OWNER, myRank: 2, myPermissions: 5, direct: false });
  });
});
