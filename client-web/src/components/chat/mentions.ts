/**
 * Mentions in message text: `@name` (a member's user name, i.e. the local part of `@name:node`),
 * `@name:node` (the full id, used when two members share a user name) and `@everyone`.
 * Pure functions (unit-tested): finding the mention being typed, suggestions, insertion, the
 * `mentions` / `mention_everyone` params of `msgs.post` parsed from the final text, and the
 * segments the timeline highlights.
 */
import { MAX_MENTIONS, type TimelineItem, type UserId } from '@/protocol';

/** The word after `@` that means everyone. */
export const EVERYONE_WORD = 'everyone';

/** A member that can be suggested. */
export interface MentionCandidate {
  readonly user: UserId;
  /** May be empty. */
  readonly displayName: string;
}

export type MentionSuggestion =
  | { readonly kind: 'user'; readonly user: UserId; readonly displayName: string; readonly insert: string }
  | { readonly kind: 'everyone'; readonly insert: string };

/** The `@…` being typed at the caret: `text.slice(start, end)` is replaced on a pick. */
export interface MentionQuery {
  /** Index of the `@`. */
  readonly start: number;
  /** End of the word (the caret, or further when the caret is inside the word). */
  readonly end: number;
  /** What follows the `@` up to the caret. */
  readonly query: string;
}

export type MentionSegment =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'user'; readonly text: string; readonly user: UserId }
  | { readonly kind: 'everyone'; readonly text: string };

