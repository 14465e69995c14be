/**
 * The maps the gateway's frames carry: method params, results and push data
 * (`protocol/src/gateway.rs`, spec/gateway.md). Each rule is a list of fields; decoding checks
 * the types as the Rust crate's serde does (unknown fields ignored and dropped, `null` reads as
 * an absent optional field), encoding writes the fields in the CDDL's order.
 */
import { CLIENT_FRAME, encode, field, isMap, type CborMap, type CborValue } from './codec';
import type { DecodeError, EncodeError } from './errors';
import { decodeWith, SchemaFailure } from './frames';
import { parseNodeName, parseUserId } from './ids';
import { err, ok, type Result } from './result';

type Kind = 'text' | 'uint' | 'bool' | 'user' | 'users' | 'status' | 'profile' | 'profiles' | 'presences' | 'media' | 'media-requests' | 'urls';
/**
 * `optional`: absent and `null` both read as absent. `nullable`: absent is absent, `null` is kept
 * (a tri-state such as `profile.update`'s `avatar`: absent = unchanged, null = remove).
 */
type Shape = readonly (readonly [name: string, kind: Kind, optional?: 'optional' | 'nullable'])[];

const PROFILE_INFO: Shape = [
  ['id', 'user'],
  ['display_name', 'text'],
  ['bio', 'text'],
  ['avatar', 'media', 'optional'],
];

/** Only for the key order when encoding (`media` checks the fields itself). */
const MEDIA_ID: Shape = [
  ['node', 'text'],
  ['sha256', 'text'],
];

const MEDIA_URL_REQUEST: Shape = [
  ['media', 'media'],
  ['thumb', 'uint', 'optional'],
];

const PRESENCE_DATA: Shape = [
  ['user', 'user'],
  ['status', 'status'],
  ['last_seen', 'uint', 'optional'],
];

/** Every gateway message, by its CDDL rule name. */
export const GATEWAY_RULES = {
  'auth-params': [
    ['token', 'text'],
    ['cursor', 'text', 'optional'],
  ],
  ready: [
    ['user', 'profile'],
    ['session', 'text'],
    ['cursor', 'text'],
    ['resumed', 'bool'],
    ['expires_at', 'uint'],
  ],
  'refresh-params': [['token', 'text']],
  'refresh-result': [['expires_at', 'uint']],
  'profile-get-params': [['user', 'user', 'optional']],
  'profile-update-params': [
    ['display_name', 'text', 'optional'],
    ['bio', 'text', 'optional'],
    ['avatar', 'media', 'nullable'],
  ],
  'profile-info': PROFILE_INFO,
  'search-params': [
    ['query', 'text'],
    ['limit', 'uint', 'optional'],
    ['after', 'text', 'optional'],
  ],
  'search-result': [
    ['users', 'profiles'],
    ['next', 'text', 'optional'],
  ],
  'empty-map': [],
  'presence-data': PRESENCE_DATA,
  'presence-get-params': [['users', 'users']],
  'presence-list': [['presence', 'presences']],
  'profile-data': [
    ['user', 'user'],
    ['display_name', 'text'],
    ['bio', 'text'],
    ['avatar', 'media', 'optional'],
  ],
  'media-url-request': MEDIA_URL_REQUEST,
  'media-urls-params': [['items', 'media-requests']],
  'media-urls': [
    ['urls', 'urls'],
    ['expires_at', 'uint'],
  ],
} as const satisfies Record<string, Shape>;

export type GatewayRule = keyof typeof GATEWAY_RULES;

export function isGatewayRule(rule: string): rule is GatewayRule {
  return Object.prototype.hasOwnProperty.call(GATEWAY_RULES, rule);
}

/** Checks an already decoded value against `rule`; the result holds only the rule's fields. */
export function checkGatewayMessage(rule: GatewayRule, value: CborValue): Result<CborMap, DecodeError> {
  try {
    return ok(shaped(GATEWAY_RULES[rule], value, rule));
  } catch (e) {
    if (e instanceof SchemaFailure) {
      return err(e.idError === undefined ? { kind: 'Schema', message: e.message } : { kind: 'Schema', message: e.message, idError: e.idError });
    }
    throw e;
  }
}

/** Decodes bytes as `rule` (within the client-frame limits). */
export function decodeGatewayMessage(rule: GatewayRule, bytes: Uint8Array): Result<CborMap, DecodeError> {
  return decodeWith(bytes, (value) => shaped(GATEWAY_RULES[rule], value, rule));
}

