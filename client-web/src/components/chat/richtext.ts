/**
 * The formatting people write in messages, parsed into a tree the timeline renders as DOM nodes
 * (never as HTML: every string here ends up in a text node or an attribute the renderer sets).
 *
 * The subset, as in the chat apps people know:
 * - ```` ```lang⏎code⏎``` ```` a code block (the language is optional), `` `code` `` inline code:
 *   nothing inside either is formatted;
 * - `**bold**`, `*italic*` or `_italic_`, `~~strikethrough~~`, `||spoiler||` (nestable, not inside
 *   themselves); a mark opens only before a non-space and closes only after one, and `_` only at
 *   a word's edge, so `snake_case_name` and `2 * 3 * 4` stay as typed;
 * - links: `http://`, `https://` and `mailto:` addresses in the text (no other scheme is ever a
 *   link: `javascript:…` stays text), without the punctuation that usually follows one;
 * - mentions of the members the message names (mentions.ts), and emoji (drawn with the bundled
 *   emoji font).
 * Pure functions (unit-tested with hostile input). Every step is linear in the text or bounded by
 * the number of mark kinds, so a 4,096-character message of marks parses in well under a frame.
 */
import type { UserId } from '@/protocol';

import { lazyEmojiRegExp } from '@/components/emoji/emoji-pattern';

import { mentionAt } from './mentions';

export type RichNode =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'emoji'; readonly text: string }
  | { readonly kind: 'link'; readonly href: string; readonly text: string }
  | { readonly kind: 'mention'; readonly user: UserId; readonly text: string }
  | { readonly kind: 'everyone'; readonly text: string }
  | { readonly kind: 'code'; readonly text: string }
  | { readonly kind: 'codeblock'; readonly text: string; readonly lang: string }
  | { readonly kind: StyleKind; readonly children: readonly RichNode[] };

export type StyleKind = 'bold' | 'italic' | 'strike' | 'spoiler';

export interface RichTextOptions {
  /** The members the message mentions (its `mentions`): only these are shown as mentions. */
  readonly mentions?: readonly UserId[];
  /** The message carries `mention_everyone`: `@everyone` is shown as a mention. */
  readonly everyone?: boolean;
}

/** The schemes a link may have; anything else stays text. */
export const LINK_SCHEMES: readonly string[] = ['http:', 'https:', 'mailto:'];

