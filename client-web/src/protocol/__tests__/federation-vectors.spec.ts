// @vitest-environment node
/**
 * spec/vectors/federation.json (spec/federation.md), read as a second implementation would:
 * with the SDK's CBOR codec and limits, an independent shape check per CDDL rule, Ed25519
 * signatures verified with node:crypto over the COSE Sig_structure, and the addressing rule of
 * federation.md §4. Every case is accepted or refused exactly as stated, and every valid case
 * re-encodes byte for byte (or to `reencoded_hex`). The browser does not federate; this suite
 * checks that the spec and its vectors are enough to.
 */
import { createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { decode, encode, field, isTextMap, type CborValue, type Limits } from '../codec';
import { parseEventId, parseGroupId, parseHandle, parseNodeName, parseUserId } from '../ids';
import type { IdError } from '../errors';
import type { Result } from '../result';

const FILE = fileURLToPath(new URL('../../../../spec/vectors/federation.json', import.meta.url));

/** protocol.md §3.2. */
const FEDERATION_FRAME: Limits = { maxFrame: 4 * 1024 * 1024, maxDepth: 16, maxItems: 4096, maxString: 1024 * 1024, textKeys: true };
const EVENT: Limits = { maxFrame: 64 * 1024, maxDepth: 16, maxItems: 1024, maxString: 64 * 1024, textKeys: true };
const PROTECTED_HEADER: Limits = { maxFrame: 512, maxDepth: 2, maxItems: 8, maxString: 256, textKeys: false };
/** federation.md §4, `MAX_CLOCK_SKEW_MS`. */
const MAX_CLOCK_SKEW_MS = 300_000;

type Expect = 'valid' | { readonly error: string; readonly cause?: string };

interface Addressed {
  readonly receiver: string;
  readonly now: number;
  readonly expect: Expect;
}

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly hex: string;
  readonly expect: Expect;
  readonly reencoded_hex?: string;
  readonly public_key?: string;
  readonly addressed?: readonly Addressed[];
}

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const snake = (kind: string): string => kind.replace(/[A-Z]/g, (c, at: number) => (at > 0 ? '_' : '') + c.toLowerCase());

/** A refusal of the bytes, named as the vectors name it. */
class Refused extends Error {
  /** The variant the vectors name (`schema`, `bad_signature`, `payload`, …). */
  readonly error: string;
  /** For `payload`: why the payload was refused. */
  readonly reason?: string;

  constructor(error: string, reason?: string) {
    super(reason ? `${error} (${reason})` : error);
    this.error = error;
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------- shapes (CDDL)

type Check = (value: CborValue | undefined, path: string) => void;

const schema = (path: string, what: string): never => {
  throw new Refused('schema', `${path}: expected ${what}`);
};

const anything: Check = () => undefined;
const text: Check = (v, p) => {
  if (typeof v !== 'string') schema(p, 'text');
};
const bool: Check = (v, p) => {
  if (typeof v !== 'boolean') schema(p, 'a bool');
};
const uint =
  (max = Number.MAX_SAFE_INTEGER, min = 0): Check =>
  (v, p) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) schema(p, `an integer in ${min}..${max}`);
  };
const bytes =
  (size?: number): Check =>
  (v, p) => {
    if (!(v instanceof Uint8Array) || (size !== undefined && v.length !== size)) schema(p, `a byte string${size ? ` of ${size}` : ''}`);
  };
const id =
  (parse: (s: string) => Result<unknown, IdError>): Check =>
  (v, p) => {
    if (typeof v !== 'string' || !parse(v).ok) schema(p, 'an identifier');
  };
const oneOf =
  (...values: string[]): Check =>
  (v, p) => {
    if (typeof v !== 'string' || !values.includes(v)) schema(p, values.join(' / '));
  };
const arrayOf =
  (item: Check, min = 0): Check =>
  (v, p) => {
    if (!Array.isArray(v) || v.length < min) return schema(p, `an array of at least ${min}`);
    v.forEach((x, i) => item(x, `${p}[${i}]`));
  };
const textMap: Check = (v, p) => {
  if (!isTextMap(v)) schema(p, 'a map with text keys');
};
/** An open map (unknown fields allowed): required fields, then `?` optional ones. */
const map =
  (required: Record<string, Check>, optional: Record<string, Check> = {}): Check =>
  (v, p) => {
    if (!isTextMap(v)) return schema(p, 'a map with text keys');
    for (const [k, check] of Object.entries(required)) {
      if (field(v, k) === undefined) schema(`${p}.${k}`, 'a field');
      check(field(v, k), `${p}.${k}`);
    }
    for (const [k, check] of Object.entries(optional)) {
      if (field(v, k) !== undefined) check(field(v, k), `${p}.${k}`);
    }
  };
const either =
  (...checks: Check[]): Check =>
  (v, p) => {
    const failures = checks.filter((check) => {
      try {
        check(v, p);
        return false;
      } catch (e) {
        if (e instanceof Refused) return true;
        throw e;
      }
    });
    if (failures.length === checks.length) schema(p, 'one of the alternatives');
  };

