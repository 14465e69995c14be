/**
 * Chats over the gateway (`protocol/src/gateway/chat.rs`, `protocol/src/group/*`): a typed,
 * framework-free client for every `chats.*`, `dm.*`, `groups.*`, `invites.*`, `links.*`,
 * `members.*`, `bans.*`, `roles.*`, `msgs.*` and `audit.*` method, and the `chat.*` / `invite`
 * pushes.
 *
 * - Every result and push is validated field by field (ids parsed, integers checked); a reply of
 *   the wrong shape is an error `{code: 'bad_response'}`, never a half-built object. A timeline
 *   item whose body does not fit its kind keeps the item with `body.kind === 'unknown'`.
 * - Every logged write carries a fresh `txn` (`crypto.randomUUID()`, or one the caller passes);
 *   when the connection drops before the answer arrives (`unavailable` / `timeout` while the
 *   gateway is still running), the SAME txn is sent again after the reconnect, so the node acts
 *   once and answers with the first result. Reads and idempotent calls are retried the same way;
 *   `links.create` and `msgs.typing` are not.
 * - TypeScript names are camelCase (`lastSeq`, `myPermissions`); the wire keys are snake_case.
 */
import { field, isTextMap, type CborMap, type CborValue } from './codec';
import type { ErrorBody } from './error-codes';
import type { PushFrame } from './frames';
import { getMediaUrls, updateProfile, type ConnectionState, type GatewayError, type MediaUrlRequest, type MediaUrls, type Profile, type ProfileChanges, type Ready } from './gateway';
import { formatMediaId, parseEventId, parseGroupId, parseHandle, parseMediaId, parseNodeName, parseUserId, type EventId, type GroupId, type Handle, type NodeName, type UserId } from './ids';
import { err, ok, type Result } from './result';
import { refusedCharAt } from './text';

// ---------------------------------------------------------------------------------------------
// Constants (chat.rs, group/mod.rs)

export const MAX_TXN_BYTES = 64;
export const MAX_HISTORY_LIMIT = 100;
export const MAX_DIRECTORY_LIMIT = 50;
export const MAX_REACTION_USERS = 20;
export const MAX_TEXT_CHARS = 4096;
export const MAX_NAME_CHARS = 64;
export const MAX_DESCRIPTION_CHARS = 1024;
export const MAX_ROLE_NAME_CHARS = 32;
export const MAX_REASON_CHARS = 512;
export const MAX_EMOJI_BYTES = 32;
export const MAX_ROLES = 64;
export const MAX_MENTIONS = 50;
/** The `everyone` role's id. */
export const EVERYONE: RoleId = 0;
export const OWNER_RANK = 0;
/** `u32::MAX`. */
export const EVERYONE_RANK = 0xffff_ffff;
/** How long a `chat.typing` lasts unless repeated (ms). */
export const TYPING_TTL_MS = 6_000;

// ---------------------------------------------------------------------------------------------
// Media references (protocol/src/media.rs, spec/media.md)

/** What a piece of media is, as the node sniffed it from its bytes. */
export type MediaKind = 'image' | 'audio' | 'voice' | 'video' | 'file';
export const MEDIA_KINDS: readonly MediaKind[] = ['image', 'audio', 'voice', 'video', 'file'];
/** At most this many attachments in one message. */
export const MAX_ATTACHMENTS = 10;
/** A file name: at most this many characters (no control characters, `/` or `\\`). */
export const MAX_FILE_NAME_CHARS = 255;
/** A voice waveform: 16 to 256 samples, one byte each (0 silent … 255 loudest). */
export const MIN_WAVEFORM_SAMPLES = 16;
export const MAX_WAVEFORM_SAMPLES = 256;
/** The longest duration accepted: 24 h. */
export const MAX_DURATION_MS = 24 * 60 * 60 * 1000;
/** A blurhash placeholder: at most this many characters. */
export const MAX_BLURHASH_CHARS = 100;
/** A mime type: at most this many characters. */
export const MAX_MIME_CHARS = 100;

/**
 * A piece of media in a message, as the node that stores it describes it (node-authored, inside
 * the signed `msg.post` body). `media` and `poster` are media ids in text form `node/<64 hex>`
 * (on the wire they are `{node, sha256}` maps; see `formatMediaId` / `parseMediaId`).
 */
export interface Attachment {
  readonly media: string;
  readonly kind: MediaKind;
  /** The sniffed type (`application/octet-stream` for a file). */
  readonly mime: string;
  /** Bytes. */
  readonly size: number;
  /** The file name the sender gave. */
  readonly name?: string;
  /** Image (or video poster) size in pixels. */
  readonly width?: number;
  readonly height?: number;
  /** Audio, voice or video duration. */
  readonly durationMs?: number;
  /** A placeholder shown while the image (or poster) loads. */
  readonly blurhash?: string;
  /** Voice only: 16–256 samples, 0–255. */
  readonly waveform?: Uint8Array;
  /** Video only: the poster frame (an image on the same node), text form. */
  readonly poster?: string;
}

/** An attachment as the client asks for it in `msgs.post`; the node fills in the rest. */
export interface AttachmentInput {
  /** Media the caller uploaded to this node (text form `node/<hex>`, as the upload returns it). */
  readonly media: string;
  /** The file name to show. */
  readonly name?: string;
  /** A voice message (audio only; needs `waveform`). */
  readonly voice?: boolean;
  /** The waveform computed while recording (voice only), 16–256 bytes. */
  readonly waveform?: Uint8Array;
  /** The duration measured by the client (used when the container has none). */
  readonly durationMs?: number;
  /** A video's poster frame: an image the caller uploaded (video only), text form. */
  readonly poster?: string;
}

/** Why an attachment is refused: the names of `AttachmentError::code` (protocol/src/media.rs). */
export type AttachmentProblem =
  | 'too_many'
  | 'name_length'
  | 'name_characters'
  | 'waveform_length'
  | 'unexpected_waveform'
  | 'missing_waveform'
  | 'unexpected_poster'
  | 'duration_too_long'
  | 'blurhash'
  | 'zero_dimension'
  | 'mime';

const BLURHASH_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

/**
 * A file name: 1–255 characters (code points) of shown text on one line (protocol.md §2.1: no
 * control, format or other invisible character); no `/`, `\` or `..`; not `.`. Null when it is
 * fine.
 */
export function checkFileName(name: string): AttachmentProblem | null {
  const chars = Array.from(name);
  if (chars.length === 0 || chars.length > MAX_FILE_NAME_CHARS) return 'name_length';
  const slash = chars.some((c) => c === '/' || c === '\\');
  if (slash || refusedCharAt(name) !== null || name === '.' || name.includes('..')) return 'name_characters';
  return null;
}

/** A blurhash: 6–100 characters of its alphabet, as long as its first character says. */
export function checkBlurhash(hash: string): AttachmentProblem | null {
  if (hash.length < 6 || hash.length > 100 || ![...hash].every((c) => BLURHASH_ALPHABET.includes(c))) return 'blurhash';
  const flag = BLURHASH_ALPHABET.indexOf(hash[0] ?? '');
  const x = (flag % 9) + 1;
  const y = Math.floor(flag / 9) + 1;
  return y <= 9 && hash.length === 4 + 2 * x * y ? null : 'blurhash';
}

/** A mime type: 1–100 printable ASCII characters, no leading or trailing space. */
export function checkMime(mime: string): AttachmentProblem | null {
  return mime.length > 0 && mime.length <= MAX_MIME_CHARS && /^[\x20-\x7e]+$/.test(mime) && mime.trim() === mime ? null : 'mime';
}

function waveformProblem(waveform: Uint8Array): AttachmentProblem | null {
  return waveform.length >= MIN_WAVEFORM_SAMPLES && waveform.length <= MAX_WAVEFORM_SAMPLES ? null : 'waveform_length';
}

/** The checks every reader makes of an attachment (`Attachment::check`); null when it passes. */
export function checkAttachment(a: Attachment): AttachmentProblem | null {
  const name = a.name === undefined ? null : checkFileName(a.name);
  if (name) return name;
  const mime = checkMime(a.mime);
  if (mime) return mime;
  if (a.width === 0 || a.height === 0) return 'zero_dimension';
  if (a.durationMs !== undefined && a.durationMs > MAX_DURATION_MS) return 'duration_too_long';
  if (a.blurhash !== undefined && checkBlurhash(a.blurhash)) return 'blurhash';
  if (a.waveform !== undefined) {
    if (a.kind !== 'voice') return 'unexpected_waveform';
    const w = waveformProblem(a.waveform);
    if (w) return w;
  } else if (a.kind === 'voice') return 'missing_waveform';
  if (a.poster !== undefined && a.kind !== 'video') return 'unexpected_poster';
  return null;
}

