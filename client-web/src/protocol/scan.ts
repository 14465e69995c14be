/**
 * A well-formedness walk over CBOR bytes that enforces the protocol's subset and limits: a port
 * of `protocol/src/codec/scan.rs`, rule for rule, with the same error variants and offsets.
 *
 * It recurses at most `maxDepth` levels and allocates only a key list per map, bounded by
 * `maxItems`, so hostile input costs at most linear time in its length. Nothing the input sizes
 * is allocated before its length has been checked against the limits.
 */
import type { DecodeError } from './errors';
import { MAX_SAFE_INTEGER, type Limits } from './limits';
import { err, ok, type Result } from './result';

/** 2^53 − 1 as a BigInt, to compare 64-bit heads without losing precision. */
const MAX_SAFE_BIG = BigInt(MAX_SAFE_INTEGER);

/** Fatal UTF-8 decoding: a bad sequence throws instead of becoming U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Checks that `bytes` hold exactly one CBOR item of the protocol's subset within `limits`.
 *
 * The subset: definite lengths only; shortest-form heads; integers within ±(2^53 − 1); UTF-8
 * text; no tags, floats, `undefined` or simple values other than `false`, `true`, `null`; no
 * duplicate map keys.
 */
export function checkWellFormed(bytes: Uint8Array, limits: Limits): Result<void, DecodeError> {
  if (bytes.length > limits.maxFrame) {
    return err({ kind: 'FrameTooLarge', len: bytes.length, max: limits.maxFrame });
  }
  const scanner = new Scanner(bytes, limits);
  try {
    scanner.item(1);
  } catch (e) {
    if (e instanceof ScanFailure) return err(e.error);
    throw e;
  }
  if (scanner.pos !== bytes.length) {
    return err({ kind: 'TrailingBytes', offset: scanner.pos });
  }
  return ok(undefined);
}

/** Carries a DecodeError out of the recursion; never escapes this module. */
class ScanFailure extends Error {
  constructor(readonly error: DecodeError) {
    super(error.kind);
  }
}

/** A decoded head: major type, additional information and argument. */
interface Head {
  readonly major: number;
  readonly info: number;
  /** The argument; a BigInt only when it came from an 8-byte head. */
  readonly arg: number | bigint;
  readonly offset: number;
}

/** Smallest argument that needs each head size (info 24..27); anything less is non-canonical. */
const MIN_ARG = [24, 0x100, 0x1_0000, 0x1_0000_0000] as const;

