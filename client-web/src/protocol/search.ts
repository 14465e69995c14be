/**
 * Message search words (spec/gateway.md §8.9): the one rule the node matches by, so the app
 * highlights in a snippet exactly the words that were looked for.
 */

/** How much of a query is read, in characters. */
export const MAX_QUERY_CHARS = 256;
/** How many words of a query are matched. */
export const MAX_QUERY_WORDS = 8;
/** The longest word matched, in characters. */
export const MAX_WORD_CHARS = 64;

const NOT_WORD = /[^\p{Alphabetic}\p{N}]+/u;
const WORD_OR_NOT = /([\p{Alphabetic}\p{N}]+)/u;

/** The words a query asks for: lowercased runs of letters and digits, at most 8, each cut to 64. */
export function searchWords(query: string): string[] {
  const head = [...query].slice(0, MAX_QUERY_CHARS).join('');
  const words: string[] = [];
  for (const raw of head.split(NOT_WORD)) {
    if (raw === '') continue;
    const word = [...raw.toLowerCase()].slice(0, MAX_WORD_CHARS).join('');
    if (!words.includes(word)) words.push(word);
    if (words.length === MAX_QUERY_WORDS) break;
  }
  return words;
}

/** A piece of text, marked when it is (the start of) a word that matched. */
export interface TextPart {
  readonly text: string;
  readonly match: boolean;
}

/** `text` cut into parts, the starts of its words that begin with one of `words` marked. */
export function highlightParts(text: string, words: readonly string[]): TextPart[] {
  const parts: TextPart[] = [];
  const push = (piece: string, match: boolean) => {
    if (piece === '') return;
    const last = parts[parts.length - 1];
    if (last && last.match === match) parts[parts.length - 1] = { text: last.text + piece, match };
    else parts.push({ text: piece, match });
  };
  for (const piece of text.split(WORD_OR_NOT)) {
    const lower = piece.toLowerCase();
    const hit = words.filter((w) => lower.startsWith(w)).sort((a, b) => b.length - a.length)[0];
    if (hit === undefined) {
      push(piece, false);
    } else if (lower.length === piece.length) {
      push(piece.slice(0, hit.length), true);
      push(piece.slice(hit.length), false);
    } else {
      // Lowercasing changed the length: mark the whole word rather than a wrong part of it.
      push(piece, true);
    }
  }
  return parts;
}