const nodeName = id(parseNodeName);
const userId = id(parseUserId);
const groupId = id(parseGroupId);
const handle = id(parseHandle);
const eventId = id(parseEventId);
const versions = arrayOf(uint(0xffff_ffff, 1), 1);
const mediaId = map({ node: nodeName, sha256: bytes(32) });
const writeResult = map({ group: groupId, seq: uint(), id: eventId }, { role: uint(0xffff_ffff) });
const errorBody = map({ code: text, message: text });
const fedOk = map({ t: oneOf('ok'), id: uint(), result: anything });
const fedErr = map({ t: oneOf('err'), id: uint(), error: errorBody });

/** The rules of spec/cddl/winichat.cddl this family uses, as shape checks. */
const SHAPES: Record<string, Check> = {
  'fed-request': map({ origin: nodeName, destination: nodeName, id: uint(), ts: uint(), method: text, params: textMap }),
  'fed-response': either(fedOk, fedErr),
  'fed-ok': fedOk,
  'fed-err': fedErr,
  'fed-hello-params': map({ versions }),
  'fed-hello-result': map({ versions, ts: uint() }),
  'fed-profile-get-params': map({ user: userId }),
  'fed-profile-get-result': map({ id: userId, display_name: text, bio: text }, { avatar: mediaId }),
  'fed-directory-lookup-params': map({ handle }),
  'fed-directory-lookup-result': map(
    { group: groupId, handle, name: text, description: text, members: uint(), joined: bool },
    { photo: mediaId },
  ),
  'fed-join-params': map({ user: userId, txn: text, via: oneOf('public', 'invite', 'link') }, { group: groupId, code: text }),
  'fed-join-result': writeResult,
  'fed-invite-params': map({ event: bytes(), name: text }),
  'fed-invite-result': map({}),
  // Receivers decode any method text and answer unknown_method for others (federation.md §5.6).
  'fed-submit-params': map({ user: userId, method: text, params: textMap }),
  'fed-submit-result': writeResult,
  'fed-push-params': map({ events: arrayOf(bytes()) }),
  'fed-push-result': map({ outcomes: arrayOf(oneOf('applied', 'duplicate', 'rejected', 'retry')) }),
  'fed-backfill-params': map({ group: groupId, from: uint(), limit: uint(0xffff_ffff) }),
  'fed-backfill-result': map({ events: arrayOf(bytes()), head: uint() }),
  'fed-state-params': map({ group: groupId }),
  'fed-state-result': map({ head: uint(), id: eventId, event: bytes() }),
  // The count (1..64, MAX_SIGNALS) is prose, not CDDL.
  'fed-read-params': map({ reads: arrayOf(map({ group: groupId, user: userId, seq: uint() })) }),
  'fed-read-result': map({}),
  'fed-media-fetch-params': map({ media: mediaId, offset: uint() }),
  'fed-media-fetch-result': map({ size: uint(), public: bool, data: bytes() }),
  'fed-direct-params': map({ user: userId, peer: userId }),
  'fed-direct-result': map({}, { group: groupId }),
  // The count (1..64, MAX_SIGNALS) is prose, not CDDL.
  'fed-typing-params': map({ signals: arrayOf(map({ group: groupId, user: userId })) }),
  'fed-typing-result': map({}),
  // The `profile` and `presence` push data (gateway.md), carried between nodes.
  'fed-profile-changed-params': map({ user: userId, display_name: text, bio: text }, { avatar: mediaId }),
  'fed-profile-changed-result': map({}),
  'fed-presence-params': map({
    presence: arrayOf(map({ user: userId, status: oneOf('online', 'offline') }, { last_seen: uint() })),
  }),
  'fed-presence-result': map({}),
  'fed-link-preview-params': map({ code: text }),
  'fed-link-preview-result': map({ group: groupId, name: text, description: text, members: uint() }, { photo: mediaId }),
  'node-document': map(
    { name: nodeName, key: bytes(32), quic: arrayOf(text, 1), versions, valid_until: uint() },
    { rotation: bytes(), earlier_rotations: arrayOf(bytes(), 1) },
  ),
  'key-rotation': map({ name: nodeName, old_key: bytes(32), new_key: bytes(32), ts: uint() }),
};

/** Signed rules: the payload's rule and the limits the whole COSE_Sign1 is read with. */
const SIGNED: Record<string, { readonly payload: string; readonly limits: Limits }> = {
  'signed-fed-request': { payload: 'fed-request', limits: FEDERATION_FRAME },
  'signed-node-document': { payload: 'node-document', limits: EVENT },
  'signed-key-rotation': { payload: 'key-rotation', limits: EVENT },
};

// ---------------------------------------------------------------------------- decoding

function decodeOrRefuse(b: Uint8Array, limits: Limits): CborValue {
  const decoded = decode(b, limits);
  if (!decoded.ok) throw new Refused(snake(decoded.error.kind));
  return decoded.value;
}

function reencode(value: CborValue, limits: Limits): Uint8Array {
  const bytes = encode(value, limits);
  if (!bytes.ok) throw new Error(`a decoded value does not re-encode: ${JSON.stringify(bytes.error)}`);
  return bytes.value;
}

