/**
 * Typed errors of the SDK. `kind` is the name of the matching Rust variant
 * (`protocol::codec::DecodeError`, `protocol::ids::IdError`), so a log line or a test reads the
 * same on both sides.
 */

/** Why bytes could not be decoded. `offset` is the byte position where the problem starts. */
export type DecodeError =
  /** The input is longer than the frame limit. */
  | { readonly kind: 'FrameTooLarge'; readonly len: number; readonly max: number }
  /** The input ends inside an item. */
  | { readonly kind: 'Truncated'; readonly offset: number }
  /** Bytes follow the top-level item. */
  | { readonly kind: 'TrailingBytes'; readonly offset: number }
  /** Arrays and maps nest deeper than allowed. */
  | { readonly kind: 'TooDeep'; readonly offset: number; readonly max: number }
  /** An array or map announces more entries than allowed. */
  | { readonly kind: 'TooManyItems'; readonly offset: number; readonly len: bigint; readonly max: number }
  /** A text or byte string is longer than allowed. */
  | { readonly kind: 'StringTooLong'; readonly offset: number; readonly len: bigint; readonly max: number }
  /** A text string is not UTF-8. */
  | { readonly kind: 'InvalidUtf8'; readonly offset: number }
  /** An integer is outside ±(2^53 − 1). */
  | { readonly kind: 'IntegerOutOfRange'; readonly offset: number }
  /** A head is not in its shortest form, so the bytes have more than one encoding. */
  | { readonly kind: 'NonCanonical'; readonly offset: number }
  /** A map repeats a key. */
  /** A map key is not a text string. */
  | { readonly kind: 'NonTextKey'; readonly offset: number }
  | { readonly kind: 'DuplicateKey'; readonly offset: number }
  /** A CBOR feature the protocol does not use: indefinite lengths, tags, floats, `undefined`… */
  | { readonly kind: 'Unsupported'; readonly offset: number; readonly what: string }
  /**
   * Well-formed CBOR that does not have the message's shape: a wrong type, a missing field, an
   * unknown variant where none is allowed, a malformed identifier (then `idError` says why).
   */
  | { readonly kind: 'Schema'; readonly message: string; readonly idError?: IdError };

/** Why a value could not be encoded. */
export type EncodeError =
  /** The value holds something CBOR in the protocol's subset cannot carry. */
  | { readonly kind: 'Serialize'; readonly message: string }
  /** The encoding exceeds the limits the receiver will apply. */
  | { readonly kind: 'Limits'; readonly error: DecodeError };

/** Why a text could not be parsed as an identifier. */
export type IdError =
  /** The text is longer than any identifier may be. */
  | { readonly kind: 'TooLong'; readonly max: number }
  /** The leading sigil (`@`, `!`, `#`, `$`) is missing or wrong. */
  | { readonly kind: 'MissingSigil'; readonly expected: string }
  /** A qualified identifier has no `:node` part. */
  | { readonly kind: 'MissingNode' }
  /** The node name is not a DNS name or IP address with an optional port. */
  | { readonly kind: 'InvalidNode'; readonly reason: string }
  /** The local part of a user id breaks the user name rules. */
  | { readonly kind: 'InvalidUserName' }
  /** The random part of a group id is malformed. */
  | { readonly kind: 'InvalidGroupLocal' }
  /** A public handle breaks `^[_a-z][_a-z0-9]{2,50}$`. */
  | { readonly kind: 'InvalidHandle' }
  /** An event id is not `$` followed by 43 characters of unpadded base64url. */
  | { readonly kind: 'InvalidEventId' }
  /** A media id's hash is not 32 bytes (64 lowercase hex digits in text form). */
  | { readonly kind: 'InvalidMediaId' };

/** A sentence for people (and logs), worded as the Rust `Display` implementations. */
export function describeDecodeError(e: DecodeError): string {
  switch (e.kind) {
    case 'FrameTooLarge':
      return `frame of ${e.len} bytes exceeds the limit of ${e.max}`;
    case 'Truncated':
      return `truncated input at byte ${e.offset}`;
    case 'TrailingBytes':
      return `trailing bytes after the item, at byte ${e.offset}`;
    case 'TooDeep':
      return `nesting deeper than ${e.max} levels at byte ${e.offset}`;
    case 'TooManyItems':
      return `collection of ${e.len} entries exceeds the limit of ${e.max} at byte ${e.offset}`;
    case 'StringTooLong':
      return `string of ${e.len} bytes exceeds the limit of ${e.max} at byte ${e.offset}`;
    case 'InvalidUtf8':
      return `invalid UTF-8 in text string at byte ${e.offset}`;
    case 'IntegerOutOfRange':
      return `integer out of range at byte ${e.offset}`;
    case 'NonCanonical':
      return `non-canonical length or integer encoding at byte ${e.offset}`;
    case 'NonTextKey':
      return `map key is not a text string at byte ${e.offset}`;
    case 'DuplicateKey':
      return `duplicate map key at byte ${e.offset}`;
    case 'Unsupported':
      return `unsupported CBOR item (${e.what}) at byte ${e.offset}`;
    case 'Schema':
      return `invalid message: ${e.message}`;
  }
}

export function describeIdError(e: IdError): string {
  switch (e.kind) {
    case 'TooLong':
      return `identifier is longer than ${e.max} bytes`;
    case 'MissingSigil':
      return `identifier must start with '${e.expected}'`;
    case 'MissingNode':
      return "identifier has no ':node' part";
    case 'InvalidNode':
      return `invalid node name: ${e.reason}`;
    case 'InvalidUserName':
      return "invalid user name: must be 3 to 32 characters of a-z, 0-9, '_', '.', '-'";
    case 'InvalidGroupLocal':
      return "invalid group id: the part after '!' must be 6 to 32 characters of a-z, 0-9";
    case 'InvalidHandle':
      return 'invalid handle: must match ^[_a-z][_a-z0-9]{2,50}$';
    case 'InvalidEventId':
      return "invalid event id: must be '$' and the unpadded base64url of 32 bytes";
    case 'InvalidMediaId':
      return 'invalid media id: expected node/sha256 with 64 lowercase hex digits';
  }
}
