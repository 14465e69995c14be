// @vitest-environment node
/**
 * The shared test vectors (spec/vectors/*.json, also read by protocol/tests/spec_vectors.rs):
 * every case of the families the browser SDK decodes is accepted or refused exactly as stated,
 * and every valid case re-encodes to the same bytes (or to `reencoded_hex`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { CLIENT_FRAME, encode, field, isMap, type CborValue } from '../codec';
import type { DecodeError, EncodeError, IdError } from '../errors';
import { isKnownErrorCode } from '../error-codes';
import {
  decodeClientFrame,
  decodeErrorBody,
  decodeServerFrame,
  decodeWith,
  encodeClientFrame,
  encodeErrorBody,
  encodeServerFrame,
  SchemaFailure,
} from '../frames';
import { decodeGatewayMessage, encodeGatewayMessage, isGatewayRule } from '../gateway-messages';
import {
  formatMediaId,
  parseEventId,
  parseGroupId,
  parseHandle,
  parseMediaId,
  parseNodeName,
  parseUserId,
} from '../ids';
import type { Result } from '../result';

const VECTORS = fileURLToPath(new URL('../../../../spec/vectors/', import.meta.url));

/** Families whose every case this suite runs. */
const COVERED = ['client', 'encoding', 'errors', 'gateway', 'identifiers', 'server'];
/**
 * Families the browser does not decode (yet): events, signing and federation stay on the nodes;
 * event bodies are checked (limits included) by the node that writes them — the browser reads
 * them leniently inside timeline items. `chat` runs in chat-vectors.spec.ts, `media` in
 * media-vectors.spec.ts, `federation` in federation-vectors.spec.ts (as a second
 * implementation would read it, not as the browser does).
 */
const NOT_IN_THE_BROWSER = ['events', 'federation', 'log', 'signing', 'event-bodies', 'chat', 'media'];

interface Case {
  readonly name: string;
  readonly rule: string;
  readonly hex: string;
  readonly expect: 'valid' | { readonly error: string; readonly id_error?: string; readonly cause?: string };
  readonly reencoded_hex?: string;
}

interface VectorFile {
  readonly family: string;
  readonly cases?: readonly Case[];
}

function load(): VectorFile[] {
  return readdirSync(VECTORS)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(VECTORS + name, 'utf8')) as VectorFile);
}

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
/** `TooDeep` → `too_deep`: the vectors name Rust variants in snake_case. */
const snake = (kind: string): string => kind.replace(/[A-Z]/g, (c, at: number) => (at > 0 ? '_' : '') + c.toLowerCase());

type Outcome = Result<Uint8Array, DecodeError>;

/** Decodes, then re-encodes; an encode failure after a good decode is a bug, so it throws. */
function roundTrip<T>(decoded: Result<T, DecodeError>, reencode: (value: T) => Result<Uint8Array, EncodeError>): Outcome {
  if (!decoded.ok) return decoded;
  const bytes = reencode(decoded.value);
  if (!bytes.ok) throw new Error(`decoded value does not re-encode: ${JSON.stringify(bytes.error)}`);
  return bytes;
}

/** An identifier on the wire is a text string; a malformed one is a schema error naming its IdError. */
function identifier(bytes: Uint8Array, parse: (text: string) => Result<string, IdError>): Outcome {
  const decoded = decodeWith(bytes, (value) => {
    if (typeof value !== 'string') throw new SchemaFailure('expected a text string');
    const parsed = parse(value);
    if (!parsed.ok) throw new SchemaFailure('malformed identifier', parsed.error);
    return parsed.value;
  });
  return roundTrip(decoded, (text) => encode(text, CLIENT_FRAME));
}