/**
 * The checks the node makes of an attachment input before it looks the media up
 * (`AttachmentInput::check`): use it before `post` to explain a refusal early. Null when it passes.
 */
export function checkAttachmentInput(a: AttachmentInput): AttachmentProblem | null {
  const name = a.name === undefined ? null : checkFileName(a.name);
  if (name) return name;
  if (a.durationMs !== undefined && a.durationMs > MAX_DURATION_MS) return 'duration_too_long';
  if (a.waveform !== undefined) {
    if (a.voice !== true) return 'unexpected_waveform';
    const w = waveformProblem(a.waveform);
    if (w) return w;
  } else if (a.voice === true) return 'missing_waveform';
  if (a.voice === true && a.poster !== undefined) return 'unexpected_poster';
  return null;
}

/** Method names. */
export const CHAT_METHOD = {
  chatsList: 'chats.list',
  chatsGet: 'chats.get',
  dmOpen: 'dm.open',
  groupsCreate: 'groups.create',
  groupsUpdate: 'groups.update',
  groupsDelete: 'groups.delete',
  groupsTransfer: 'groups.transfer',
  groupsDirectory: 'groups.directory',
  groupsJoin: 'groups.join',
  groupsLeave: 'groups.leave',
  invitesSend: 'invites.send',
  invitesList: 'invites.list',
  invitesAccept: 'invites.accept',
  invitesDecline: 'invites.decline',
  linksCreate: 'links.create',
  linksList: 'links.list',
  linksRevoke: 'links.revoke',
  linksPreview: 'links.preview',
  linksRedeem: 'links.redeem',
  membersKick: 'members.kick',
  membersBan: 'members.ban',
  membersUnban: 'members.unban',
  membersRoles: 'members.roles',
  bansList: 'bans.list',
  membersList: 'members.list',
  rolesCreate: 'roles.create',
  rolesUpdate: 'roles.update',
  rolesDelete: 'roles.delete',
  msgsPost: 'msgs.post',
  msgsEdit: 'msgs.edit',
  msgsDelete: 'msgs.delete',
  msgsReact: 'msgs.react',
  msgsPin: 'msgs.pin',
  msgsHistory: 'msgs.history',
  msgsRead: 'msgs.read',
  msgsSeenBy: 'msgs.seen_by',
  msgsTyping: 'msgs.typing',
  msgsEvent: 'msgs.event',
  msgsSearch: 'msgs.search',
  auditList: 'audit.list',
  msgsForward: 'msgs.forward',
  chatsSettings: 'chats.settings',
} as const;

/** Push names. */
export const CHAT_PUSH = {
  event: 'chat.event',
  read: 'chat.read',
  typing: 'chat.typing',
  invite: 'invite',
  settings: 'chat.settings',
} as const;

// ---------------------------------------------------------------------------------------------
// Permissions (group/permissions.rs): a u64 bit set below 2^53 on the wire.

/** A permission bit set (an unsigned integer below 2^53). */
export type PermissionSet = number;

/** Every flag this version knows: wire name → bit value, in bit order. */
export const PERMISSION_FLAGS = {
  send_messages: 2 ** 0,
  send_media: 2 ** 1,
  add_reactions: 2 ** 2,
  pin_messages: 2 ** 3,
  manage_messages: 2 ** 4,
  invite_members: 2 ** 5,
  manage_invites: 2 ** 6,
  kick_members: 2 ** 7,
  ban_members: 2 ** 8,
  manage_roles: 2 ** 9,
  assign_roles: 2 ** 10,
  edit_group_info: 2 ** 11,
  mention_everyone: 2 ** 12,
  view_audit_log: 2 ** 13,
} as const;

export type PermissionName = keyof typeof PERMISSION_FLAGS;

/** What each flag allows, for people (the Rust doc comments). */
export const PERMISSION_LABELS: Readonly<Record<PermissionName, string>> = {
  send_messages: 'Post text messages.',
  send_media: 'Post photos, audio, video and files.',
  add_reactions: 'React to messages.',
  pin_messages: 'Pin and unpin messages.',
  manage_messages: "Delete other people's messages.",
  invite_members: 'Invite users directly.',
  manage_invites: 'Create, list and revoke invite links.',
  kick_members: 'Remove more junior members.',
  ban_members: 'Ban and unban users.',
  manage_roles: 'Create, edit, reorder and delete more junior roles.',
  assign_roles: 'Give and take more junior roles.',
  edit_group_info: 'Change the name, description and photo.',
  mention_everyone: 'Mention @everyone.',
  view_audit_log: 'Read the log of admin actions.',
};

const PERMISSION_NAMES = Object.keys(PERMISSION_FLAGS) as PermissionName[];

function flagOf(flag: PermissionName | PermissionSet): bigint {
  return BigInt(typeof flag === 'number' ? flag : PERMISSION_FLAGS[flag]);
}

/** Helpers on permission sets; bit values and names are those of `permissions.rs`. */
export const Permissions = {
  NONE: 0 as PermissionSet,
  /** Every flag this version knows. */
  ALL: PERMISSION_NAMES.reduce((acc, n) => acc + PERMISSION_FLAGS[n], 0) as PermissionSet,
  /** What the `everyone` role of a new group holds. */
  EVERYONE_DEFAULT: (PERMISSION_FLAGS.send_messages | PERMISSION_FLAGS.send_media | PERMISSION_FLAGS.add_reactions | PERMISSION_FLAGS.invite_members) as PermissionSet,
  /** What each member of a direct chat holds. */
  DIRECT: (PERMISSION_FLAGS.send_messages | PERMISSION_FLAGS.send_media | PERMISSION_FLAGS.add_reactions | PERMISSION_FLAGS.pin_messages) as PermissionSet,
  /** Wire names in bit order. */
  NAMES: PERMISSION_NAMES as readonly PermissionName[],
  /** True when every bit of `flag` (a name or a set) is in `set`. */
  has(set: PermissionSet, flag: PermissionName | PermissionSet): boolean {
    const f = flagOf(flag);
    return (BigInt(set) & f) === f;
  },
  /** The names of the known flags set in `set`, in bit order. */
  names(set: PermissionSet): PermissionName[] {
    return PERMISSION_NAMES.filter((n) => Permissions.has(set, n));
  },
  /** The flag with this wire name. */
  byName(name: string): PermissionSet | undefined {
    return Object.prototype.hasOwnProperty.call(PERMISSION_FLAGS, name) ? PERMISSION_FLAGS[name as PermissionName] : undefined;
  },
  /** The set with these names. */
  fromNames(names: Iterable<PermissionName>): PermissionSet {
    let out = 0n;
    for (const n of names) out |= flagOf(n);
    return Number(out);
  },
  /** `set` with `flag` turned on or off (unknown bits kept). */
  with(set: PermissionSet, flag: PermissionName | PermissionSet, on: boolean): PermissionSet {
    const f = flagOf(flag);
    return Number(on ? BigInt(set) | f : BigInt(set) & ~f);
  },
  /** The flags of `set` this version knows. */
  known(set: PermissionSet): PermissionSet {
    return Number(BigInt(set) & BigInt(Permissions.ALL));
  },
} as const;

// ---------------------------------------------------------------------------------------------
// Types

/** A role's id within its group; 0 is `everyone`. */
export type RoleId = number;
/** Unix milliseconds (home-node time). */
export type Timestamp = number;
export type GroupKind = 'direct' | 'group';
export type Visibility = 'private' | 'public';
export type JoinVia = 'public' | 'invite' | 'link';

export interface Role {
  readonly id: RoleId;
  readonly name: string;
  /** `#rrggbb` or empty. */
  readonly colour: string;
  readonly permissions: PermissionSet;
  /** 1..n for custom roles (1 most senior); `EVERYONE_RANK` for everyone. */
  readonly rank: number;
}

/** The event kinds this version knows. */
export const EVENT_KINDS = [
  'group.create',
  'group.update',
  'group.delete',
  'member.invite',
  'member.join',
  'member.leave',
  'member.kick',
  'member.ban',
  'member.unban',
  'member.roles',
  'role.create',
  'role.update',
  'role.delete',
  'owner.transfer',
  'msg.post',
  'msg.edit',
  'msg.delete',
  'msg.react',
  'msg.pin',
] as const;
export type KnownEventKind = (typeof EVENT_KINDS)[number];

