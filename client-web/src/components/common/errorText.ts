/**
 * The one place where an error code becomes a sentence people can act on. The node's own
 * `message` is for programs and logs (often terse and lowercase); the app shows these instead,
 * and falls back to the node's text only for a code this version does not know.
 */
import { isKnownErrorCode, type KnownErrorCode } from '@/protocol';

/** Codes the app itself produces besides the wire codes (src/protocol/error-codes.ts). */
export type AppErrorCode = 'timeout' | 'bad_response';

export interface ErrorLike {
  readonly code: string;
  readonly message: string;
}

/** Sentences for one place, by code, that replace the general ones below. */
export type ErrorSentences = Partial<Record<KnownErrorCode | AppErrorCode, string>>;

const GENERAL: Record<KnownErrorCode | AppErrorCode, string> = {
  bad_request: 'That was not accepted: something in it is not valid.',
  unknown_method: 'Your node does not support this yet.',
  unauthenticated: 'Your session has ended. Sign in again.',
  forbidden: 'You are not allowed to do that.',
  not_found: 'That no longer exists, or you cannot see it.',
  conflict: 'That clashes with a change made in the meantime. Reload and try again.',
  too_large: 'That is too large.',
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  unavailable: 'The server cannot be reached right now. Try again in a moment.',
  internal: 'Something went wrong on the server. Try again later.',
  timeout: 'No answer in time. Check your connection and try again.',
  bad_response: 'The server sent an answer this app cannot read. Reload the page and try again.',
};

function isSentenceCode(code: string): code is KnownErrorCode | AppErrorCode {
  return isKnownErrorCode(code) || code === 'timeout' || code === 'bad_response';
}

/** The node's text as a sentence: capitalised, ending with a full stop. */
function asSentence(text: string): string {
  const t = text.trim();
  if (t === '') return 'That did not work. Try again.';
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** A plain sentence for `e`: this place's own sentence for its code, else the general one. */
export function errorText(e: ErrorLike, sentences: ErrorSentences = {}): string {
  if (isSentenceCode(e.code)) return sentences[e.code] ?? GENERAL[e.code];
  return asSentence(e.message || e.code);
}

/**
 * Whether trying the same thing again cannot help (the refusal stands until something else
 * changes): then the button that did it is disabled.
 */
export function isFinalRefusal(e: ErrorLike): boolean {
  return e.code === 'forbidden' || e.code === 'not_found' || e.code === 'bad_request' || e.code === 'too_large';
}