interface SignedParts {
  readonly kid: string;
  readonly payload: CborValue;
}

/** protocol.md §4: parse the profile, verify with the case's key, then decode the payload. */
function openSigned(b: Uint8Array, c: Case, rule: { payload: string; limits: Limits }): SignedParts {
  const sign1 = decodeOrRefuse(b, rule.limits);
  if (!Array.isArray(sign1) || sign1.length !== 4) return schema('$', 'a COSE_Sign1 array of 4');
  const [protectedBytes, unprotected, payloadBytes, signature] = sign1;
  if (!(protectedBytes instanceof Uint8Array) || !(payloadBytes instanceof Uint8Array)) return schema('$', 'byte strings');
  if (!isTextMap(unprotected) || Object.keys(unprotected).length !== 0) return schema('$[1]', 'the empty map');
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return schema('$[3]', '64 bytes');
  const header = decodeOrRefuse(protectedBytes, PROTECTED_HEADER);
  if (!(header instanceof Map) || header.size !== 2 || header.get(1) !== -19) return schema('$[0]', '{1: -19, 4: kid}');
  const kidBytes = header.get(4);
  if (!(kidBytes instanceof Uint8Array)) return schema('$[0]', 'a kid');
  const kid = new TextDecoder('utf-8', { fatal: true }).decode(kidBytes);
  nodeName(kid, 'kid');
  // The header and the whole COSE_Sign1 re-encode to what was signed and sent.
  expect(toHex(reencode(header, PROTECTED_HEADER))).toBe(toHex(protectedBytes));

  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(fromHex(c.public_key ?? '')).toString('base64url') },
    format: 'jwk',
  });
  const toBeSigned = reencode(['Signature1', protectedBytes, new Uint8Array(0), payloadBytes], rule.limits);
  if (!verify(null, toBeSigned, publicKey, signature)) throw new Refused('bad_signature');

  let payload: CborValue;
  try {
    payload = decodeOrRefuse(payloadBytes, rule.limits);
    SHAPES[rule.payload]?.(payload, '$.payload');
  } catch (e) {
    if (e instanceof Refused) throw new Refused('payload', e.error);
    throw e;
  }
  expect(toHex(reencode(payload, rule.limits))).toBe(toHex(payloadBytes));
  return { kid, payload };
}

/** federation.md §4 checks 5–7 (`check_addressed`). */
function addressed(parts: SignedParts, receiver: string, now: number): Expect {
  const origin = field(parts.payload, 'origin');
  const destination = field(parts.payload, 'destination');
  const ts = field(parts.payload, 'ts');
  if (origin !== parts.kid) return { error: 'origin_mismatch' };
  if (destination !== receiver) return { error: 'wrong_destination' };
  if (typeof ts !== 'number' || Math.abs(ts - now) > MAX_CLOCK_SKEW_MS) return { error: 'stale' };
  return 'valid';
}

/** Decodes the case as its rule; returns the re-encoded bytes, or throws `Refused`. */
function run(c: Case): Uint8Array {
  const b = fromHex(c.hex);
  const signedRule = SIGNED[c.rule];
  if (signedRule) {
    const parts = openSigned(b, c, signedRule);
    for (const at of c.addressed ?? []) {
      expect(addressed(parts, at.receiver, at.now), `addressed at ${at.receiver} ${at.now}`).toEqual(at.expect);
    }
    return reencode(decodeOrRefuse(b, signedRule.limits), signedRule.limits);
  }
  const shape = SHAPES[c.rule];
  if (!shape) throw new Error(`${c.name}: no shape for rule ${c.rule}`);
  const limits = c.rule === 'node-document' || c.rule === 'key-rotation' ? EVENT : FEDERATION_FRAME;
  const value = decodeOrRefuse(b, limits);
  shape(value, '$');
  return reencode(value, limits);
}

const cases: Case[] = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as { cases: Case[] }).cases : [];

describe('federation vectors', () => {
  it('has a case for every rule of the family', () => {
    const rules = new Set(cases.map((c) => c.rule));
    for (const rule of [...Object.keys(SHAPES), ...Object.keys(SIGNED)]) expect(rules, rule).toContain(rule);
    expect(cases.length).toBeGreaterThan(50);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let outcome: { ok: true; bytes: Uint8Array } | { ok: false; refused: Refused };
    try {
      outcome = { ok: true, bytes: run(c) };
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      outcome = { ok: false, refused: e };
    }
    if (c.expect === 'valid') {
      if (!outcome.ok) throw new Error(`expected valid, got ${outcome.refused.message}`);
      expect(toHex(outcome.bytes)).toBe(c.reencoded_hex ?? c.hex);
      return;
    }
    if (outcome.ok) throw new Error(`expected ${JSON.stringify(c.expect)}, but the case was accepted`);
    expect(outcome.refused.error).toBe(c.expect.error);
    if (c.expect.cause !== undefined) expect(outcome.refused.reason).toBe(c.expect.cause);
  });
});
