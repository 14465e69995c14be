/**
 * Validated identifiers (ARCHITECTURE "Names"): parse, don't validate. A port of
 * `protocol/src/ids/`, rule for rule and error for error.
 *
 * Each identifier is a branded string: only the parsers here produce one, so code that holds a
 * `UserId` never re-checks it. Lengths are counted in UTF-8 bytes, as in Rust.
 */
import type { IdError } from './errors';
import { err, ok, type Result } from './result';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** `chat.example.org`, `127.0.0.1:7801`, `[::1]:7801`: lowercase, canonical. */
export type NodeName = Brand<string, 'NodeName'>;
/** `@name:node`, where `name` is 3–32 characters of `a-z 0-9 _ . -`. */
export type UserId = Brand<string, 'UserId'>;
/** `!<random>:home-node`, where the random part is 6–32 characters of `a-z 0-9`. */
export type GroupId = Brand<string, 'GroupId'>;
/** `#handle:node`; `handle` matches `^[_a-z][_a-z0-9]{2,50}$`. */
export type Handle = Brand<string, 'Handle'>;
/** `$` + unpadded base64url of the SHA-256 of an event's signed payload. */
export type EventId = Brand<string, 'EventId'>;

/** A piece of media: the node that stores it and the SHA-256 of its bytes. */
export interface MediaId {
  readonly node: NodeName;
  /** Exactly 32 bytes. */
  readonly sha256: Uint8Array;
}

/** Longest text form of any identifier, in bytes. */
export const MAX_ID_LEN = 255;

const encoder = new TextEncoder();
const byteLength = (s: string): number => encoder.encode(s).length;

const isLower = (c: string): boolean => c >= 'a' && c <= 'z';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const every = (s: string, test: (c: string) => boolean): boolean => Array.from(s).every(test);

// ---------------------------------------------------------------------------------------------
// Node names

/** Parses a node name: a lowercase DNS name, canonical IPv4, or bracketed canonical IPv6, with an optional port. */
export function parseNodeName(input: string): Result<NodeName, IdError> {
  if (byteLength(input) > MAX_ID_LEN) return err({ kind: 'TooLong', max: MAX_ID_LEN });
  const split = splitPort(input);
  if (!split.ok) return split;
  const { host, port } = split.value;
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return invalidNode("unclosed '['");
    const inner = host.slice(1, -1);
    const addr = parseIpv6(inner);
    if (addr === null) return invalidNode('bad IPv6 address');
    // Only the compressed lowercase form (RFC 5952) is canonical.
    if (formatIpv6(addr) !== inner) return invalidNode('IPv6 address not in canonical form');
  } else if (every(host, (c) => isDigit(c) || c === '.')) {
    // An all-digit host must be a canonical IPv4 address (Rust: Ipv4Addr, then to_string()).
    if (!isCanonicalIpv4(host)) return invalidNode('bad IPv4 address');
  } else {
    const dns = checkDnsName(host);
    if (!dns.ok) return dns;
  }
  if (port !== undefined) {
    const checked = checkPort(port);
    if (!checked.ok) return checked;
  }
  return ok(input as NodeName);
}

/** The host part of a node name, without the port (IPv6 keeps its brackets). */
export function nodeHost(node: NodeName): string {
  const split = splitPort(node);
  return split.ok ? split.value.host : node;
}

/** The explicit port of a node name, if it has one. */
export function nodePort(node: NodeName): number | undefined {
  const split = splitPort(node);
  return split.ok && split.value.port !== undefined ? Number(split.value.port) : undefined;
}

function invalidNode(reason: string): { readonly ok: false; readonly error: IdError } {
  return err({ kind: 'InvalidNode', reason });
}

function splitPort(input: string): Result<{ host: string; port: string | undefined }, IdError> {
  if (input.startsWith('[')) {
    const end = input.lastIndexOf(']');
    if (end < 0) return invalidNode("unclosed '['");
    const rest = input.slice(end + 1);
    if (rest === '') return ok({ host: input, port: undefined });
    if (!rest.startsWith(':')) return invalidNode('junk after IPv6 address');
    return ok({ host: input.slice(0, end + 1), port: rest.slice(1) });
  }
  const colon = input.indexOf(':');
  return colon < 0
    ? ok({ host: input, port: undefined })
    : ok({ host: input.slice(0, colon), port: input.slice(colon + 1) });
}