/** Encodes a message of `rule` with its fields in the CDDL's order. */
export function encodeGatewayMessage(rule: GatewayRule, value: CborMap): Result<Uint8Array, EncodeError> {
  return encode(ordered(GATEWAY_RULES[rule], value), CLIENT_FRAME);
}

function ordered(shape: Shape, value: CborMap): CborMap {
  const out: CborMap = {};
  for (const [name, kind] of shape) {
    const v = value[name];
    if (v === undefined) continue;
    if (kind === 'profile' && isMap(v) && !(v instanceof Map)) out[name] = ordered(PROFILE_INFO, v);
    else if (kind === 'profiles' && Array.isArray(v))
      out[name] = v.map((p) => (isMap(p) && !(p instanceof Map) ? ordered(PROFILE_INFO, p) : p));
    else if (kind === 'presences' && Array.isArray(v))
      out[name] = v.map((p) => (isMap(p) && !(p instanceof Map) ? ordered(PRESENCE_DATA, p) : p));
    else if (kind === 'media' && isMap(v) && !(v instanceof Map)) out[name] = ordered(MEDIA_ID, v);
    else if (kind === 'media-requests' && Array.isArray(v))
      out[name] = v.map((r) => (isMap(r) && !(r instanceof Map) ? ordered(MEDIA_URL_REQUEST, r) : r));
    else out[name] = v;
  }
  return out;
}

function shaped(shape: Shape, value: CborValue, what: string): CborMap {
  if (!isMap(value)) throw new SchemaFailure(`${what}: expected a map`);
  const out: CborMap = {};
  for (const [name, kind, optional] of shape) {
    const v = field(value, name);
    if (v === null && optional === 'nullable') {
      out[name] = null;
      continue;
    }
    if (v === undefined || (v === null && optional)) {
      if (optional) continue;
      throw new SchemaFailure(`missing field \`${name}\``);
    }
    out[name] = typed(kind, v, name);
  }
  return out;
}

function typed(kind: Kind, v: CborValue, name: string): CborValue {
  switch (kind) {
    case 'text':
      if (typeof v !== 'string') throw new SchemaFailure(`${name}: expected a text string`);
      return v;
    case 'uint':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new SchemaFailure(`${name}: expected an unsigned integer`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new SchemaFailure(`${name}: expected a boolean`);
      return v;
    case 'user': {
      if (typeof v !== 'string') throw new SchemaFailure(`${name}: expected a user id`);
      const id = parseUserId(v);
      if (!id.ok) throw new SchemaFailure(`${name}: invalid user id`, id.error);
      return v;
    }
    case 'users':
      if (!Array.isArray(v)) throw new SchemaFailure(`${name}: expected an array`);
      return v.map((u) => typed('user', u, name));
    case 'status':
      if (v !== 'online' && v !== 'offline') throw new SchemaFailure(`${name}: unknown variant, expected \`online\`, \`offline\``);
      return v;
    case 'profile':
      return shaped(PROFILE_INFO, v, name);
    case 'profiles':
      if (!Array.isArray(v)) throw new SchemaFailure(`${name}: expected an array`);
      return v.map((p) => shaped(PROFILE_INFO, p, name));
    case 'presences':
      if (!Array.isArray(v)) throw new SchemaFailure(`${name}: expected an array`);
      return v.map((p) => shaped(PRESENCE_DATA, p, name));
    case 'media': {
      if (!isMap(v)) throw new SchemaFailure(`${name}: expected a media id map`);
      const node = field(v, 'node');
      const sha256 = field(v, 'sha256');
      if (typeof node !== 'string') throw new SchemaFailure(`${name}.node: expected a text string`);
      const parsed = parseNodeName(node);
      if (!parsed.ok) throw new SchemaFailure(`${name}.node: invalid node name`, parsed.error);
      if (!(sha256 instanceof Uint8Array) || sha256.length !== 32) throw new SchemaFailure(`${name}.sha256: expected 32 bytes`);
      return { node, sha256 };
    }
    case 'media-requests':
      if (!Array.isArray(v)) throw new SchemaFailure(`${name}: expected an array`);
      return v.map((r) => shaped(MEDIA_URL_REQUEST, r, name));
    case 'urls':
      if (!Array.isArray(v)) throw new SchemaFailure(`${name}: expected an array`);
      return v.map((u) => {
        if (u !== null && typeof u !== 'string') throw new SchemaFailure(`${name}: expected text or null`);
        return u;
      });
  }
}