/** A decoded event body, by kind (group/bodies.rs). */
export type EventBody =
  | { readonly kind: 'group.create'; readonly groupKind: GroupKind; readonly name: string; readonly description: string; readonly visibility: Visibility; readonly handle?: Handle; readonly members: readonly UserId[] }
  /** `photo`: absent = unchanged, null = removed, a media id (text form) = set. */
  | { readonly kind: 'group.update'; readonly name?: string; readonly description?: string; readonly visibility?: Visibility; readonly handle?: Handle; readonly photo?: string | null }
  | { readonly kind: 'group.delete' }
  | { readonly kind: 'member.invite'; readonly user: UserId }
  | { readonly kind: 'member.join'; readonly via: JoinVia }
  | { readonly kind: 'member.leave' }
  | { readonly kind: 'member.kick'; readonly user: UserId; readonly reason: string }
  | { readonly kind: 'member.ban'; readonly user: UserId; readonly reason: string }
  | { readonly kind: 'member.unban'; readonly user: UserId }
  | { readonly kind: 'member.roles'; readonly user: UserId; readonly roles: readonly RoleId[] }
  | { readonly kind: 'role.create'; readonly role: RoleId; readonly name: string; readonly colour: string; readonly permissions: PermissionSet; readonly rank: number }
  | { readonly kind: 'role.update'; readonly role: RoleId; readonly name?: string; readonly colour?: string; readonly permissions?: PermissionSet; readonly rank?: number }
  | { readonly kind: 'role.delete'; readonly role: RoleId }
  | { readonly kind: 'owner.transfer'; readonly user: UserId }
  /** `text` is the caption when there are attachments (it may then be empty). */
  | { readonly kind: 'msg.post'; readonly text: string; readonly replyTo?: number; readonly mentions: readonly UserId[]; readonly mentionEveryone: boolean; readonly attachments: readonly Attachment[]; readonly forwarded?: Forwarded }
  | { readonly kind: 'msg.edit'; readonly seq: number; readonly text: string }
  | { readonly kind: 'msg.delete'; readonly seq: number }
  | { readonly kind: 'msg.react'; readonly seq: number; readonly emoji: string; readonly on: boolean }
  | { readonly kind: 'msg.pin'; readonly seq: number; readonly on: boolean }
  /** A kind this version does not know, or a body that does not fit its kind. */
  | { readonly kind: 'unknown'; readonly raw: CborMap };

/** Where a forwarded message came from, written by the node (`msgs.forward`, gateway.md §8.10). */
export interface Forwarded {
  /** Who wrote the original. */
  readonly user: UserId;
  /** Its chat, only when that chat is public. */
  readonly group?: GroupId;
  readonly ts: Timestamp;
}

/** My own settings of a chat (`chats.settings`, the `chat.settings` push). */
export interface ChatSettings {
  readonly group: GroupId;
  /** Muted until then (`MUTED_FOREVER`: until unmuted); absent: not muted. */
  readonly mutedUntil?: Timestamp;
  /** Pinned to the top of the list then; absent: not pinned. */
  readonly pinnedAt?: Timestamp;
}

/** `muted_until` meaning "until unmuted". */
export const MUTED_FOREVER = Number.MAX_SAFE_INTEGER;
/** The most chats pinned to the top at once. */
export const MAX_PINNED_CHATS = 5;

export interface Reaction {
  readonly emoji: string;
  /** Exact. */
  readonly count: number;
  /** The first `MAX_REACTION_USERS`, earliest first. */
  readonly users: readonly UserId[];
}

/** One event of a timeline; for a `msg.post`, the message's current state. */
export interface TimelineItem {
  readonly seq: number;
  readonly id: EventId;
  readonly ts: Timestamp;
  readonly sender: UserId;
  /** The wire kind (`msg.post`, …, or one this version does not know). */
  readonly kind: string;
  readonly body: EventBody;
  readonly editedAt?: Timestamp;
  readonly deleted: boolean;
  readonly pinned: boolean;
  readonly reactions: readonly Reaction[];
  /** True when the message has more emojis than `reactions` lists (cut to 8 KiB). */
  readonly moreReactions?: boolean;
}

export interface HistoryResult {
  /** Ascending seq. */
  readonly items: TimelineItem[];
  readonly moreBefore: boolean;
  readonly moreAfter: boolean;
}

export interface ChatSummary {
  readonly group: GroupId;
  readonly kind: GroupKind;
  /** Empty for a direct chat: show the peer. */
  readonly name: string;
  readonly description: string;
  readonly visibility: Visibility;
  readonly handle?: Handle;
  readonly owner: UserId;
  /** For a direct chat: the other user. */
  readonly peer?: UserId;
  readonly members: number;
  readonly lastSeq: number;
  readonly last?: TimelineItem;
  readonly readSeq: number;
  readonly unread: number;
  /** For a direct chat: the peer's read position (✓✓ up to here). */
  readonly peerReadSeq?: number;
  readonly myRank: number;
  readonly myPermissions: PermissionSet;
  readonly pinned: readonly number[];
  /** The group photo; for a direct chat, the peer's avatar (text form). */
  readonly photo?: string;
  /** I muted the chat until then (`chats.settings`). */
  readonly mutedUntil?: Timestamp;
  /** I pinned the chat to the top of my list then. */
  readonly pinnedAt?: Timestamp;
}

export interface MemberInfo {
  readonly user: UserId;
  readonly displayName: string;
  readonly roles: readonly RoleId[];
  /** 0: owner. */
  readonly rank: number;
  readonly joinedAt: Timestamp;
  readonly readSeq: number;
  /** Their avatar (text form). */
  readonly avatar?: string;
}

export interface ChatDetail {
  readonly chat: ChatSummary;
  /** Most senior first. */
  readonly members: readonly MemberInfo[];
  /** Most senior first, `everyone` last. */
  readonly roles: readonly Role[];
  readonly invited: readonly UserId[];
  /** Present when more members follow: `after` for `members.list` (gateway.md §8.8). */
  readonly membersNext?: string;
  /** True when `invited` was cut to fit the reply. */
  readonly moreInvited?: boolean;
}

/** A message found by `msgs.search` (gateway.md §8.9). */
export interface MsgSearchHit {
  readonly group: GroupId;
  readonly seq: number;
  readonly ts: number;
  readonly sender: UserId;
  /** Part of the current text around the first match, with `…` where cut. */
  readonly snippet: string;
}

/** One page of a list reply cut by count or bytes; `next` continues it (gateway.md §8.8). */
export interface Page<T> {
  readonly items: T[];
  readonly next?: string;
}

export interface DirectoryEntry {
  readonly group: GroupId;
  readonly handle: Handle;
  readonly name: string;
  readonly description: string;
  readonly members: number;
  readonly joined: boolean;
  readonly photo?: string;
}

export interface InviteInfo {
  readonly group: GroupId;
  readonly name: string;
  readonly by: UserId;
  readonly at: Timestamp;
}

export interface LinkInfo {
  readonly code: string;
  readonly group: GroupId;
  readonly createdBy: UserId;
  readonly createdAt: Timestamp;
  readonly expiresAt?: Timestamp;
  readonly maxUses?: number;
  readonly uses: number;
  readonly revoked: boolean;
}

export interface LinkPreview {
  readonly group: GroupId;
  readonly name: string;
  readonly description: string;
  readonly members: number;
  readonly photo?: string;
}

export interface BanInfo {
  readonly user: UserId;
  readonly by: UserId;
  /** The rank the ban counts at: lifting it needs this rank or a more senior one. */
  readonly byRank: number;
  readonly reason: string;
  readonly at: Timestamp;
}

export interface WriteResult {
  readonly group: GroupId;
  readonly seq: number;
  readonly id: EventId;
  /** For `roles.create`: the new role's id. */
  readonly role?: RoleId;
}

export interface ChatEventPush {
  readonly group: GroupId;
  readonly item: TimelineItem;
}

export interface ReadPush {
  readonly group: GroupId;
  readonly user: UserId;
  readonly seq: number;
}

export interface TypingPush {
  readonly group: GroupId;
  readonly user: UserId;
}

/** A failed chat call: the node's error, a local `timeout`/`unavailable`, or `bad_response`. */
export type ChatError = ErrorBody;

// ---------------------------------------------------------------------------------------------
// Defensive decoding

class BadShape extends Error {}

type Path = string;

function mapOf(v: CborValue | undefined, path: Path): CborMap {
  if (!isTextMap(v)) throw new BadShape(`${path}: expected a map`);
  return v;
}

function req(m: CborMap, k: string, path: Path): CborValue {
  const v = field(m, k);
  if (v === undefined || v === null) throw new BadShape(`${path}.${k}: missing`);
  return v;
}

function opt(m: CborMap, k: string): CborValue | undefined {
  const v = field(m, k);
  return v === null ? undefined : v;
}

function asText(v: CborValue, path: Path): string {
  if (typeof v !== 'string') throw new BadShape(`${path}: expected text`);
  return v;
}