function checkPort(port: string): Result<void, IdError> {
  const canonical = port.length > 0 && port.length <= 5 && every(port, isDigit) && !port.startsWith('0');
  const n = Number(port);
  return canonical && n >= 1 && n <= 65535 ? ok(undefined) : invalidNode('port must be 1 to 65535');
}

function checkDnsName(host: string): Result<void, IdError> {
  if (host === '') return invalidNode('empty host');
  if (byteLength(host) > 253) return invalidNode('host longer than 253 characters');
  for (const label of host.split('.')) {
    if (label === '') return invalidNode('empty DNS label');
    if (byteLength(label) > 63) return invalidNode('DNS label longer than 63 characters');
    if (!every(label, (c) => isLower(c) || isDigit(c) || c === '-')) {
      return invalidNode("DNS labels hold only a-z, 0-9 and '-' (lowercase)");
    }
    if (label.startsWith('-') || label.endsWith('-')) return invalidNode("DNS label starts or ends with '-'");
  }
  return ok(undefined);
}

/** Four decimal octets of 0–255 without leading zeros: the form Rust both accepts and prints. */
function isCanonicalIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** Parses an IPv6 address (hex groups, one `::`, an optional dotted IPv4 tail) into 8 groups. */
function parseIpv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string, last: boolean): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (last && i === pieces.length - 1 && piece.includes('.')) {
        if (!isCanonicalIpv4(piece)) return null;
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const [headText = '', tailText] = halves;
  if (tailText === undefined) {
    const groups = parseGroups(headText, true);
    return groups !== null && groups.length === 8 ? groups : null;
  }
  const head = parseGroups(headText, false);
  const tail = parseGroups(tailText, true);
  if (head === null || tail === null || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** Formats 8 groups as Rust's `Ipv6Addr` Display does (RFC 5952, IPv4-mapped as dotted quad). */
function formatIpv6(groups: readonly number[]): string {
  const g = (i: number): number => groups[i] ?? 0;
  if ([0, 1, 2, 3, 4].every((i) => g(i) === 0) && g(5) === 0xffff) {
    return `::ffff:${g(6) >> 8}.${g(6) & 0xff}.${g(7) >> 8}.${g(7) & 0xff}`;
  }
  // The longest run of zero groups (the first of equal runs), compressed only if 2 or more.
  let best = { start: 0, len: 0 };
  let current = { start: 0, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (g(i) === 0) {
      if (current.len === 0) current = { start: i, len: 0 };
      current.len += 1;
      if (current.len > best.len) best = { ...current };
    } else {
      current = { start: 0, len: 0 };
    }
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((n) => n.toString(16))
      .join(':');
  return best.len > 1 ? `${hex(0, best.start)}::${hex(best.start + best.len, 8)}` : hex(0, 8);
}

// ---------------------------------------------------------------------------------------------
// Qualified identifiers: sigil, local part, ':' node

/** Splits `sigil local ':' node` at the first colon; the node part may itself hold a port. */
function splitQualified(input: string, sigil: string): Result<{ local: string; node: NodeName }, IdError> {
  if (byteLength(input) > MAX_ID_LEN) return err({ kind: 'TooLong', max: MAX_ID_LEN });
  if (!input.startsWith(sigil)) return err({ kind: 'MissingSigil', expected: sigil });
  const rest = input.slice(sigil.length);
  const colon = rest.indexOf(':');
  if (colon < 0) return err({ kind: 'MissingNode' });
  const node = parseNodeName(rest.slice(colon + 1));
  if (!node.ok) return node;
  return ok({ local: rest.slice(0, colon), node: node.value });
}

/** Checks the user name rules shared by registration and parsing. */
export function checkUserName(name: string): Result<void, IdError> {
  const valid =
    name.length >= 3 && name.length <= 32 && every(name, (c) => isLower(c) || isDigit(c) || '_.-'.includes(c));
  return valid ? ok(undefined) : err({ kind: 'InvalidUserName' });
}

/** Checks `^[_a-z][_a-z0-9]{2,50}$`. */
export function checkHandleName(name: string): Result<void, IdError> {
  return /^[_a-z][_a-z0-9]{2,50}$/.test(name) ? ok(undefined) : err({ kind: 'InvalidHandle' });
}

/** Parses `@name:node`. */
export function parseUserId(input: string): Result<UserId, IdError> {
  const parts = splitQualified(input, '@');
  if (!parts.ok) return parts;
  const name = checkUserName(parts.value.local);
  return name.ok ? ok(input as UserId) : name;
}

/** Parses `!local:node`. */
export function parseGroupId(input: string): Result<GroupId, IdError> {
  const parts = splitQualified(input, '!');
  if (!parts.ok) return parts;
  const { local } = parts.value;
  const valid = local.length >= 6 && local.length <= 32 && every(local, (c) => isLower(c) || isDigit(c));
  return valid ? ok(input as GroupId) : err({ kind: 'InvalidGroupLocal' });
}

/** Parses `#handle:node`. */
export function parseHandle(input: string): Result<Handle, IdError> {
  const parts = splitQualified(input, '#');
  if (!parts.ok) return parts;
  const name = checkHandleName(parts.value.local);
  return name.ok ? ok(input as Handle) : name;
}

/** The local part of a user id or handle (between the sigil and the first ':'). */
export function localPart(id: UserId | Handle | GroupId): string {
  return id.slice(1, id.indexOf(':'));
}

/** The node of a user id or handle, or the home node of a group. */
export function nodeOf(id: UserId | Handle | GroupId): NodeName {
  return id.slice(id.indexOf(':') + 1) as NodeName;
}

// ---------------------------------------------------------------------------------------------
// Event ids

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Parses `$` + 43 characters of unpadded base64url whose unused trailing bits are zero. */
export function parseEventId(input: string): Result<EventId, IdError> {
  if (!input.startsWith('$')) return err({ kind: 'MissingSigil', expected: '$' });
  const b64 = input.slice(1);
  if (byteLength(b64) !== 43) return err({ kind: 'InvalidEventId' });
  const values = Array.from(b64, (c) => BASE64URL.indexOf(c));
  if (values.some((v) => v < 0)) return err({ kind: 'InvalidEventId' });
  // 43 characters carry 258 bits for 256: the last two must be zero, so each id has one form.
  if (((values[42] ?? 0) & 0b11) !== 0) return err({ kind: 'InvalidEventId' });
  return ok(input as EventId);
}

/** The 32 hash bytes of an event id. */
export function eventIdBytes(id: EventId): Uint8Array {
  const out = new Uint8Array(32);
  let acc = 0;
  let bits = 0;
  let i = 0;
  for (const c of id.slice(1)) {
    acc = ((acc << 6) | BASE64URL.indexOf(c)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[i++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** The id of an event with these 32 hash bytes. */
export function eventIdFromBytes(hash: Uint8Array): EventId {
  let text = '$';
  let acc = 0;
  let bits = 0;
  for (const byte of hash) {
    acc = ((acc << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      text += BASE64URL[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) text += BASE64URL[(acc << (6 - bits)) & 0x3f];
  return text as EventId;
}

// ---------------------------------------------------------------------------------------------
// Media ids

/** Parses the text form `node/<64 lowercase hex digits>` (as used in URLs). */
export function parseMediaId(input: string): Result<MediaId, IdError> {
  const slash = input.lastIndexOf('/');
  if (slash < 0) return err({ kind: 'InvalidMediaId' });
  const node = parseNodeName(input.slice(0, slash));
  if (!node.ok) return node;
  const hex = input.slice(slash + 1);
  if (!/^[0-9a-f]{64}$/.test(hex)) return err({ kind: 'InvalidMediaId' });
  const sha256 = new Uint8Array(32);
  for (let i = 0; i < 32; i++) sha256[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return ok({ node: node.value, sha256 });
}

/** The text form of a media id, `node/<hex>`. */
export function formatMediaId(media: MediaId): string {
  return `${media.node}/${Array.from(media.sha256, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
