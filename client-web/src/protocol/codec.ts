/**
 * CBOR encoding and decoding with explicit limits (ARCHITECTURE "Wire formats").
 *
 * Decoding first walks the bytes with {@link checkWellFormed} (a port of the Rust scanner), which
 * refuses anything over the limits or outside the protocol's subset before a single value is
 * built; only then are values built, by a reader that can trust what it reads.
 *
 * Encoding uses cbor-x, configured for plain CBOR (its defaults add record tags, 16-bit map
 * heads and tag 64 on byte strings), after a pass that refuses what the protocol cannot carry
 * (floats, `undefined`, integers past ±(2^53 − 1), class instances) and turns integers past
 * 32 bits into BigInts, which cbor-x would otherwise write as floats. The result is checked
 * against the receiver's limits, so what we send is what the node accepts.
 */
import { Encoder, type Options } from 'cbor-x';

import type { DecodeError, EncodeError } from './errors';
import type { Limits } from './limits';
import { err, ok, type Result } from './result';
import { checkWellFormed } from './scan';

export { checkWellFormed } from './scan';
export { CLIENT_FRAME, MAX_SAFE_INTEGER, type Limits } from './limits';

/**
 * A decoded CBOR item of the protocol's subset. Maps whose keys are all text strings become
 * plain objects; a map with any other key becomes a `Map`, so no key is silently turned into
 * text. Integers are numbers (the subset keeps them within ±(2^53 − 1)).
 */
export type CborValue = null | boolean | number | string | Uint8Array | CborValue[] | CborMap | CborKeyedMap;

/** A CBOR map whose keys are all text strings. */
export interface CborMap {
  [key: string]: CborValue;
}

/** A CBOR map with at least one key that is not a text string. */
export type CborKeyedMap = Map<CborValue, CborValue>;

/** True for a decoded map of either representation. */
export function isMap(value: CborValue | undefined): value is CborMap | CborKeyedMap {
  return value instanceof Map || isTextMap(value);
}

/** True for a decoded map whose keys are all text (a plain object). */
export function isTextMap(value: CborValue | undefined): value is CborMap {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Map)
  );
}

/** The field `name` of a map, or undefined; keys that are not text never match. */
export function field(map: CborValue, name: string): CborValue | undefined {
  if (map instanceof Map) return map.get(name);
  if (isTextMap(map) && Object.prototype.hasOwnProperty.call(map, name)) return map[name];
  return undefined;
}

/** Decodes one CBOR item, enforcing `limits` and the protocol's subset before anything is built. */
export function decode(bytes: Uint8Array, limits: Limits): Result<CborValue, DecodeError> {
  const checked = checkWellFormed(bytes, limits);
  if (!checked.ok) return checked;
  return ok(new Reader(bytes).item());
}

/** cbor-x's options, plus one it reads but does not declare in its types. */
const encoderOptions: Options & { readonly useTag259ForMaps: boolean } = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
  // With mapsAsObjects, cbor-x would mark a Map with tag 259; the protocol has no tags.
  useTag259ForMaps: false,
};
const encoder = new Encoder(encoderOptions);

/**
 * Encodes `value` as CBOR: definite lengths, shortest heads, object keys in insertion order
 * (as JavaScript orders them: integer-like keys first), properties that are `undefined` left
 * out, as JSON does. Checks that a receiver applying `limits` accepts the bytes.
 */
export function encode(value: unknown, limits: Limits): Result<Uint8Array, EncodeError> {
  let prepared: unknown;
  try {
    prepared = prepare(value, '$');
  } catch (e) {
    if (e instanceof Unencodable) return err({ kind: 'Serialize', message: e.message });
    throw e;
  }
  // Copy out of cbor-x's shared buffer: the caller owns the bytes.
  const bytes = new Uint8Array(encoder.encode(prepared));
  const checked = checkWellFormed(bytes, limits);
  if (!checked.ok) return err({ kind: 'Limits', error: checked.error });
  return ok(bytes);
}

class Unencodable extends Error {}

/** Largest integer cbor-x writes as an integer; past it, it writes a float unless given a BigInt. */
const MAX_UINT32 = 0xffff_ffff;

/** Returns a copy of `value` that cbor-x encodes as protocol CBOR, or throws `Unencodable`. */
function prepare(value: unknown, path: string): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return prepareInteger(value, path);
    case 'bigint':
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(-Number.MAX_SAFE_INTEGER)) {
        throw new Unencodable(`${path}: integer outside ±(2^53 − 1)`);
      }
      return prepareInteger(Number(value), path);
    case 'object':
      break;
    default:
      throw new Unencodable(`${path}: cannot encode a value of type ${typeof value}`);
  }
  if (value === null) return null;
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return value;
  if (Array.isArray(value)) {
    return value.map((item: unknown, i) => {
      if (item === undefined) throw new Unencodable(`${path}[${i}]: undefined`);
      return prepare(item, `${path}[${i}]`);
    });
  }
  if (value instanceof Map) {
    const map = new Map<unknown, unknown>();
    for (const [k, v] of value as Map<unknown, unknown>) {
      if (v === undefined) continue;
      map.set(prepare(k, `${path}.<key>`), prepare(v, `${path}.<value>`));
    }
    return map;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new Unencodable(`${path}: cannot encode an instance of ${describeClass(value)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    // defineProperty, not assignment, so a key named "__proto__" stays an ordinary key.
    Object.defineProperty(out, k, {
      value: prepare(v, `${path}.${k}`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function prepareInteger(n: number, path: string): number | bigint {
  if (!Number.isSafeInteger(n)) {
    throw new Unencodable(`${path}: ${n} is not an integer within ±(2^53 − 1); CBOR floats are not used`);
  }
  if (n === 0) return 0; // -0 too
  // A negative n is written as -1 - n, so -(2^32) still fits four bytes.
  return n > MAX_UINT32 || n < -MAX_UINT32 - 1 ? BigInt(n) : n;
}

function describeClass(value: object): string {
  const ctor: unknown = (value as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name ? ctor.name : 'a class';
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Builds values from bytes that {@link checkWellFormed} has accepted: every length is in
 * bounds, every head is shortest-form, there is nothing outside the subset.
 */
class Reader {
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  private u8(): number {
    const b = this.bytes[this.pos] ?? 0;
    this.pos += 1;
    return b;
  }

  private arg(info: number): number {
    if (info < 24) return info;
    const len = 1 << (info - 24);
    let n = 0;
    // At most 2^53 − 1 (checked), so the arithmetic stays exact.
    for (let i = 0; i < len; i++) n = n * 256 + this.u8();
    return n;
  }

  item(): CborValue {
    const initial = this.u8();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      return info === 20 ? false : info === 21 ? true : null;
    }
    const arg = this.arg(info);
    switch (major) {
      case 0:
        return arg;
      case 1:
        return -1 - arg;
      case 2:
        return this.bytes.slice(this.pos, (this.pos += arg));
      case 3:
        return utf8.decode(this.bytes.subarray(this.pos, (this.pos += arg)));
      case 4: {
        const array: CborValue[] = [];
        for (let i = 0; i < arg; i++) array.push(this.item());
        return array;
      }
      default:
        return this.map(arg);
    }
  }

  private map(len: number): CborMap | CborKeyedMap {
    const entries: Array<[CborValue, CborValue]> = [];
    for (let i = 0; i < len; i++) entries.push([this.item(), this.item()]);
    if (!entries.every(([k]) => typeof k === 'string')) return new Map(entries);
    const object: CborMap = {};
    for (const [k, v] of entries) {
      Object.defineProperty(object, k as string, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return object;
  }
}