function asUint(v: CborValue, path: Path, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new BadShape(`${path}: expected an unsigned integer`);
  return v;
}

function asBool(v: CborValue, path: Path): boolean {
  if (typeof v !== 'boolean') throw new BadShape(`${path}: expected a boolean`);
  return v;
}

function asArray<T>(v: CborValue, path: Path, each: (x: CborValue, p: Path) => T): T[] {
  if (!Array.isArray(v)) throw new BadShape(`${path}: expected an array`);
  return v.map((x, i) => each(x, `${path}[${i}]`));
}

function asId<T>(parse: (s: string) => Result<T, unknown>, what: string) {
  return (v: CborValue, path: Path): T => {
    const r = parse(asText(v, path));
    if (!r.ok) throw new BadShape(`${path}: invalid ${what}`);
    return r.value;
  };
}

const asUser = asId(parseUserId, 'user id');
const asGroup = asId(parseGroupId, 'group id');
const asEventId = asId(parseEventId, 'event id');
const asHandle = asId(parseHandle, 'handle');
const asU32 = (v: CborValue, p: Path): number => asUint(v, p, EVERYONE_RANK);

function asEnum<T extends string>(values: readonly T[]) {
  return (v: CborValue, path: Path): T => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new BadShape(`${path}: expected one of ${values.join(', ')}`);
    return v as T;
  };
}

const asGroupKind = asEnum<GroupKind>(['direct', 'group']);
const asMediaKind = asEnum<MediaKind>(['image', 'audio', 'voice', 'video', 'file']);

function asBytes(v: CborValue, path: Path): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new BadShape(`${path}: expected a byte string`);
  return v;
}

/** A wire media id `{node, sha256}` → its text form `node/<hex>`. */
function asMedia(v: CborValue, path: Path): string {
  const m = mapOf(v, path);
  const node = parseNodeName(get(m, 'node', path, asText));
  if (!node.ok) throw new BadShape(`${path}.node: invalid node name`);
  const sha256 = get(m, 'sha256', path, asBytes);
  if (sha256.length !== 32) throw new BadShape(`${path}.sha256: expected 32 bytes`);
  return formatMediaId({ node: node.value, sha256 });
}

/** A media id in text form → the wire map; throws `BadShape` when it is not one. */
function mediaToWire(text: string, path: Path): CborMap {
  const id = parseMediaId(text);
  if (!id.ok) throw new BadShape(`${path}: invalid media id`);
  return { node: id.value.node, sha256: id.value.sha256 };
}

export function decodeAttachment(v: CborValue, path: Path = 'attachment'): Attachment {
  const m = mapOf(v, path);
  return compact({
    media: get(m, 'media', path, asMedia),
    kind: get(m, 'kind', path, asMediaKind),
    mime: get(m, 'mime', path, asText),
    size: get(m, 'size', path, asUint),
    name: getOpt(m, 'name', path, asText),
    width: getOpt(m, 'width', path, asU32),
    height: getOpt(m, 'height', path, asU32),
    durationMs: getOpt(m, 'duration_ms', path, asUint),
    blurhash: getOpt(m, 'blurhash', path, asText),
    waveform: getOpt(m, 'waveform', path, asBytes),
    poster: getOpt(m, 'poster', path, asMedia),
  });
}

/** Decodes the wire map of an attachment input (`msgs.post` params); throws `BadShape`. */
export function decodeAttachmentInput(v: CborValue, path: Path = 'attachment'): AttachmentInput {
  const m = mapOf(v, path);
  return compact({
    media: get(m, 'media', path, asMedia),
    name: getOpt(m, 'name', path, asText),
    voice: getOpt(m, 'voice', path, asBool) === true ? true : undefined,
    waveform: getOpt(m, 'waveform', path, asBytes),
    durationMs: getOpt(m, 'duration_ms', path, asUint),
    poster: getOpt(m, 'poster', path, asMedia),
  });
}

/** The wire map of an attachment input (keys in the CDDL's order); throws `BadShape` on a bad id. */
function attachmentInputToWire(a: AttachmentInput, path: Path): CborMap {
  const out: CborMap = { media: mediaToWire(a.media, `${path}.media`) };
  if (a.name !== undefined) out.name = a.name;
  if (a.voice === true) out.voice = true;
  if (a.waveform !== undefined) out.waveform = a.waveform;
  if (a.durationMs !== undefined) out.duration_ms = a.durationMs;
  if (a.poster !== undefined) out.poster = mediaToWire(a.poster, `${path}.poster`);
  return out;
}
const asVisibility = asEnum<Visibility>(['private', 'public']);
const asVia = asEnum<JoinVia>(['public', 'invite', 'link']);

/** Reads required `k` of `m` with `f`. */
function get<T>(m: CborMap, k: string, path: Path, f: (v: CborValue, p: Path) => T): T {
  return f(req(m, k, path), `${path}.${k}`);
}

/** Reads optional `k` of `m` with `f` (absent or null → undefined). */
function getOpt<T>(m: CborMap, k: string, path: Path, f: (v: CborValue, p: Path) => T): T | undefined {
  const v = opt(m, k);
  return v === undefined ? undefined : f(v, `${path}.${k}`);
}

/** Builds an object without `undefined` properties (exactOptionalPropertyTypes-friendly). */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function decodeRole(v: CborValue, path: Path): Role {
  const m = mapOf(v, path);
  return {
    id: get(m, 'id', path, asU32),
    name: get(m, 'name', path, asText),
    colour: getOpt(m, 'colour', path, asText) ?? '',
    permissions: get(m, 'permissions', path, asUint),
    rank: get(m, 'rank', path, asU32),
  };
}

/** Decodes an event body of `kind`; a body that does not fit gives `{kind: 'unknown'}`. */
export function decodeEventBody(kind: string, value: CborValue): EventBody {
  const raw = isTextMap(value) ? value : {};
  try {
    return decodeKnownBody(kind, mapOf(value, 'body'));
  } catch (e) {
    if (e instanceof BadShape) return { kind: 'unknown', raw };
    throw e;
  }
}

function decodeKnownBody(kind: string, m: CborMap): EventBody {
  const p = 'body';
  switch (kind) {
    case 'group.create':
      return compact({
        kind,
        groupKind: get(m, 'kind', p, asGroupKind),
        name: getOpt(m, 'name', p, asText) ?? '',
        description: getOpt(m, 'description', p, asText) ?? '',
        visibility: get(m, 'visibility', p, asVisibility),
        handle: getOpt(m, 'handle', p, asHandle),
        members: getOpt(m, 'members', p, (v, q) => asArray(v, q, asUser)) ?? [],
      });
    case 'group.update':
      return compact({
        kind,
        name: getOpt(m, 'name', p, asText),
        description: getOpt(m, 'description', p, asText),
        visibility: getOpt(m, 'visibility', p, asVisibility),
        handle: getOpt(m, 'handle', p, asHandle),
        // null (remove) is kept; absent stays absent
        photo: field(m, 'photo') === null ? null : getOpt(m, 'photo', p, asMedia),
      });
    case 'group.delete':
    case 'member.leave':
      return { kind };
    case 'member.invite':
    case 'member.unban':
    case 'owner.transfer':
      return { kind, user: get(m, 'user', p, asUser) };
    case 'member.join':
      return { kind, via: get(m, 'via', p, asVia) };
    case 'member.kick':
    case 'member.ban':
      return { kind, user: get(m, 'user', p, asUser), reason: getOpt(m, 'reason', p, asText) ?? '' };
    case 'member.roles':
      return { kind, user: get(m, 'user', p, asUser), roles: get(m, 'roles', p, (v, q) => asArray(v, q, asU32)) };
    case 'role.create':
      return {
        kind,
        role: get(m, 'role', p, asU32),
        name: get(m, 'name', p, asText),
        colour: getOpt(m, 'colour', p, asText) ?? '',
        permissions: get(m, 'permissions', p, asUint),
        rank: get(m, 'rank', p, asU32),
      };
    case 'role.update':
      return compact({
        kind,
        role: get(m, 'role', p, asU32),
        name: getOpt(m, 'name', p, asText),
        colour: getOpt(m, 'colour', p, asText),
        permissions: getOpt(m, 'permissions', p, asUint),
        rank: getOpt(m, 'rank', p, asU32),
      });
    case 'role.delete':
      return { kind, role: get(m, 'role', p, asU32) };
    case 'msg.post':
      return compact({
        kind,
        text: get(m, 'text', p, asText),
        replyTo: getOpt(m, 'reply_to', p, asUint),
        mentions: getOpt(m, 'mentions', p, (v, q) => asArray(v, q, asUser)) ?? [],
        mentionEveryone: getOpt(m, 'mention_everyone', p, asBool) ?? false,
        attachments: getOpt(m, 'attachments', p, (v, q) => asArray(v, q, decodeAttachment)) ?? [],
        forwarded: getOpt(m, 'forwarded', p, decodeForwarded),
      });
    case 'msg.edit':
      return { kind, seq: get(m, 'seq', p, asUint), text: get(m, 'text', p, asText) };
    case 'msg.delete':
      return { kind, seq: get(m, 'seq', p, asUint) };
    case 'msg.react':
      return { kind, seq: get(m, 'seq', p, asUint), emoji: get(m, 'emoji', p, asText), on: get(m, 'on', p, asBool) };
    case 'msg.pin':
      return { kind, seq: get(m, 'seq', p, asUint), on: get(m, 'on', p, asBool) };
    default:
      return { kind: 'unknown', raw: m };
  }
}