/** A media id on the wire: `{node: tstr, sha256: bstr .size 32}`, unknown fields ignored. */
function mediaId(bytes: Uint8Array): Outcome {
  const decoded = decodeWith(bytes, (value: CborValue) => {
    if (!isMap(value)) throw new SchemaFailure('expected a map');
    const node = field(value, 'node');
    const sha256 = field(value, 'sha256');
    if (typeof node !== 'string') throw new SchemaFailure('node: expected a text string');
    if (!(sha256 instanceof Uint8Array) || sha256.length !== 32) throw new SchemaFailure('sha256: expected 32 bytes');
    const hex = toHex(sha256);
    const parsed = parseMediaId(`${node}/${hex}`);
    if (!parsed.ok) throw new SchemaFailure('malformed media id', parsed.error);
    expect(formatMediaId(parsed.value)).toBe(`${node}/${hex}`);
    return parsed.value;
  });
  return roundTrip(decoded, (media) => encode({ node: media.node, sha256: media.sha256 }, CLIENT_FRAME));
}

const SERVER_FORMS: Record<string, string> = { ok: 'server-ok', err: 'server-err', push: 'push' };

function run(c: Case): Outcome {
  const bytes = fromHex(c.hex);
  switch (c.rule) {
    case 'client-frame':
    case 'client-request':
      return roundTrip(decodeClientFrame(bytes), encodeClientFrame);
    case 'server-frame':
    case 'server-ok':
    case 'server-err':
    case 'push': {
      const decoded = decodeServerFrame(bytes);
      if (decoded.ok && c.rule !== 'server-frame') expect(SERVER_FORMS[decoded.value.t]).toBe(c.rule);
      if (decoded.ok && decoded.value.t === 'err') {
        const code = decoded.value.error.code;
        expect(isKnownErrorCode(code), `code ${code}`).toBe(code !== 'quota_exceeded');
      }
      return roundTrip(decoded, encodeServerFrame);
    }
    case 'error-body':
      return roundTrip(decodeErrorBody(bytes), encodeErrorBody);
    case 'error-code': {
      const decoded = decodeWith(bytes, (value) => {
        if (typeof value !== 'string') throw new SchemaFailure('error code: expected a text string');
        return value;
      });
      return roundTrip(decoded, (code) => encode(code, CLIENT_FRAME));
    }
    case 'node-name':
      return identifier(bytes, parseNodeName);
    case 'user-id':
      return identifier(bytes, parseUserId);
    case 'group-id':
      return identifier(bytes, parseGroupId);
    case 'handle':
      return identifier(bytes, parseHandle);
    case 'event-id':
      return identifier(bytes, parseEventId);
    case 'media-id':
      return mediaId(bytes);
    default: {
      const rule = c.rule;
      if (isGatewayRule(rule)) {
        return roundTrip(decodeGatewayMessage(rule, bytes), (value) => encodeGatewayMessage(rule, value));
      }
      throw new Error(`${c.name}: no decoder for rule ${c.rule}`);
    }
  }
}

const files = load();

describe('spec vectors', () => {
  it('every family is either covered here or known to stay on the nodes', () => {
    for (const file of files) {
      expect([...COVERED, ...NOT_IN_THE_BROWSER], `family ${file.family}`).toContain(file.family);
    }
    for (const family of COVERED) expect(files.map((f) => f.family)).toContain(family);
  });

  for (const file of files.filter((f) => COVERED.includes(f.family))) {
    describe(file.family, () => {
      it.each((file.cases ?? []).map((c) => [c.name, c] as const))('%s', (_name, c) => {
        const outcome = run(c);
        if (c.expect === 'valid') {
          if (!outcome.ok) throw new Error(`expected valid, got ${JSON.stringify(outcome.error, bigints)}`);
          expect(toHex(outcome.value)).toBe(c.reencoded_hex ?? c.hex);
          return;
        }
        expect(outcome.ok, 'expected an error').toBe(false);
        if (outcome.ok) return;
        expect(snake(outcome.error.kind)).toBe(c.expect.error);
        if (c.expect.id_error !== undefined) {
          expect(outcome.error.kind === 'Schema' ? outcome.error.idError?.kind : undefined).toBeDefined();
          if (outcome.error.kind === 'Schema' && outcome.error.idError) {
            expect(snake(outcome.error.idError.kind)).toBe(c.expect.id_error);
          }
        }
      });
    });
  }

  it('runs a reasonable number of cases', () => {
    const count = files.filter((f) => COVERED.includes(f.family)).reduce((n, f) => n + (f.cases?.length ?? 0), 0);
    expect(count).toBeGreaterThan(100);
  });
});

function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