class Scanner {
  pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: Limits,
  ) {}

  private fail(error: DecodeError): never {
    throw new ScanFailure(error);
  }

  /** Advances over `n` bytes and returns where they start. */
  private take(n: number): number {
    const start = this.pos;
    if (n > this.bytes.length - start) {
      this.fail({ kind: 'Truncated', offset: this.bytes.length });
    }
    this.pos = start + n;
    return start;
  }

  private byte(at: number): number {
    // `take` has checked the bounds; the fallback only satisfies noUncheckedIndexedAccess.
    return this.bytes[at] ?? 0;
  }

  private head(): Head {
    const offset = this.pos;
    const initial = this.byte(this.take(1));
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (info <= 23) return { major, info, arg: info, offset };
    if (info <= 27) {
      const len = 1 << (info - 24);
      const start = this.take(len);
      let arg: number | bigint;
      if (len === 8) {
        let big = 0n;
        for (let i = 0; i < 8; i++) big = (big << 8n) | BigInt(this.byte(start + i));
        arg = big <= MAX_SAFE_BIG ? Number(big) : big;
      } else {
        let n = 0;
        for (let i = 0; i < len; i++) n = n * 256 + this.byte(start + i);
        arg = n;
      }
      // The shortest form is the only accepted one; for simple values (major 7, info 24) and
      // floats this is checked by their own rules.
      const min = MIN_ARG[info - 24] ?? 0;
      if (major !== 7 && arg < min) this.fail({ kind: 'NonCanonical', offset });
      return { major, info, arg, offset };
    }
    if (info === 31) {
      this.fail({ kind: 'Unsupported', offset, what: major === 7 ? 'break' : 'indefinite length' });
    }
    return this.fail({ kind: 'Unsupported', offset, what: 'reserved additional information' });
  }

  item(depth: number): void {
    const head = this.head();
    const { offset, arg } = head;
    switch (head.major) {
      case 0:
        if (arg > MAX_SAFE_INTEGER) this.fail({ kind: 'IntegerOutOfRange', offset });
        return;
      case 1:
        // The value is -1 - arg.
        if (arg >= MAX_SAFE_INTEGER) this.fail({ kind: 'IntegerOutOfRange', offset });
        return;
      case 2:
      case 3: {
        const max = this.limits.maxString;
        if (typeof arg !== 'number' || arg > max) {
          this.fail({ kind: 'StringTooLong', offset, len: BigInt(arg), max });
        }
        const start = this.take(arg);
        if (head.major === 3 && !isUtf8(this.bytes.subarray(start, start + arg))) {
          this.fail({ kind: 'InvalidUtf8', offset });
        }
        return;
      }
      case 4:
      case 5: {
        const len = this.collectionLen(head);
        if (depth > this.limits.maxDepth) {
          this.fail({ kind: 'TooDeep', offset, max: this.limits.maxDepth });
        }
        if (head.major === 4) {
          for (let i = 0; i < len; i++) this.item(depth + 1);
        } else {
          this.mapEntries(len, depth);
        }
        return;
      }
      case 6:
        return this.fail({ kind: 'Unsupported', offset, what: 'tag' });
      default:
        switch (head.info) {
          case 20:
          case 21:
          case 22:
            return;
          case 23:
            return this.fail({ kind: 'Unsupported', offset, what: 'undefined' });
          case 25:
          case 26:
          case 27:
            return this.fail({ kind: 'Unsupported', offset, what: 'floating-point number' });
          default:
            return this.fail({ kind: 'Unsupported', offset, what: 'simple value' });
        }
    }
  }

  private collectionLen(head: Head): number {
    const max = this.limits.maxItems;
    if (typeof head.arg !== 'number' || head.arg > max) {
      this.fail({ kind: 'TooManyItems', offset: head.offset, len: BigInt(head.arg), max });
    }
    return head.arg;
  }

  private mapEntries(len: number, depth: number): void {
    // Key byte ranges, sorted afterwards to find repeats without hashing.
    const keys: Array<readonly [number, number]> = [];
    for (let i = 0; i < len; i++) {
      const start = this.pos;
      const first = this.bytes[start];
      if (this.limits.textKeys && first !== undefined && first >> 5 !== 3) {
        this.fail({ kind: 'NonTextKey', offset: start });
      }
      this.item(depth + 1);
      keys.push([start, this.pos]);
      this.item(depth + 1);
    }
    const bytes = this.bytes;
    keys.sort((a, b) => compareBytes(bytes, a, b));
    for (let i = 1; i < keys.length; i++) {
      const a = keys[i - 1];
      const b = keys[i];
      if (a && b && compareBytes(bytes, a, b) === 0) {
        this.fail({ kind: 'DuplicateKey', offset: Math.max(a[0], b[0]) });
      }
    }
  }
}

/** Lexicographic comparison of two byte ranges of `bytes` (a prefix sorts first). */
function compareBytes(
  bytes: Uint8Array,
  [aStart, aEnd]: readonly [number, number],
  [bStart, bEnd]: readonly [number, number],
): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = Math.min(aLen, bLen);
  for (let i = 0; i < n; i++) {
    const d = (bytes[aStart + i] ?? 0) - (bytes[bStart + i] ?? 0);
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

function isUtf8(data: Uint8Array): boolean {
  try {
    utf8.decode(data);
    return true;
  } catch {
    return false;
  }
}