function decodeForwarded(v: CborValue, path: Path): Forwarded {
  const m = mapOf(v, path);
  return compact({ user: get(m, 'user', path, asUser), group: getOpt(m, 'group', path, asGroup), ts: get(m, 'ts', path, asUint) });
}

export function decodeChatSettings(v: CborValue, path: Path = 'result'): ChatSettings {
  const m = mapOf(v, path);
  return compact({ group: get(m, 'group', path, asGroup), mutedUntil: getOpt(m, 'muted_until', path, asUint), pinnedAt: getOpt(m, 'pinned_at', path, asUint) });
}

function decodeReaction(v: CborValue, path: Path): Reaction {
  const m = mapOf(v, path);
  return {
    emoji: get(m, 'emoji', path, asText),
    count: get(m, 'count', path, asUint),
    users: get(m, 'users', path, (x, p) => asArray(x, p, asUser)),
  };
}

export function decodeTimelineItem(v: CborValue, path: Path = 'item'): TimelineItem {
  const m = mapOf(v, path);
  const kind = get(m, 'kind', path, asText);
  const body = mapOf(req(m, 'body', path), `${path}.body`);
  return compact({
    seq: get(m, 'seq', path, asUint),
    id: get(m, 'id', path, asEventId),
    ts: get(m, 'ts', path, asUint),
    sender: get(m, 'sender', path, asUser),
    kind,
    body: decodeEventBody(kind, body),
    editedAt: getOpt(m, 'edited_at', path, asUint),
    deleted: getOpt(m, 'deleted', path, asBool) ?? false,
    pinned: getOpt(m, 'pinned', path, asBool) ?? false,
    reactions: getOpt(m, 'reactions', path, (x, p) => asArray(x, p, decodeReaction)) ?? [],
    moreReactions: getOpt(m, 'more_reactions', path, asBool),
  });
}

function decodeHistory(v: CborValue, path: Path = 'result'): HistoryResult {
  const m = mapOf(v, path);
  const items = get(m, 'items', path, (x, p) => asArray(x, p, decodeTimelineItem));
  items.sort((a, b) => a.seq - b.seq);
  return { items, moreBefore: get(m, 'more_before', path, asBool), moreAfter: get(m, 'more_after', path, asBool) };
}

export function decodeChatSummary(v: CborValue, path: Path = 'chat'): ChatSummary {
  const m = mapOf(v, path);
  return compact({
    group: get(m, 'group', path, asGroup),
    kind: get(m, 'kind', path, asGroupKind),
    name: get(m, 'name', path, asText),
    description: get(m, 'description', path, asText),
    visibility: get(m, 'visibility', path, asVisibility),
    handle: getOpt(m, 'handle', path, asHandle),
    owner: get(m, 'owner', path, asUser),
    peer: getOpt(m, 'peer', path, asUser),
    members: get(m, 'members', path, asUint),
    lastSeq: get(m, 'last_seq', path, asUint),
    last: getOpt(m, 'last', path, decodeTimelineItem),
    readSeq: get(m, 'read_seq', path, asUint),
    unread: get(m, 'unread', path, asUint),
    peerReadSeq: getOpt(m, 'peer_read_seq', path, asUint),
    myRank: get(m, 'my_rank', path, asU32),
    myPermissions: get(m, 'my_permissions', path, asUint),
    pinned: getOpt(m, 'pinned', path, (x, p) => asArray(x, p, asUint)) ?? [],
    photo: getOpt(m, 'photo', path, asMedia),
    mutedUntil: getOpt(m, 'muted_until', path, asUint),
    pinnedAt: getOpt(m, 'pinned_at', path, asUint),
  });
}

function decodeMember(v: CborValue, path: Path): MemberInfo {
  const m = mapOf(v, path);
  return compact({
    user: get(m, 'user', path, asUser),
    displayName: get(m, 'display_name', path, asText),
    roles: get(m, 'roles', path, (x, p) => asArray(x, p, asU32)),
    rank: get(m, 'rank', path, asU32),
    joinedAt: get(m, 'joined_at', path, asUint),
    readSeq: get(m, 'read_seq', path, asUint),
    avatar: getOpt(m, 'avatar', path, asMedia),
  });
}

export function decodeChatDetail(v: CborValue, path: Path = 'result'): ChatDetail {
  const m = mapOf(v, path);
  return {
    chat: get(m, 'chat', path, decodeChatSummary),
    members: get(m, 'members', path, (x, p) => asArray(x, p, decodeMember)),
    roles: get(m, 'roles', path, (x, p) => asArray(x, p, decodeRole)),
    invited: getOpt(m, 'invited', path, (x, p) => asArray(x, p, asUser)) ?? [],
    ...compact({
      membersNext: getOpt(m, 'members_next', path, asText),
      moreInvited: getOpt(m, 'more_invited', path, asBool),
    }),
  };
}

/** A page of a list reply: the list at `key` and the optional `next` cursor. */
function pageOf<T>(key: string, each: (v: CborValue, p: Path) => T) {
  return (v: CborValue): Page<T> => {
    const m = mapOf(v, 'result');
    const items = get(m, key, 'result', (x, p) => asArray(x, p, each));
    const next = getOpt(m, 'next', 'result', asText);
    return next === undefined ? { items } : { items, next };
  };
}

function decodeMsgSearchHit(v: CborValue, path: Path): MsgSearchHit {
  const m = mapOf(v, path);
  return { group: get(m, 'group', path, asGroup), seq: get(m, 'seq', path, asUint), ts: get(m, 'ts', path, asUint), sender: get(m, 'sender', path, asUser), snippet: get(m, 'snippet', path, asText) };
}

/** The most pages one SDK call follows (a bound, should a node keep giving cursors). */
const MAX_PAGES = 1000;

function decodeDirectoryEntry(v: CborValue, path: Path): DirectoryEntry {
  const m = mapOf(v, path);
  return compact({
    group: get(m, 'group', path, asGroup),
    handle: get(m, 'handle', path, asHandle),
    name: get(m, 'name', path, asText),
    description: get(m, 'description', path, asText),
    members: get(m, 'members', path, asUint),
    joined: get(m, 'joined', path, asBool),
    photo: getOpt(m, 'photo', path, asMedia),
  });
}

export function decodeInvite(v: CborValue, path: Path = 'invite'): InviteInfo {
  const m = mapOf(v, path);
  return { group: get(m, 'group', path, asGroup), name: get(m, 'name', path, asText), by: get(m, 'by', path, asUser), at: get(m, 'at', path, asUint) };
}

function decodeLink(v: CborValue, path: Path = 'result'): LinkInfo {
  const m = mapOf(v, path);
  return compact({
    code: get(m, 'code', path, asText),
    group: get(m, 'group', path, asGroup),
    createdBy: get(m, 'created_by', path, asUser),
    createdAt: get(m, 'created_at', path, asUint),
    expiresAt: getOpt(m, 'expires_at', path, asUint),
    maxUses: getOpt(m, 'max_uses', path, asU32),
    uses: get(m, 'uses', path, asU32),
    revoked: get(m, 'revoked', path, asBool),
  });
}

function decodeLinkPreview(v: CborValue, path: Path = 'result'): LinkPreview {
  const m = mapOf(v, path);
  return compact({
    group: get(m, 'group', path, asGroup),
    name: get(m, 'name', path, asText),
    description: get(m, 'description', path, asText),
    members: get(m, 'members', path, asUint),
    photo: getOpt(m, 'photo', path, asMedia),
  });
}

function decodeBan(v: CborValue, path: Path): BanInfo {
  const m = mapOf(v, path);
  return { user: get(m, 'user', path, asUser), by: get(m, 'by', path, asUser), byRank: get(m, 'by_rank', path, asU32), reason: getOpt(m, 'reason', path, asText) ?? '', at: get(m, 'at', path, asUint) };
}

