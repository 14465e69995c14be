/**
 * Client frames: what a browser and its node say to each other over the WebSocket
 * (`protocol/src/client.rs`). Every frame is one binary WebSocket message holding one CBOR map
 * with a `t` field. The client sends requests; the node answers each request exactly once
 * (`ok` or `err`) and pushes events of its own.
 *
 * Decoding follows the Rust crate's serde rules: fields may come in any order, unknown fields
 * are ignored (and dropped on re-encoding), a missing or mistyped field is a `Schema` error.
 * Encoding writes the fields in the order of the CDDL.
 */
import { CLIENT_FRAME, decode, encode, field, isMap, type CborKeyedMap, type CborMap, type CborValue } from './codec';
import type { ErrorBody } from './error-codes';
import type { DecodeError, EncodeError, IdError } from './errors';
import { err, ok, type Result } from './result';

/** A request id, chosen by the client, unique among its requests in flight. */
export type RequestId = number;

/** A method call; the node replies exactly once with the same `id`. */
export interface Request {
  readonly t: 'req';
  readonly id: RequestId;
  /** The method, e.g. `auth`; an unknown one gets `unknown_method`. */
  readonly method: string;
  /** The method's parameters: a map. */
  readonly params: CborMap | CborKeyedMap;
}

/** A frame from a client to its node. */
export type ClientFrame = Request;

/** The request `id` succeeded. */
export interface OkFrame {
  readonly t: 'ok';
  readonly id: RequestId;
  readonly result: CborValue;
}

/** The request `id` failed. */
export interface ErrFrame {
  readonly t: 'err';
  readonly id: RequestId;
  readonly error: ErrorBody;
}

/** Something happened that the client should know. */
export interface PushFrame {
  readonly t: 'push';
  /** The event's name, e.g. `presence`. */
  readonly event: string;
  readonly data: CborValue;
  /** Where the client stands after this push; sent back on reconnect to resume. */
  readonly cursor?: string;
}

/** A frame from a node to a client. */
export type ServerFrame = OkFrame | ErrFrame | PushFrame;

/** Decodes a frame received from a client (used by tests and tools; the node decodes in Rust). */
export function decodeClientFrame(bytes: Uint8Array): Result<ClientFrame, DecodeError> {
  return decodeWith(bytes, (frame) => {
    const t = tag(frame);
    if (t !== 'req') throw unknownVariant(t, ['req']);
    return {
      t,
      id: requestId(frame),
      method: text(frame, 'method'),
      params: mapField(frame, 'params'),
    };
  });
}

/** Encodes a client frame, refusing one the node would not accept. */
export function encodeClientFrame(frame: ClientFrame): Result<Uint8Array, EncodeError> {
  return encode({ t: frame.t, id: frame.id, method: frame.method, params: frame.params }, CLIENT_FRAME);
}

/** Decodes a frame received from the node. */
export function decodeServerFrame(bytes: Uint8Array): Result<ServerFrame, DecodeError> {
  return decodeWith(bytes, (frame): ServerFrame => {
    const t = tag(frame);
    switch (t) {
      case 'ok':
        return { t, id: requestId(frame), result: required(frame, 'result') };
      case 'err':
        return { t, id: requestId(frame), error: errorBodyOf(required(frame, 'error'), 'error') };
      case 'push': {
        const push: { t: 'push'; event: string; data: CborValue; cursor?: string } = {
          t,
          event: text(frame, 'event'),
          data: required(frame, 'data'),
        };
        const cursor = optionalText(frame, 'cursor');
        if (cursor !== undefined) push.cursor = cursor;
        return push;
      }
      default:
        throw unknownVariant(t, ['ok', 'err', 'push']);
    }
  });
}

/** Encodes a server frame (used by tests and mock nodes). */
export function encodeServerFrame(frame: ServerFrame): Result<Uint8Array, EncodeError> {
  switch (frame.t) {
    case 'ok':
      return encode({ t: frame.t, id: frame.id, result: frame.result }, CLIENT_FRAME);
    case 'err':
      return encode(
        { t: frame.t, id: frame.id, error: { code: frame.error.code, message: frame.error.message } },
        CLIENT_FRAME,
      );
    case 'push':
      return encode({ t: frame.t, event: frame.event, data: frame.data, cursor: frame.cursor }, CLIENT_FRAME);
  }
}

/** Decodes a bare error body `{code, message}`. */
export function decodeErrorBody(bytes: Uint8Array): Result<ErrorBody, DecodeError> {
  return decodeWith(bytes, (value) => errorBodyOf(value, 'error body'));
}

/** Encodes a bare error body. */
export function encodeErrorBody(body: ErrorBody): Result<Uint8Array, EncodeError> {
  return encode({ code: body.code, message: body.message }, CLIENT_FRAME);
}

// ---------------------------------------------------------------------------------------------
// Schema checks. They throw SchemaFailure inside `decodeWith`, which turns it into a result, so
// each shape reads as a plain description of its fields.

/** A `Schema` error on its way out of a shape check; never escapes this module. */
export class SchemaFailure extends Error {
  constructor(
    message: string,
    readonly idError?: IdError,
  ) {
    super(message);
  }
}

/** Decodes `bytes` within the client-frame limits and gives the value to `shape`. */
export function decodeWith<T>(bytes: Uint8Array, shape: (value: CborValue) => T): Result<T, DecodeError> {
  const decoded = decode(bytes, CLIENT_FRAME);
  if (!decoded.ok) return decoded;
  try {
    return ok(shape(decoded.value));
  } catch (e) {
    if (e instanceof SchemaFailure) {
      return err(
        e.idError === undefined
          ? { kind: 'Schema', message: e.message }
          : { kind: 'Schema', message: e.message, idError: e.idError },
      );
    }
    throw e;
  }
}

function mapOf(value: CborValue, what: string): CborMap | CborKeyedMap {
  if (!isMap(value)) throw new SchemaFailure(`${what}: expected a map`);
  return value;
}

export function required(map: CborValue, name: string): CborValue {
  const value = field(mapOf(map, 'frame'), name);
  if (value === undefined) throw new SchemaFailure(`missing field \`${name}\``);
  return value;
}

export function text(map: CborValue, name: string): string {
  const value = required(map, name);
  if (typeof value !== 'string') throw new SchemaFailure(`${name}: expected a text string`);
  return value;
}

/** An optional text field; `null` counts as absent, as serde reads `Option`. */
function optionalText(map: CborValue, name: string): string | undefined {
  const value = field(map, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SchemaFailure(`${name}: expected a text string`);
  return value;
}

function mapField(map: CborValue, name: string): CborMap | CborKeyedMap {
  return mapOf(required(map, name), name);
}

/** A request id: an unsigned integer (the codec keeps it within 2^53 − 1). */
function requestId(map: CborValue): RequestId {
  const id = required(map, 'id');
  if (typeof id !== 'number' || id < 0) throw new SchemaFailure('id: expected an unsigned integer');
  return id;
}

/** The frame type `t`, which must be text. */
function tag(value: CborValue): string {
  mapOf(value, 'frame');
  const t = field(value, 't');
  if (t === undefined) throw new SchemaFailure('missing field `t`');
  if (typeof t !== 'string') throw new SchemaFailure('t: expected a text string');
  return t;
}

function unknownVariant(t: string, expected: readonly string[]): SchemaFailure {
  return new SchemaFailure(`unknown variant \`${t}\`, expected one of ${expected.map((e) => `\`${e}\``).join(', ')}`);
}

function errorBodyOf(value: CborValue, what: string): ErrorBody {
  mapOf(value, what);
  return { code: text(value, 'code'), message: text(value, 'message') };
}