/** Characters of a mention word: user names (`a-z 0-9 _ . -`) and node names (`:`, `[`, `]`). */
const WORD_CHAR = /[a-z0-9_.\-:[\]]/i;
/** A character before `@` that is part of a word (then the `@` is not a mention: `a@b`). */
const GLUED_BEFORE = /[\p{L}\p{N}_.\-@]/u;
/** The mention word after an `@`: a user name, optionally `:node` (DNS, IPv4 or [IPv6], optional port). */
const TOKEN = /[a-z0-9_.-]+(?::(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?)?/iy;

/** The user name of a user id (`@ana:node` → `ana`). */
export function localpart(user: string): string {
  const s = user.startsWith('@') ? user.slice(1) : user;
  const i = s.indexOf(':');
  return i < 0 ? s : s.slice(0, i);
}

/** The text inserted for `user`: `@name`, or the full id when `name` is ambiguous among `members` (or is "everyone"). */
export function mentionText(user: UserId, members: readonly UserId[]): string {
  const name = localpart(user);
  const clash = name.toLowerCase() === EVERYONE_WORD || members.some((m) => m !== user && localpart(m).toLowerCase() === name.toLowerCase());
  return clash ? user : `@${name}`;
}

/** The mention being typed at `caret`, or null. */
export function activeMention(text: string, caret: number): MentionQuery | null {
  let i = caret - 1;
  while (i >= 0 && WORD_CHAR.test(text.charAt(i))) i--;
  if (i < 0 || text.charAt(i) !== '@') return null;
  if (i > 0 && GLUED_BEFORE.test(text.charAt(i - 1))) return null;
  let end = caret;
  while (end < text.length && WORD_CHAR.test(text.charAt(end))) end++;
  return { start: i, end, query: text.slice(i + 1, caret) };
}

/**
 * The suggestions for `query`: members whose user name or display name (any word of it) starts
 * with the query first, then those that contain it; `@everyone` first when allowed and matching.
 * `me` is left out.
 */
export function suggestMentions(
  query: string,
  members: readonly MentionCandidate[],
  opts: { everyone: boolean; me?: string | null; limit?: number } = { everyone: false },
): MentionSuggestion[] {
  const q = query.toLowerCase();
  const ids = members.map((m) => m.user);
  const scored: { s: MentionSuggestion; score: number; sort: string }[] = [];
  for (const m of members) {
    if (m.user === opts.me) continue;
    const name = localpart(m.user).toLowerCase();
    const display = m.displayName.toLowerCase();
    const full = m.user.slice(1).toLowerCase();
    let score: number;
    if (q === '' || name.startsWith(q) || full.startsWith(q)) score = 0;
    else if (display.startsWith(q) || display.split(/\s+/).some((w) => w.startsWith(q))) score = 1;
    else if (name.includes(q) || display.includes(q)) score = 2;
    else continue;
    scored.push({ s: { kind: 'user', user: m.user, displayName: m.displayName, insert: mentionText(m.user, ids) }, score, sort: (m.displayName || name).toLowerCase() });
  }
  scored.sort((a, b) => a.score - b.score || a.sort.localeCompare(b.sort));
  const out: MentionSuggestion[] = scored.map((x) => x.s);
  if (opts.everyone && EVERYONE_WORD.startsWith(q)) out.unshift({ kind: 'everyone', insert: `@${EVERYONE_WORD}` });
  return out.slice(0, opts.limit ?? 8);
}

/** Replaces the mention being typed by `insert` and a space; returns the new text and caret. */
export function applyMention(text: string, at: Pick<MentionQuery, 'start' | 'end'>, insert: string): { text: string; caret: number } {
  const after = text.slice(at.end);
  const spaced = after.startsWith(' ') ? insert : `${insert} `;
  const out = text.slice(0, at.start) + spaced + after;
  return { text: out, caret: at.start + spaced.length + (after.startsWith(' ') ? 1 : 0) };
}

type Resolved = { kind: 'user'; user: UserId; length: number } | { kind: 'everyone'; length: number };

/** The mention right after the `@` at `at` (`text[at] === '@'`), resolved against `users`, or null. */
function resolveAt(text: string, at: number, users: readonly UserId[]): Resolved | null {
  if (at > 0 && GLUED_BEFORE.test(text.charAt(at - 1))) return null;
  TOKEN.lastIndex = at + 1;
  const m = TOKEN.exec(text);
  if (m === null) return null;
  const token = m[0];
  const colon = token.indexOf(':');
  const name = colon < 0 ? token : token.slice(0, colon);
  // Longest first: the full id, then the name alone; trailing '.'/'-' may be punctuation.
  const candidates = [token, token.replace(/[.-]+$/, ''), name, name.replace(/[.-]+$/, '')];
  for (const c of new Set(candidates)) {
    if (c === '') continue;
    // What follows must not continue a user name (`@anabel` is not `@ana`).
    const next = text.charAt(at + 1 + c.length);
    if (/[a-z0-9_]/i.test(next)) continue;
    const lower = c.toLowerCase();
    if (c.includes(':')) {
      const user = users.find((u) => u.toLowerCase() === `@${lower}`);
      if (user !== undefined) return { kind: 'user', user, length: c.length + 1 };
      continue;
    }
    if (lower === EVERYONE_WORD) return { kind: 'everyone', length: c.length + 1 };
    const found = users.filter((u) => localpart(u).toLowerCase() === lower);
    if (found.length === 1) return { kind: 'user', user: found[0] as UserId, length: c.length + 1 };
  }
  return null;
}

/**
 * The mention starting at the `@` at `at`, resolved against `users` (and `@everyone` when
 * `everyone`): its kind, user and length in `text`, or null when it is not one.
 */
export function mentionAt(text: string, at: number, users: readonly UserId[], everyone: boolean): MentionSegment | null {
  if (text.charAt(at) !== '@') return null;
  const r = resolveAt(text, at, users);
  if (r === null || (r.kind === 'everyone' && !everyone)) return null;
  const t = text.slice(at, at + r.length);
  return r.kind === 'user' ? { kind: 'user', text: t, user: r.user } : { kind: 'everyone', text: t };
}

/** The text split into plain runs and mentions of `users` (and `@everyone` when `everyone`). */
export function mentionSegments(text: string, users: readonly UserId[], everyone: boolean): MentionSegment[] {
  const out: MentionSegment[] = [];
  let plain = 0;
  for (let i = text.indexOf('@'); i >= 0; i = text.indexOf('@', i + 1)) {
    const r = resolveAt(text, i, users);
    if (r === null || (r.kind === 'everyone' && !everyone)) continue;
    if (i > plain) out.push({ kind: 'text', text: text.slice(plain, i) });
    const t = text.slice(i, i + r.length);
    out.push(r.kind === 'user' ? { kind: 'user', text: t, user: r.user } : { kind: 'everyone', text: t });
    plain = i + r.length;
    i = plain - 1;
  }
  if (plain < text.length) out.push({ kind: 'text', text: text.slice(plain) });
  return out;
}

/** The mentions left in the final text: members' ids (each once, at most `MAX_MENTIONS`) and whether `@everyone` is there. */
export function parseMentions(text: string, members: readonly UserId[]): { mentions: UserId[]; everyone: boolean } {
  const mentions: UserId[] = [];
  let everyone = false;
  for (const s of mentionSegments(text, members, true)) {
    if (s.kind === 'everyone') everyone = true;
    else if (s.kind === 'user' && !mentions.includes(s.user) && mentions.length < MAX_MENTIONS) mentions.push(s.user);
  }
  return { mentions, everyone };
}

/** True when `item` is a live message from someone else that mentions `me` or @everyone. */
export function mentionsMe(item: TimelineItem, me: string | null): boolean {
  if (me === null || item.deleted || item.sender === me || item.body.kind !== 'msg.post') return false;
  return item.body.mentionEveryone || item.body.mentions.includes(me as UserId);
}