function decodeWrite(v: CborValue, path: Path = 'result'): WriteResult {
  const m = mapOf(v, path);
  return compact({ group: get(m, 'group', path, asGroup), seq: get(m, 'seq', path, asUint), id: get(m, 'id', path, asEventId), role: getOpt(m, 'role', path, asU32) });
}

/** `event-result`: the signed event (a COSE_Sign1), byte for byte as the home node stores it. */
function decodeEventResult(v: CborValue): Uint8Array {
  return get(mapOf(v, 'result'), 'event', 'result', asBytes);
}

function listOf<T>(key: string, each: (v: CborValue, p: Path) => T) {
  return (v: CborValue): T[] => get(mapOf(v, 'result'), key, 'result', (x, p) => asArray(x, p, each));
}

const decodeEmpty = (v: CborValue): void => {
  mapOf(v, 'result');
};

export function decodeChatEventPush(v: CborValue): ChatEventPush {
  const m = mapOf(v, 'data');
  return { group: get(m, 'group', 'data', asGroup), item: get(m, 'item', 'data', decodeTimelineItem) };
}

export function decodeReadPush(v: CborValue): ReadPush {
  const m = mapOf(v, 'data');
  return { group: get(m, 'group', 'data', asGroup), user: get(m, 'user', 'data', asUser), seq: get(m, 'seq', 'data', asUint) };
}

export function decodeTypingPush(v: CborValue): TypingPush {
  const m = mapOf(v, 'data');
  return { group: get(m, 'group', 'data', asGroup), user: get(m, 'user', 'data', asUser) };
}