const FENCE = '```';
/** A code block's language: a short word on the fence's own line. */
const FENCE_LANG = /^([A-Za-z0-9_+#.-]{1,20})\n/;
/** Where a link may start (case-insensitive; sticky, tried at each position). */
const LINK_START = /(?:https?:\/\/|mailto:)/iy;
/** The rest of a link candidate: up to white space or a character that never belongs in one. */
const LINK_BODY = /[^\s<>"`]+/y;
/** One emoji (an RGI sequence: flags, keycaps, skin tones, ZWJ families); built on first use (emoji-pattern.ts). */
const emojiPattern = lazyEmojiRegExp('y');
const WORD = /[\p{L}\p{N}]/u;
const SPACE = /\s/u;

/** The text parsed into rich nodes. */
export function parseRichText(text: string, opts: RichTextOptions = {}): RichNode[] {
  const out: RichNode[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf(FENCE, pos);
    const close = open < 0 ? -1 : text.indexOf(FENCE, open + FENCE.length);
    if (open < 0 || close < 0) break;
    const block = codeBlock(text.slice(open + FENCE.length, close));
    if (block === null) {
      // An empty fence pair (` `````` `) is text; look for a block after it.
      out.push(...parseInline(text.slice(pos, close + FENCE.length), opts));
      pos = close + FENCE.length;
      continue;
    }
    if (open > pos) out.push(...parseInline(trimEndNewline(text.slice(pos, open)), opts));
    out.push(block);
    pos = close + FENCE.length;
    if (text.charAt(pos) === '\n') pos++;
  }
  if (pos < text.length) out.push(...parseInline(text.slice(pos), opts));
  return mergeText(out);
}

function codeBlock(inner: string): RichNode | null {
  const lang = FENCE_LANG.exec(inner);
  let body = lang ? inner.slice(lang[0].length) : inner;
  if (body.startsWith('\n')) body = body.slice(1);
  body = trimEndNewline(body);
  if (body === '') return null;
  return { kind: 'codeblock', text: body, lang: lang?.[1] ?? '' };
}

function trimEndNewline(s: string): string {
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}

/** A cell is one UTF-16 code unit of plain text, or a node nothing formats inside (code, link, mention, emoji). */
type Cell = string | RichNode;

/** Text without code blocks → nodes. */
export function parseInline(text: string, opts: RichTextOptions = {}): RichNode[] {
  return mergeText(new Emphasis(cells(text, opts)).parse(0, undefined, new Set()));
}

/** Splits the text into cells: atoms where code, links, mentions and emoji are, single characters elsewhere. */
function cells(text: string, opts: RichTextOptions): Cell[] {
  const out: Cell[] = [];
  const users = opts.mentions ?? [];
  const everyone = opts.everyone ?? false;
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      const code = end < 0 ? '' : text.slice(i + 1, end);
      if (code !== '' && !code.includes('\n')) {
        out.push({ kind: 'code', text: code });
        i = end + 1;
        continue;
      }
    } else if (c === '@') {
      const m = mentionAt(text, i, users, everyone);
      if (m !== null && m.kind !== 'text') {
        out.push(m.kind === 'user' ? { kind: 'mention', user: m.user, text: m.text } : { kind: 'everyone', text: m.text });
        i += m.text.length;
        continue;
      }
    } else if ((c === 'h' || c === 'H' || c === 'm' || c === 'M') && !WORD.test(text.charAt(i - 1))) {
      const link = linkAt(text, i);
      if (link !== null) {
        out.push(link);
        i += link.text.length;
        continue;
      }
    } else if (c.charCodeAt(0) > 0x7f || c === '#' || c === '*' || (c >= '0' && c <= '9')) {
      const emoji = emojiPattern();
      emoji.lastIndex = i;
      const e = emoji.exec(text);
      if (e !== null) {
        out.push({ kind: 'emoji', text: e[0] });
        i += e[0].length;
        continue;
      }
    }
    out.push(c);
    i++;
  }
  return out;
}

/** The link starting at `at`, or null: a safe scheme, a parseable address, trailing punctuation left out. */
export function linkAt(text: string, at: number): { kind: 'link'; href: string; text: string } | null {
  LINK_START.lastIndex = at;
  if (!LINK_START.test(text)) return null;
  LINK_BODY.lastIndex = at;
  const body = LINK_BODY.exec(text);
  if (body === null) return null;
  const candidate = trimLinkEnd(body[0]);
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (!LINK_SCHEMES.includes(url.protocol)) return null;
  if (url.protocol === 'mailto:' ? !/^[^@\s]+@[^@\s]+$/.test(decodeSafely(url.pathname)) : url.hostname === '') return null;
  return { kind: 'link', href: url.href, text: candidate };
}

function decodeSafely(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Drops what usually follows a link in a sentence: `.`, `,`, `!`, quotes, marks, and a `)` or `]`
 * the link did not open. The brackets are counted once and the counts follow the end as it
 * moves, so a link followed by thousands of `)` costs one pass, not one pass per `)`.
 */
function trimLinkEnd(s: string): string {
  // Opening minus closing brackets before `end`: a closing one is kept while it has its opener.
  let parens = count(s, '(') - count(s, ')');
  let brackets = count(s, '[') - count(s, ']');
  let end = s.length;
  while (end > 0) {
    const last = s.charAt(end - 1);
    if (".,;:!?'*_~|".includes(last)) {
      end--;
    } else if (last === ')' && parens < 0) {
      parens++;
      end--;
    } else if (last === ']' && brackets < 0) {
      brackets++;
      end--;
    } else {
      break;
    }
  }
  return s.slice(0, end);
}

function count(s: string, c: string): number {
  let n = 0;
  for (const x of s) if (x === c) n++;
  return n;
}

interface Mark {
  readonly mark: string;
  readonly kind: StyleKind;
  /** `_`: only at a word's edge (not inside `snake_case`). */
  readonly wordEdge: boolean;
}

/** Longest marks first, so `**` is tried before `*`. */
const MARKS: readonly Mark[] = [
  { mark: '**', kind: 'bold', wordEdge: false },
  { mark: '~~', kind: 'strike', wordEdge: false },
  { mark: '||', kind: 'spoiler', wordEdge: false },
  { mark: '*', kind: 'italic', wordEdge: false },
  { mark: '_', kind: 'italic', wordEdge: true },
];

/** Emphasis over cells: each mark pairs with the nearest valid closing mark of the same kind. */
class Emphasis {
  constructor(private readonly cells: readonly Cell[]) {}

  /** Parses `cells[start, end)`; kinds in `open` are not nested in themselves. */
  parse(start: number, end: number = this.cells.length, open: ReadonlySet<StyleKind>): RichNode[] {
    const out: RichNode[] = [];
    // A mark with no closer from some point on has none from any later point either: remembered
    // so that a run of unmatched marks is scanned once, not once per mark.
    const noCloser = new Set<string>();
    let text = '';
    let i = start;
    while (i < end) {
      const cell = this.cells[i] as Cell;
      const m = typeof cell === 'string' ? this.opener(i, end, open, noCloser) : null;
      if (m === null) {
        if (typeof cell === 'string') text += cell;
        else {
          if (text !== '') out.push({ kind: 'text', text });
          text = '';
          out.push(cell);
        }
        i++;
        continue;
      }
      const close = this.closer(m, i + m.mark.length, end);
      if (close < 0) {
        noCloser.add(m.mark);
        text += m.mark;
        i += m.mark.length;
        continue;
      }
      if (text !== '') out.push({ kind: 'text', text });
      text = '';
      const inner = new Set(open).add(m.kind);
      out.push({ kind: m.kind, children: mergeText(this.parse(i + m.mark.length, close, inner)) });
      i = close + m.mark.length;
    }
    if (text !== '') out.push({ kind: 'text', text });
    return out;
  }

  private char(i: number): string {
    const c = this.cells[i];
    return typeof c === 'string' ? c : c === undefined ? '' : '\uFFFC';
  }

  /** The mark that opens at `i`, if one can (and may still find a closer). */
  private opener(i: number, end: number, open: ReadonlySet<StyleKind>, noCloser: ReadonlySet<string>): Mark | null {
    for (const mark of MARKS) {
      if (open.has(mark.kind) || noCloser.has(mark.mark) || !this.matches(mark.mark, i, end)) continue;
      const len = mark.mark.length;
      const next = this.char(i + len);
      if (next === '' || i + len >= end || SPACE.test(next)) continue;
      if (len === 1 && (this.char(i - 1) === mark.mark || next === mark.mark)) continue;
      if (mark.wordEdge && WORD.test(this.char(i - 1))) continue;
      return mark;
    }
    return null;
  }

  /** The first index in `[from, end)` where `mark` closes, or -1. */
  private closer(mark: Mark, from: number, end: number): number {
    const len = mark.mark.length;
    // The content is never empty: a closer starts at least one cell after the opener.
    for (let j = from + 1; j + len <= end; j++) {
      if (!this.matches(mark.mark, j, end)) continue;
      const before = this.char(j - 1);
      if (SPACE.test(before)) continue;
      if (len === 1 && (before === mark.mark || this.char(j + 1) === mark.mark)) continue;
      if (mark.wordEdge && WORD.test(this.char(j + len))) continue;
      return j;
    }
    return -1;
  }

  private matches(mark: string, i: number, end: number): boolean {
    if (i + mark.length > end) return false;
    for (let k = 0; k < mark.length; k++) if (this.cells[i + k] !== mark.charAt(k)) return false;
    return true;
  }
}

/** Joins neighbouring text nodes. */
function mergeText(nodes: readonly RichNode[]): RichNode[] {
  const out: RichNode[] = [];
  for (const n of nodes) {
    const last = out[out.length - 1];
    if (n.kind === 'text' && last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + n.text };
    else if (n.kind !== 'text' || n.text !== '') out.push(n);
  }
  return out;
}

/** How many emoji a message of only emoji (and white space) holds; 0 when it holds anything else. */
export function emojiOnlyCount(nodes: readonly RichNode[]): number {
  let n = 0;
  for (const node of nodes) {
    if (node.kind === 'emoji') n++;
    else if (node.kind !== 'text' || node.text.trim() !== '') return 0;
  }
  return n;
}

/** The plain text of nodes, as shown (marks dropped, mentions as given by `mentionText`). */
export function plainText(nodes: readonly RichNode[], mentionText: (n: { user: UserId; text: string }) => string = (n) => n.text): string {
  let s = '';
  for (const n of nodes) {
    if ('children' in n) s += plainText(n.children, mentionText);
    else if (n.kind === 'mention') s += mentionText(n);
    else s += n.text;
  }
  return s;
}
