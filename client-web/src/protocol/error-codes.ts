/**
 * Error codes shared by client replies and federation responses (`protocol/src/error_code.rs`).
 * Unknown codes from newer nodes are kept as text, so a client can still show the message.
 */

/** Every code this version knows, with what it means. */
export const ERROR_CODES = {
  /** The request is malformed: wrong types, missing or invalid fields. */
  bad_request: 'The request is malformed: wrong types, missing or invalid fields.',
  /** No such method in this protocol version. */
  unknown_method: 'No such method in this protocol version.',
  /** No valid credentials (missing, expired or revoked token). */
  unauthenticated: 'No valid credentials (missing, expired or revoked token).',
  /** Authenticated, but not allowed to do this. */
  forbidden: 'Authenticated, but not allowed to do this.',
  /** No such thing, or the caller may not know it exists. */
  not_found: 'No such thing, or the caller may not know it exists.',
  /** The request conflicts with current state (taken name, wrong seq). */
  conflict: 'The request conflicts with current state (taken name, wrong seq).',
  /** A frame, field or upload is over its limit. */
  too_large: 'A frame, field or upload is over its limit.',
  /** Too many requests; retry later. */
  rate_limited: 'Too many requests; retry later.',
  /** Temporarily unable to serve (shutting down, overloaded, peer down). */
  unavailable: 'Temporarily unable to serve (shutting down, overloaded, peer down).',
  /** The node failed; the cause is logged on the node, not sent. */
  internal: 'The node failed; the cause is logged on the node, not sent.',
} as const;

/** A code this version knows. */
export type KnownErrorCode = keyof typeof ERROR_CODES;

/** A code as received: a known one, or the text of one this version does not know. */
export type ErrorCode = KnownErrorCode | (string & { readonly unknownErrorCode?: never });

export function isKnownErrorCode(code: string): code is KnownErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** An error as sent on the wire: a code for programs and a message for people. */
export interface ErrorBody {
  readonly code: ErrorCode;
  /** For people. Never holds internal details. */
  readonly message: string;
}