/** Runs a decoder, turning a shape failure into `bad_response`. */
export function decodeResult<T>(value: CborValue, decoder: (v: CborValue) => T, method: string): Result<T, ChatError> {
  try {
    return ok(decoder(value));
  } catch (e) {
    if (e instanceof BadShape) return err({ code: 'bad_response', message: `Unexpected ${method} reply: ${e.message}` });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers for the UI

/** The user a moderation/membership event is about, if any. */
export function eventTarget(body: EventBody): UserId | undefined {
  switch (body.kind) {
    case 'member.invite':
    case 'member.kick':
    case 'member.ban':
    case 'member.unban':
    case 'member.roles':
    case 'owner.transfer':
      return body.user;
    default:
      return undefined;
  }
}

/** True for the kinds that change a message rather than add a timeline row. */
export function isMessageChange(kind: string): kind is 'msg.edit' | 'msg.delete' | 'msg.react' | 'msg.pin' {
  return kind === 'msg.edit' || kind === 'msg.delete' || kind === 'msg.react' || kind === 'msg.pin';
}

/** True when `item` takes `me` out of the chat (or ends the chat). */
export function removesUser(item: TimelineItem, me: string): 'kicked' | 'banned' | 'left' | 'deleted' | null {
  const b = item.body;
  if (b.kind === 'group.delete') return 'deleted';
  if (b.kind === 'member.kick' && b.user === me) return 'kicked';
  if (b.kind === 'member.ban' && b.user === me) return 'banned';
  if (b.kind === 'member.leave' && item.sender === me) return 'left';
  return null;
}

/** A fresh transaction id. */
export function newTxn(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

// ---------------------------------------------------------------------------------------------
// The client

/** The part of `Gateway` the chat client needs (tests pass a fake). */
export interface ChatTransport {
  readonly state: ConnectionState;
  request(method: string, params?: CborMap, timeoutMs?: number): Promise<Result<CborValue, GatewayError>>;
  on(event: 'push', handler: (frame: PushFrame) => void): () => void;
  on(event: 'resync', handler: (ready: Ready) => void): () => void;
  on(event: 'ready', handler: (ready: Ready) => void): () => void;
}

export interface ChatEvents {
  /** `chat.event`. */
  event: ChatEventPush;
  /** `chat.read`. */
  read: ReadPush;
  /** `chat.typing`. */
  typing: TypingPush;
  /** `invite`. */
  invite: InviteInfo;
  /** `chat.settings`: my mute or pin of a chat changed (on any of my sessions). */
  settings: ChatSettings;
  /** The gateway could not resume: reload what is shown. */
  resync: Ready;
  /** A push of a chat event that failed validation (dropped). */
  badPush: { readonly event: string; readonly message: string };
}

export interface ChatClientOptions {
  /** Transaction ids (default `crypto.randomUUID`). */
  readonly newTxn?: () => string;
  /** How many times a call is sent in all when the connection drops (default 4). */
  readonly maxAttempts?: number;
  /** Pause before a retry (ms), default 300. */
  readonly retryDelayMs?: number;
}

export interface PostOptions {
  readonly replyTo?: number;
  readonly mentions?: readonly UserId[];
  readonly mentionEveryone?: boolean;
  /** Up to `MAX_ATTACHMENTS` uploaded media; with any, `text` is the caption and may be empty. */
  readonly attachments?: readonly AttachmentInput[];
}

/** The optional `msgs.post` params (the contract's name for `PostOptions`). */
export type PostParams = PostOptions;

export interface GroupChanges {
  readonly name?: string;
  readonly description?: string;
  readonly visibility?: Visibility;
  /** The handle's local part (`rustaceans`). */
  readonly handle?: string;
  /** A media id (text form, an image the caller uploaded) to set, or null to remove the photo. */
  readonly photo?: string | null;
}

export interface RoleInput {
  readonly name: string;
  readonly colour?: string;
  readonly permissions: PermissionSet;
  readonly rank?: number;
}

export interface RoleChanges {
  readonly name?: string;
  readonly colour?: string;
  readonly permissions?: PermissionSet;
  readonly rank?: number;
}

export interface HistoryQuery {
  readonly before?: number;
  readonly after?: number;
  readonly around?: number;
  readonly limit?: number;
}

type Retry = 'retry' | 'once';

const RETRYABLE = new Set(['unavailable', 'timeout']);

/** The typed chat API over a gateway. */
export class ChatClient {
  readonly #t: ChatTransport;
  readonly #newTxn: () => string;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;
  readonly #handlers = new Map<keyof ChatEvents, Set<(v: never) => void>>();

  constructor(transport: ChatTransport, options: ChatClientOptions = {}) {
    this.#t = transport;
    this.#newTxn = options.newTxn ?? newTxn;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.#retryDelayMs = options.retryDelayMs ?? 300;
    transport.on('push', (frame) => this.#onPush(frame));
    transport.on('resync', (ready) => this.#emit('resync', ready));
  }

  on<K extends keyof ChatEvents>(event: K, handler: (value: ChatEvents[K]) => void): () => void {
    let set = this.#handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    const h = handler as (v: never) => void;
    set.add(h);
    return () => set.delete(h);
  }

  #emit<K extends keyof ChatEvents>(event: K, value: ChatEvents[K]): void {
    for (const h of [...(this.#handlers.get(event) ?? [])]) (h as (v: ChatEvents[K]) => void)(value);
  }

  #onPush(frame: PushFrame): void {
    const decoders: Record<string, [keyof ChatEvents, (v: CborValue) => unknown]> = {
      [CHAT_PUSH.event]: ['event', decodeChatEventPush],
      [CHAT_PUSH.read]: ['read', decodeReadPush],
      [CHAT_PUSH.typing]: ['typing', decodeTypingPush],
      [CHAT_PUSH.invite]: ['invite', decodeInvite],
      [CHAT_PUSH.settings]: ['settings', (v) => decodeChatSettings(v, 'data')],
    };
    const entry = decoders[frame.event];
    if (entry === undefined) return;
    const [name, decoder] = entry;
    const r = decodeResult(frame.data, decoder, frame.event);
    if (!r.ok) {
      this.#emit('badPush', { event: frame.event, message: r.error.message });
      return;
    }
    this.#emit(name, r.value as never);
  }

  /** Sends `method`, retrying after a lost connection when `retry`, and decodes the reply. */
  async #call<T>(method: string, params: CborMap, decoder: (v: CborValue) => T, retry: Retry = 'retry'): Promise<Result<T, ChatError>> {
    const attempts = retry === 'retry' ? this.#maxAttempts : 1;
    let last: ChatError = { code: 'unavailable', message: 'Not sent.' };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const reply = await this.#t.request(method, params);
      if (reply.ok) return decodeResult(reply.value, decoder, method);
      last = reply.error;
      const retryable = RETRYABLE.has(reply.error.code) && this.#t.state !== 'offline';
      if (!retryable || attempt === attempts) break;
      if (this.#retryDelayMs > 0) await new Promise((r) => setTimeout(r, this.#retryDelayMs));
    }
    return err(last);
  }

  /** A logged write: `txn` first, retried with the same txn. */
  #write<T>(method: string, params: CborMap, decoder: (v: CborValue) => T, txn?: string): Promise<Result<T, ChatError>> {
    return this.#call(method, { txn: txn ?? this.#newTxn(), ...params }, decoder);
  }

  // --- chats ---------------------------------------------------------------------------------

  /**
   * Every entry of a paged list (gateway.md §8.8): calls `method` with `params`, then again with
   * `after` = the reply's `next`, until a reply has none (or `max` entries were collected).
   */
  async #allPages<T>(method: string, params: CborMap, decoder: (v: CborValue) => Page<T>, max = Infinity): Promise<Result<T[], ChatError>> {
    const out: T[] = [];
    let after: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const page = await this.#call(method, after === undefined ? params : { ...params, after }, decoder);
      if (!page.ok) return page;
      out.push(...page.value.items);
      after = page.value.next;
      if (after === undefined || page.value.items.length === 0 || out.length >= max) break;
    }
    return ok(out.length > max ? out.slice(0, max) : out);
  }

  /** Every chat of the caller, most recent activity first (all pages of `chats.list`). */
  listChats(): Promise<Result<ChatSummary[], ChatError>> {
    return this.#allPages(CHAT_METHOD.chatsList, {}, pageOf('chats', decodeChatSummary));
  }

  /** `chats.get`: the chat with the first page of its members (`membersNext` continues). */
  getChat(group: GroupId): Promise<Result<ChatDetail, ChatError>> {
    return this.#call(CHAT_METHOD.chatsGet, { group }, decodeChatDetail);
  }

  /** One page of `members.list`: the members after `after` (a `membersNext` or `next`). */
  listMembers(group: GroupId, after?: string, limit?: number): Promise<Result<Page<MemberInfo>, ChatError>> {
    const params: CborMap = { group };
    if (after !== undefined) params.after = after;
    if (limit !== undefined) params.limit = limit;
    return this.#call(CHAT_METHOD.membersList, params, pageOf('members', decodeMember));
  }

  /** The direct chat with `user`, created on first use (idempotent). */
  openDm(user: UserId): Promise<Result<ChatSummary, ChatError>> {
    return this.#call(CHAT_METHOD.dmOpen, { user }, (v) => decodeChatSummary(v, 'result'));
  }

  // --- groups --------------------------------------------------------------------------------

  createGroup(input: { name: string; description?: string; visibility: Visibility; handle?: string }, txn?: string): Promise<Result<ChatSummary, ChatError>> {
    const params: CborMap = { name: input.name, description: input.description ?? '', visibility: input.visibility };
    if (input.handle !== undefined && input.handle !== '') params.handle = input.handle;
    return this.#write(CHAT_METHOD.groupsCreate, params, (v) => decodeChatSummary(v, 'result'), txn);
  }

  updateGroup(group: GroupId, changes: GroupChanges, txn?: string): Promise<Result<WriteResult, ChatError>> {
    const params: CborMap = { group };
    if (changes.name !== undefined) params.name = changes.name;
    if (changes.description !== undefined) params.description = changes.description;
    if (changes.visibility !== undefined) params.visibility = changes.visibility;
    if (changes.handle !== undefined) params.handle = changes.handle;
    if (changes.photo !== undefined) {
      const photo = changes.photo === null ? null : mediaIdToWire(changes.photo);
      if (photo === undefined) return Promise.resolve(err({ code: 'bad_request', message: 'photo: invalid media id' }));
      params.photo = photo;
    }
    return this.#write(CHAT_METHOD.groupsUpdate, params, decodeWrite, txn);
  }

  deleteGroup(group: GroupId, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.groupsDelete, { group }, decodeWrite, txn);
  }

  transferOwnership(group: GroupId, user: UserId, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.groupsTransfer, { group, user }, decodeWrite, txn);
  }

  directory(query: string, limit?: number): Promise<Result<DirectoryEntry[], ChatError>> {
    const params: CborMap = { query };
    if (limit !== undefined) params.limit = limit;
    return this.#allPages(CHAT_METHOD.groupsDirectory, params, pageOf('groups', decodeDirectoryEntry), limit);
  }

  /** Joins a public group by id or by handle (`#name:node`). */
  join(target: { group: GroupId } | { handle: Handle }, txn?: string): Promise<Result<ChatSummary, ChatError>> {
    const params: CborMap = 'group' in target ? { group: target.group } : { handle: target.handle };
    return this.#write(CHAT_METHOD.groupsJoin, params, (v) => decodeChatSummary(v, 'result'), txn);
  }

  leave(group: GroupId, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.groupsLeave, { group }, decodeWrite, txn);
  }

  // --- invites and links ---------------------------------------------------------------------

  invite(group: GroupId, user: UserId, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.invitesSend, { group, user }, decodeWrite, txn);
  }

  listInvites(): Promise<Result<InviteInfo[], ChatError>> {
    return this.#allPages(CHAT_METHOD.invitesList, {}, pageOf('invites', decodeInvite));
  }

  acceptInvite(group: GroupId, txn?: string): Promise<Result<ChatSummary, ChatError>> {
    return this.#write(CHAT_METHOD.invitesAccept, { group }, (v) => decodeChatSummary(v, 'result'), txn);
  }

  declineInvite(group: GroupId, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.invitesDecline, { group }, decodeWrite, txn);
  }

  /** Not retried automatically: the method has no txn, a retry could make two links. */
  createLink(group: GroupId, options: { expiresIn?: number; maxUses?: number } = {}): Promise<Result<LinkInfo, ChatError>> {
    const params: CborMap = { group };
    if (options.expiresIn !== undefined) params.expires_in = options.expiresIn;
    if (options.maxUses !== undefined) params.max_uses = options.maxUses;
    return this.#call(CHAT_METHOD.linksCreate, params, (v) => decodeLink(v), 'once');
  }

  listLinks(group: GroupId): Promise<Result<LinkInfo[], ChatError>> {
    return this.#allPages(CHAT_METHOD.linksList, { group }, pageOf('links', (v, p) => decodeLink(v, p)));
  }

  revokeLink(group: GroupId, code: string): Promise<Result<void, ChatError>> {
    return this.#call(CHAT_METHOD.linksRevoke, { group, code }, decodeEmpty);
  }

  /**
   * What an invite link leads to. `node`: the node whose link it is (the host of its address
   * `https://<node>/join/<code>`); absent: this node's. This node asks the other one
   * (`unavailable` when it cannot be reached).
   */
  previewLink(code: string, node?: NodeName): Promise<Result<LinkPreview, ChatError>> {
    const params: CborMap = { code };
    if (node !== undefined) params.node = node;
    return this.#call(CHAT_METHOD.linksPreview, params, (v) => decodeLinkPreview(v));
  }

  /** Joins by an invite link; `node` as for previewLink (the link is redeemed at that node). */
  redeemLink(code: string, txn?: string, node?: NodeName): Promise<Result<ChatSummary, ChatError>> {
    const params: CborMap = { code };
    if (node !== undefined) params.node = node;
    return this.#write(CHAT_METHOD.linksRedeem, params, (v) => decodeChatSummary(v, 'result'), txn);
  }

  // --- members, bans, roles ------------------------------------------------------------------

  kick(group: GroupId, user: UserId, reason = '', txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.membersKick, { group, user, reason }, decodeWrite, txn);
  }

  ban(group: GroupId, user: UserId, reason = '', txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.membersBan, { group, user, reason }, decodeWrite, txn);
  }

  unban(group: GroupId, user: UserId, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.membersUnban, { group, user }, decodeWrite, txn);
  }

  setRoles(group: GroupId, user: UserId, roles: readonly RoleId[], txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.membersRoles, { group, user, roles: [...roles] }, decodeWrite, txn);
  }

  listBans(group: GroupId): Promise<Result<BanInfo[], ChatError>> {
    return this.#allPages(CHAT_METHOD.bansList, { group }, pageOf('bans', decodeBan));
  }

  createRole(group: GroupId, role: RoleInput, txn?: string): Promise<Result<WriteResult, ChatError>> {
    const params: CborMap = { group, name: role.name, colour: role.colour ?? '', permissions: role.permissions };
    if (role.rank !== undefined) params.rank = role.rank;
    return this.#write(CHAT_METHOD.rolesCreate, params, decodeWrite, txn);
  }

  updateRole(group: GroupId, role: RoleId, changes: RoleChanges, txn?: string): Promise<Result<WriteResult, ChatError>> {
    const params: CborMap = { group, role };
    if (changes.name !== undefined) params.name = changes.name;
    if (changes.colour !== undefined) params.colour = changes.colour;
    if (changes.permissions !== undefined) params.permissions = changes.permissions;
    if (changes.rank !== undefined) params.rank = changes.rank;
    return this.#write(CHAT_METHOD.rolesUpdate, params, decodeWrite, txn);
  }

  deleteRole(group: GroupId, role: RoleId, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.rolesDelete, { group, role }, decodeWrite, txn);
  }

  // --- messages ------------------------------------------------------------------------------

  post(group: GroupId, text: string, options: PostOptions = {}, txn?: string): Promise<Result<WriteResult, ChatError>> {
    const params: CborMap = { group, text };
    if (options.replyTo !== undefined) params.reply_to = options.replyTo;
    if (options.mentions && options.mentions.length > 0) params.mentions = [...options.mentions];
    if (options.mentionEveryone) params.mention_everyone = true;
    if (options.attachments && options.attachments.length > 0) {
      try {
        params.attachments = options.attachments.map((a, i) => attachmentInputToWire(a, `attachments[${i}]`));
      } catch (e) {
        if (e instanceof BadShape) return Promise.resolve(err({ code: 'bad_request', message: e.message }));
        throw e;
      }
    }
    return this.#write(CHAT_METHOD.msgsPost, params, decodeWrite, txn);
  }

  edit(group: GroupId, seq: number, text: string, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.msgsEdit, { group, seq, text }, decodeWrite, txn);
  }

  deleteMessage(group: GroupId, seq: number, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.msgsDelete, { group, seq }, decodeWrite, txn);
  }

  react(group: GroupId, seq: number, emoji: string, on: boolean, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.msgsReact, { group, seq, emoji, on }, decodeWrite, txn);
  }

  pin(group: GroupId, seq: number, on: boolean, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.msgsPin, { group, seq, on }, decodeWrite, txn);
  }

  /** `msgs.forward`: posts message `seq` of chat `from` again in `group`; the node writes where it came from. */
  forward(group: GroupId, from: GroupId, seq: number, txn?: string): Promise<Result<WriteResult, ChatError>> {
    return this.#write(CHAT_METHOD.msgsForward, { group, from: { group: from, seq } }, decodeWrite, txn);
  }

  /** `chats.settings`: my mute (`mutedUntil`: a future time, `MUTED_FOREVER`, or null to unmute) and pin of a chat. */
  chatSettings(group: GroupId, changes: { readonly mutedUntil?: number | null; readonly pinned?: boolean }): Promise<Result<ChatSettings, ChatError>> {
    const params: CborMap = { group };
    if (changes.mutedUntil !== undefined) params.muted_until = changes.mutedUntil;
    if (changes.pinned !== undefined) params.pinned = changes.pinned;
    return this.#call(CHAT_METHOD.chatsSettings, params, (v) => decodeChatSettings(v));
  }

  /** With no query: the newest items. Items come in ascending seq. */
  history(group: GroupId, query: HistoryQuery = {}): Promise<Result<HistoryResult, ChatError>> {
    const params: CborMap = { group };
    if (query.before !== undefined) params.before = query.before;
    if (query.after !== undefined) params.after = query.after;
    if (query.around !== undefined) params.around = query.around;
    if (query.limit !== undefined) params.limit = query.limit;
    return this.#call(CHAT_METHOD.msgsHistory, params, (v) => decodeHistory(v));
  }

  /**
   * One page of `msgs.search`: messages whose current text has every word of `query` as a word
   * start, newest first, in every chat of the caller or only `group`; `after` = a page's `next`.
   */
  searchMessages(query: string, options: { group?: GroupId; after?: string; limit?: number } = {}): Promise<Result<Page<MsgSearchHit>, ChatError>> {
    const params: CborMap = { query };
    if (options.group !== undefined) params.group = options.group;
    if (options.after !== undefined) params.after = options.after;
    if (options.limit !== undefined) params.limit = options.limit;
    return this.#call(CHAT_METHOD.msgsSearch, params, pageOf('results', decodeMsgSearchHit));
  }

  /** Moves the caller's read position (never back). */
  markRead(group: GroupId, seq: number): Promise<Result<void, ChatError>> {
    return this.#call(CHAT_METHOD.msgsRead, { group, seq }, decodeEmpty);
  }

  seenBy(group: GroupId, seq: number): Promise<Result<UserId[], ChatError>> {
    return this.#allPages(CHAT_METHOD.msgsSeenBy, { group, seq }, pageOf('users', asUser));
  }

  /**
   * `msgs.event`: the signed bytes (COSE_Sign1) of event `seq`, to verify with the home node's
   * key from its node document (spec/gateway.md §8.5). `not_found` also for a withheld event (a
   * deleted message's post and edits, a moderator's deletion without view_audit_log): a known
   * gap in the `prev` chain, not a fork.
   */
  signedEvent(group: GroupId, seq: number): Promise<Result<Uint8Array, ChatError>> {
    return this.#call(CHAT_METHOD.msgsEvent, { group, seq }, decodeEventResult);
  }

  /** Tells the other members the caller is typing (fire and forget; not retried). */
  typing(group: GroupId): Promise<Result<void, ChatError>> {
    return this.#call(CHAT_METHOD.msgsTyping, { group }, decodeEmpty, 'once');
  }

  // --- media and profile ---------------------------------------------------------------------

  /** `media.urls`: signed paths for media the caller may see (see `getMediaUrls`). */
  mediaUrls(items: readonly MediaUrlRequest[]): Promise<Result<MediaUrls, ChatError>> {
    return getMediaUrls(this.#t, items);
  }

  /** `profile.update` (display name, bio, avatar: a media id to set or null to remove). */
  updateProfile(changes: ProfileChanges): Promise<Result<Profile, ChatError>> {
    return updateProfile(this.#t, changes);
  }

  /** Admin events, ascending seq. */
  audit(group: GroupId, query: { before?: number; limit?: number } = {}): Promise<Result<HistoryResult, ChatError>> {
    const params: CborMap = { group };
    if (query.before !== undefined) params.before = query.before;
    if (query.limit !== undefined) params.limit = query.limit;
    return this.#call(CHAT_METHOD.auditList, params, (v) => decodeHistory(v));
  }
}

/**
 * The decoder of each result and push map, by its CDDL rule name (spec/cddl, section chat);
 * each throws on a map of the wrong shape. Used by the spec-vector tests.
 */
export const CHAT_RESULT_DECODERS: Readonly<Record<string, (v: CborValue) => unknown>> = {
  'chat-summary': (v) => decodeChatSummary(v),
  'chat-list': listOf('chats', decodeChatSummary),
  'chat-detail': (v) => decodeChatDetail(v),
  'member-info': (v) => decodeMember(v, 'result'),
  'role-info': (v) => decodeRole(v, 'result'),
  'timeline-item': (v) => decodeTimelineItem(v),
  'history-result': (v) => decodeHistory(v),
  reaction: (v) => decodeReaction(v, 'result'),
  'directory-entry': (v) => decodeDirectoryEntry(v, 'result'),
  'directory-result': listOf('groups', decodeDirectoryEntry),
  'invite-info': (v) => decodeInvite(v),
  'invite-list': listOf('invites', decodeInvite),
  'link-info': (v) => decodeLink(v),
  'link-list': listOf('links', (v, p) => decodeLink(v, p)),
  'link-preview': (v) => decodeLinkPreview(v),
  'ban-info': (v) => decodeBan(v, 'result'),
  'ban-list': listOf('bans', decodeBan),
  'seen-by': listOf('users', asUser),
  'event-result': decodeEventResult,
  'member-list': listOf('members', decodeMember),
  'write-result': (v) => decodeWrite(v),
  'chat-event-data': (v) => decodeChatEventPush(v),
  'chat-read-data': (v) => decodeReadPush(v),
  'chat-typing-data': (v) => decodeTypingPush(v),
  'msg-search-hit': (v) => decodeMsgSearchHit(v, 'result'),
  'msg-search-result': pageOf('results', decodeMsgSearchHit),
  'chat-settings': (v) => decodeChatSettings(v),
};

/** A media id in text form as its wire map, or undefined when it is not one. */
export function mediaIdToWire(text: string): CborMap | undefined {
  const id = parseMediaId(text);
  return id.ok ? { node: id.value.node, sha256: id.value.sha256 } : undefined;
}

/** The wire params of an attachment input (for tests and tools); throws on a bad media id. */
export function encodeAttachmentInput(a: AttachmentInput): CborMap {
  return attachmentInputToWire(a, 'attachment');
}

/** True when `e` is a shape failure of the chat decoders. */
export function isBadShape(e: unknown): boolean {
  return e instanceof BadShape;
}
