/**
 * The live connection to the node: `/ws`, binary CBOR frames (see `frames.ts`).
 *
 * - The first frame is `auth {token, cursor?}`; its `ok` reply ("ready") carries the user's
 *   profile, a cursor and whether the node could resume from the cursor we sent. On
 *   `resumed: false` after a reconnect, a `resync` event tells the app to reload its state.
 * - `request(method, params)` sends a request with a fresh id and resolves with its `ok` result
 *   or `err` body, or a `timeout` error; requests made while disconnected wait for the next
 *   connection (within their timeout).
 * - Pushes are re-emitted as typed events (`presence`, `profile`) and as the generic `push`;
 *   each push's cursor is remembered for the next resume.
 * - A lost connection is retried with exponential backoff and jitter, forever, until `stop()`.
 * - The access token is refreshed (HTTP, via the `TokenSource`) shortly before it expires and
 *   handed to the node in-band with `auth.refresh`. Close 4001/4002 → refresh, then reconnect;
 *   close 4003 (session revoked) or a refused refresh → `signedOut`.
 */
import { CLIENT_FRAME, encode, field, type CborMap, type CborValue } from './codec';
import type { ErrorBody } from './error-codes';
import { decodeServerFrame, type PushFrame, type RequestId } from './frames';
import { checkGatewayMessage } from './gateway-messages';
import { formatMediaId, parseMediaId, parseUserId, type NodeName } from './ids';
import { err, ok, type Result } from './result';

/** Where the connection stands, for the UI. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** The user's profile as the gateway sends it. */
export interface Profile {
  readonly id: string;
  readonly displayName: string;
  readonly bio: string;
  /** The avatar: a media id in text form `node/<hex>`. */
  readonly avatar?: string;
}

/** The reply to `auth`. */
export interface Ready {
  readonly user: Profile;
  readonly session: string;
  readonly cursor: string;
  readonly resumed: boolean;
  readonly expiresAt: number;
}

/** A `presence` push, or one entry of a `presence.get` reply. */
export interface PresenceEvent {
  readonly user: string;
  readonly status: 'online' | 'offline';
  /** When they were last connected (Unix ms); may be absent for offline users. */
  readonly lastSeen?: number;
}

/** The most users one `presence.get` may ask about. */
export const MAX_PRESENCE_USERS = 100;

/** Why the user is no longer signed in. */
export type SignedOutReason = 'revoked' | 'refresh_failed' | 'unauthenticated';

export interface GatewayEvents {
  state: ConnectionState;
  ready: Ready;
  /** The node could not resume: state the app holds may be stale. */
  resync: Ready;
  presence: PresenceEvent;
  profile: Profile;
  /** Every push, including the ones with a typed event. */
  push: PushFrame;
  signedOut: SignedOutReason;
}

/** A failed request: the node's `err` body, or a local `timeout` / `unavailable` / `bad_request`. */
export type GatewayError = ErrorBody;

/** A fresh access token, as the HTTP auth API hands it out. */
export interface TokenGrant {
  readonly accessToken: string;
  readonly expiresAt: number;
}

/** Where the gateway gets tokens: implemented by `AuthClient`. */
export interface TokenSource {
  readonly grant: TokenGrant | null;
  /** A new access token; an error with a 4xx `status` means the session is over. */
  refresh(): Promise<Result<TokenGrant, { readonly status: number; readonly code: string; readonly message: string }>>;
}

/** The subset of the browser's WebSocket the gateway uses. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface GatewayOptions {
  readonly tokens: TokenSource;
  /** Default: `ws(s)://<this page's host>/ws`. */
  readonly url?: string;
  readonly socket?: SocketFactory;
  /** Per-request timeout (ms), default 15 000. */
  readonly requestTimeoutMs?: number;
  /** Give up on a connection that is not ready after this long (ms), default 15 000. */
  readonly connectTimeoutMs?: number;
  /** First reconnect delay (ms), default 500; doubles per failure up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number;
  /** Longest reconnect delay (ms), default 30 000. */
  readonly maxBackoffMs?: number;
  /** Refresh this long before the token expires (ms), default 60 000 (at most half its life). */
  readonly refreshLeadMs?: number;
  /** Random numbers in [0, 1) for the jitter (tests pin it). */
  readonly random?: () => number;
  /** The clock (Unix ms), default `Date.now`. */
  readonly now?: () => number;
}

/** Close codes the node uses (spec: gateway). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unauthenticated: 4001,
  tokenExpired: 4002,
  revoked: 4003,
} as const;

interface Pending {
  readonly method: string;
  readonly params: CborMap;
  id: RequestId | null;
  readonly resolve: (r: Result<CborValue, GatewayError>) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

type Handler<K extends keyof GatewayEvents> = (value: GatewayEvents[K]) => void;

export class Gateway {
  readonly #o: Required<Omit<GatewayOptions, 'url' | 'socket'>> & { url: string; socket: SocketFactory };
  #state: ConnectionState = 'offline';
  #socket: SocketLike | null = null;
  #ready: Ready | null = null;
  #cursor: string | null = null;
  #nextId = 1;
  #attempt = 0;
  #running = false;
  #everConnected = false;
  #authId: RequestId | null = null;
  readonly #pending = new Map<RequestId, Pending>();
  #waiting: Pending[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #connectTimer: ReturnType<typeof setTimeout> | null = null;
  #refreshTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #handlers = new Map<keyof GatewayEvents, Set<(value: never) => void>>();

  constructor(options: GatewayOptions) {
    this.#o = {
      tokens: options.tokens,
      url: options.url ?? defaultUrl(),
      socket: options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      initialBackoffMs: options.initialBackoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      refreshLeadMs: options.refreshLeadMs ?? 60_000,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The last `ready` reply, or null before the first connection. */
  get ready(): Ready | null {
    return this.#ready;
  }

  /** The cursor sent on the next reconnect. */
  get cursor(): string | null {
    return this.#cursor;
  }

  on<K extends keyof GatewayEvents>(event: K, handler: Handler<K>): () => void {
    let set = this.#handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    set.add(handler as (value: never) => void);
    return () => set.delete(handler as (value: never) => void);
  }

  /** Connects (and keeps reconnecting) until `stop()`. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#attempt = 0;
    this.#everConnected = false;
    this.#cursor = null;
    this.#open();
  }

  /** Closes the connection and stops reconnecting; waiting requests fail with `unavailable`. */
  stop(): void {
    this.#running = false;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      detach(socket);
      socket.close(CLOSE.normal);
    }
    this.#failAll('unavailable', 'Disconnected.');
    this.#setState('offline');
  }

  /** Sends `method` with `params`; resolves with the reply's result or error. */
  request(method: string, params: CborMap = {}, timeoutMs = this.#o.requestTimeoutMs): Promise<Result<CborValue, GatewayError>> {
    return new Promise((resolve) => {
      const pending: Pending = {
        method,
        params,
        id: null,
        resolve,
        timer: setTimeout(() => {
          this.#waiting = this.#waiting.filter((p) => p !== pending);
          if (pending.id !== null) this.#pending.delete(pending.id);
          resolve(err({ code: 'timeout', message: `No answer to ${method} within ${timeoutMs} ms.` }));
        }, timeoutMs),
      };
      if (!this.#running) {
        clearTimeout(pending.timer);
        resolve(err({ code: 'unavailable', message: 'Not connected.' }));
      } else if (this.#state === 'connected') {
        this.#send(pending);
      } else {
        this.#waiting.push(pending);
      }
    });
  }

  // -------------------------------------------------------------------------------------------

  #emit<K extends keyof GatewayEvents>(event: K, value: GatewayEvents[K]): void {
    for (const handler of [...(this.#handlers.get(event) ?? [])]) (handler as Handler<K>)(value);
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emit('state', state);
  }

  #open(): void {
    if (!this.#running) return;
    const grant = this.#o.tokens.grant;
    if (grant === null) {
      void this.#refreshThenReconnect();
      return;
    }
    this.#setState(this.#everConnected ? 'reconnecting' : 'connecting');
    let socket: SocketLike;
    try {
      socket = this.#o.socket(this.#o.url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = null;
      if (this.#socket === socket) this.#lost(socket, 4000);
    }, this.#o.connectTimeoutMs);
    socket.onopen = () => {
      const id = this.#nextId++;
      this.#authId = id;
      const params: CborMap = { token: this.#o.tokens.grant?.accessToken ?? grant.accessToken };
      if (this.#cursor !== null) params.cursor = this.#cursor;
      this.#write(socket, id, 'auth', params);
    };
    socket.onmessage = (ev) => this.#receive(socket, ev.data);
    socket.onclose = (ev) => this.#lost(socket, ev.code);
    socket.onerror = () => {
      // A close event always follows; that is where reconnecting happens.
    };
  }

  #write(socket: SocketLike, id: RequestId, method: string, params: CborMap): boolean {
    const bytes = encode({ t: 'req', id, method, params }, CLIENT_FRAME);
    if (!bytes.ok) return false;
    try {
      socket.send(bytes.value);
      return true;
    } catch {
      return false;
    }
  }

  #send(pending: Pending): void {
    const socket = this.#socket;
    const id = this.#nextId++;
    pending.id = id;
    if (socket === null) {
      this.#waiting.push(pending);
      return;
    }
    const bytes = encode({ t: 'req', id, method: pending.method, params: pending.params }, CLIENT_FRAME);
    if (!bytes.ok) {
      clearTimeout(pending.timer);
      pending.resolve(err({ code: 'bad_request', message: `Cannot encode ${pending.method}: ${bytes.error.kind}` }));
      return;
    }
    this.#pending.set(id, pending);
    try {
      socket.send(bytes.value);
    } catch {
      // The close event follows and fails it.
    }
  }

  #receive(socket: SocketLike, data: unknown): void {
    if (socket !== this.#socket) return;
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : null;
    if (bytes === null) return; // text frames are not part of the protocol
    const frame = decodeServerFrame(bytes);
    if (!frame.ok) return;
    const f = frame.value;
    if (f.t === 'push') {
      if (f.cursor !== undefined) this.#cursor = f.cursor;
      this.#emit('push', f);
      if (f.event === 'presence') {
        const p = parsePresence(f.data);
        if (p) this.#emit('presence', p);
      } else if (f.event === 'profile') {
        const p = parseProfilePush(f.data);
        if (p) this.#emit('profile', p);
      }
      return;
    }
    if (f.id === this.#authId) {
      this.#authId = null;
      if (f.t === 'ok') this.#onReady(socket, f.result);
      else if (f.error.code === 'unauthenticated') this.#lost(socket, CLOSE.unauthenticated);
      else this.#lost(socket, 4000);
      return;
    }
    const pending = this.#pending.get(f.id);
    if (pending === undefined) return;
    this.#pending.delete(f.id);
    clearTimeout(pending.timer);
    pending.resolve(f.t === 'ok' ? ok(f.result) : err(f.error));
  }

  #onReady(socket: SocketLike, result: CborValue): void {
    const ready = parseReady(result);
    if (ready === null) {
      this.#lost(socket, 4000);
      return;
    }
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    const hadCursor = this.#cursor !== null;
    this.#ready = ready;
    this.#cursor = ready.cursor;
    this.#attempt = 0;
    this.#everConnected = true;
    this.#setState('connected');
    this.#scheduleRefresh(ready.expiresAt);
    this.#emit('ready', ready);
    if (hadCursor && !ready.resumed) this.#emit('resync', ready);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const pending of waiting) this.#send(pending);
  }

  /** The socket closed (or is given up on) with `code`. */
  #lost(socket: SocketLike, code: number): void {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#authId = null;
    detach(socket);
    try {
      socket.close();
    } catch {
      // already closed
    }
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    if (this.#refreshTimer !== null) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    // Sent requests may or may not have been carried out: their callers decide what to do.
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.resolve(err({ code: 'unavailable', message: 'The connection was lost.' }));
    }
    if (!this.#running) return;
    if (code === CLOSE.revoked) {
      this.#signOut('revoked');
    } else if (code === CLOSE.tokenExpired || code === CLOSE.unauthenticated) {
      // 4002 is routine (the token ran out); a refused token right after a refresh is not, so
      // repeated 4001s back off like any other failure.
      if (code === CLOSE.unauthenticated) this.#attempt += 1;
      this.#setState(this.#everConnected ? 'reconnecting' : 'connecting');
      void this.#refreshThenReconnect();
    } else {
      this.#scheduleReconnect();
    }
  }

  async #refreshThenReconnect(): Promise<void> {
    const fresh = await this.#o.tokens.refresh();
    if (!this.#running) return;
    if (fresh.ok) {
      if (this.#attempt > 1) this.#scheduleReconnect();
      else this.#open();
    } else if (fresh.error.status >= 400 && fresh.error.status < 500) {
      this.#signOut('refresh_failed');
    } else {
      this.#scheduleReconnect(); // the node is unreachable: try again later
    }
  }

  #scheduleReconnect(): void {
    this.#setState(this.#everConnected ? 'reconnecting' : 'connecting');
    const delay = this.backoffDelay(this.#attempt);
    this.#attempt += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delay);
  }

  /** The wait before reconnect attempt `attempt` (0-based): half fixed, half random. */
  backoffDelay(attempt: number): number {
    const ceiling = Math.min(this.#o.maxBackoffMs, this.#o.initialBackoffMs * 2 ** Math.min(attempt, 30));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#o.random());
  }

  #scheduleRefresh(expiresAt: number): void {
    if (this.#refreshTimer !== null) clearTimeout(this.#refreshTimer);
    const life = expiresAt - this.#o.now();
    const lead = Math.min(this.#o.refreshLeadMs, Math.max(0, life / 2));
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null;
      void this.#refreshInBand();
    }, Math.max(0, life - lead));
  }

  async #refreshInBand(): Promise<void> {
    const fresh = await this.#o.tokens.refresh();
    if (!this.#running) return;
    if (!fresh.ok) {
      if (fresh.error.status >= 400 && fresh.error.status < 500) {
        this.#signOut('refresh_failed');
      } else {
        // Unreachable for now: try again soon; if the token runs out first, the node closes
        // with 4002 and the reconnect path refreshes.
        this.#refreshTimer = setTimeout(() => void this.#refreshInBand(), 5_000);
      }
      return;
    }
    if (this.#state !== 'connected') return; // the next `auth` carries the new token
    const reply = await this.request('auth.refresh', { token: fresh.value.accessToken });
    if (reply.ok) {
      const expiresAt = field(reply.value, 'expires_at');
      this.#scheduleRefresh(typeof expiresAt === 'number' ? expiresAt : fresh.value.expiresAt);
    } else {
      this.#scheduleRefresh(fresh.value.expiresAt);
    }
  }

  #signOut(reason: SignedOutReason): void {
    this.stop();
    this.#emit('signedOut', reason);
  }

  #failAll(code: string, message: string): void {
    for (const pending of [...this.#pending.values(), ...this.#waiting]) {
      clearTimeout(pending.timer);
      pending.resolve(err({ code, message }));
    }
    this.#pending.clear();
    this.#waiting = [];
  }

  #clearTimers(): void {
    for (const t of [this.#retryTimer, this.#connectTimer, this.#refreshTimer]) if (t !== null) clearTimeout(t);
    this.#retryTimer = this.#connectTimer = this.#refreshTimer = null;
  }
}

function detach(socket: SocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
}

function defaultUrl(): string {
  const secure = globalThis.location?.protocol === 'https:';
  return `${secure ? 'wss' : 'ws'}://${globalThis.location?.host ?? '127.0.0.1:7800'}/ws`;
}

/** A checked wire media id (`{node, sha256}`) → text form. */
function mediaText(v: CborValue | undefined): string | undefined {
  const node = field(v ?? null, 'node');
  const sha256 = field(v ?? null, 'sha256');
  if (typeof node !== 'string' || !(sha256 instanceof Uint8Array)) return undefined;
  return formatMediaId({ node: node as NodeName, sha256 });
}

function profileOf(map: CborMap, idKey: 'id' | 'user'): Profile {
  const base = { id: String(map[idKey]), displayName: String(map.display_name), bio: String(map.bio) };
  const avatar = mediaText(map.avatar);
  return avatar === undefined ? base : { ...base, avatar };
}

function parseReady(value: CborValue): Ready | null {
  const r = checkGatewayMessage('ready', value);
  if (!r.ok) return null;
  const v = r.value;
  return {
    user: profileOf(v.user as CborMap, 'id'),
    session: String(v.session),
    cursor: String(v.cursor),
    resumed: v.resumed === true,
    expiresAt: Number(v.expires_at),
  };
}

function parseProfilePush(value: CborValue): Profile | null {
  const r = checkGatewayMessage('profile-data', value);
  return r.ok ? profileOf(r.value, 'user') : null;
}

function parsePresence(value: CborValue): PresenceEvent | null {
  const r = checkGatewayMessage('presence-data', value);
  if (!r.ok) return null;
  const { user, status, last_seen: lastSeen } = r.value;
  const base = { user: String(user), status: status === 'online' ? ('online' as const) : ('offline' as const) };
  return typeof lastSeen === 'number' ? { ...base, lastSeen } : base;
}

/** What `getPresence` needs of a gateway (tests pass a fake). */
export interface PresenceTransport {
  request(method: string, params?: CborMap, timeoutMs?: number): Promise<Result<CborValue, GatewayError>>;
}

/**
 * `presence.get`: the presence of up to {@link MAX_PRESENCE_USERS} users. The node answers only
 * for users who share a chat with the caller (or the caller), in the order asked; the others
 * are left out of the result.
 *
 * Defensive: ids that are not user ids and repeats are dropped before sending (no ids left: an
 * empty result without a request; more than the limit: `bad_request`). A reply that is not
 * `{presence: [..]}` is `bad_response`; entries of the wrong shape (an unknown status, say),
 * for users not asked about, or repeated, are skipped.
 */
export async function getPresence(gateway: PresenceTransport, users: readonly string[]): Promise<Result<PresenceEvent[], GatewayError>> {
  const asked = [...new Set(users.filter((u) => parseUserId(u).ok))];
  if (asked.length === 0) return ok([]);
  if (asked.length > MAX_PRESENCE_USERS) {
    return err({ code: 'bad_request', message: `presence.get takes at most ${MAX_PRESENCE_USERS} users, got ${asked.length}.` });
  }
  const reply = await gateway.request('presence.get', { users: asked });
  if (!reply.ok) return reply;
  const list = field(reply.value, 'presence');
  if (!Array.isArray(list)) return err({ code: 'bad_response', message: 'Unexpected presence.get reply: result.presence: expected an array' });
  const wanted = new Set(asked);
  const out: PresenceEvent[] = [];
  for (const entry of list) {
    const p = parsePresence(entry);
    if (p === null || !wanted.has(p.user)) continue;
    wanted.delete(p.user);
    out.push(p);
  }
  return ok(out);
}

/** What `updateProfile` and `getMediaUrls` need of a gateway (tests pass a fake). */
export type GatewayTransport = PresenceTransport;

/** `profile.update` changes; an absent field is left unchanged. */
export interface ProfileChanges {
  readonly displayName?: string;
  readonly bio?: string;
  /** A media id (text form; an image the caller uploaded) to set, or null to remove the avatar. */
  readonly avatar?: string | null;
}

/** `profile.update`: the reply is the caller's new profile (others get a `profile` push). */
export async function updateProfile(gateway: GatewayTransport, changes: ProfileChanges): Promise<Result<Profile, GatewayError>> {
  const params: CborMap = {};
  if (changes.displayName !== undefined) params.display_name = changes.displayName;
  if (changes.bio !== undefined) params.bio = changes.bio;
  if (changes.avatar !== undefined) {
    if (changes.avatar === null) params.avatar = null;
    else {
      const id = parseMediaId(changes.avatar);
      if (!id.ok) return err({ code: 'bad_request', message: 'avatar: invalid media id' });
      params.avatar = { node: id.value.node, sha256: id.value.sha256 };
    }
  }
  const reply = await gateway.request('profile.update', params);
  if (!reply.ok) return reply;
  const checked = checkGatewayMessage('profile-info', reply.value);
  if (!checked.ok) return err({ code: 'bad_response', message: `Unexpected profile.update reply: ${checked.error.kind}` });
  return ok(profileOf(checked.value, 'id'));
}

/** The most items one `media.urls` may ask for. */
export const MAX_MEDIA_URL_ITEMS = 100;

/** The thumbnail sizes a node makes for images and video posters (longest side, px). */
export const THUMB_SIZES = [96, 320, 1280] as const;
export type ThumbSize = (typeof THUMB_SIZES)[number];

/** True for one of {@link THUMB_SIZES}. */
export function isThumbSize(n: number): n is ThumbSize {
  return (THUMB_SIZES as readonly number[]).includes(n);
}

/** `media.urls` limits (`MediaUrlsParams::check`): at most 100 items, thumbnails of a known size. */
export function checkMediaUrlsParams(items: readonly MediaUrlRequest[]): 'too_many' | 'thumb_size' | null {
  if (items.length > MAX_MEDIA_URL_ITEMS) return 'too_many';
  if (items.some((i) => i.thumb !== undefined && !isThumbSize(i.thumb))) return 'thumb_size';
  return null;
}

/** One `media.urls` request: a media id (text form) and, for a thumbnail, one of `THUMB_SIZES`. */
export interface MediaUrlRequest {
  readonly media: string;
  readonly thumb?: number;
}

/** `media.urls` result: one signed path per request, in order (null: not visible / unknown). */
export interface MediaUrls {
  readonly urls: readonly (string | null)[];
  /** When the URLs stop working (Unix ms). */
  readonly expiresAt: number;
}

/**
 * `media.urls`: short-lived signed paths (`/api/media/<hex>[/thumb/<n>]?exp=…&sig=…`) for up to
 * {@link MAX_MEDIA_URL_ITEMS} media, usable in `<img>`, `<audio>` and `<video>`. An item that is
 * not a media id gets null without being sent; no valid items: an empty result without a request;
 * more than the limit: `bad_request`. A reply of the wrong shape (or length) is `bad_response`.
 */
export async function getMediaUrls(gateway: GatewayTransport, items: readonly MediaUrlRequest[]): Promise<Result<MediaUrls, GatewayError>> {
  const problem = checkMediaUrlsParams(items);
  if (problem === 'too_many') {
    return err({ code: 'bad_request', message: `media.urls takes at most ${MAX_MEDIA_URL_ITEMS} items, got ${items.length}.` });
  }
  if (problem === 'thumb_size') return err({ code: 'bad_request', message: `Thumbnail sizes are ${THUMB_SIZES.join(', ')}.` });
  const sent: CborMap[] = [];
  const index: (number | null)[] = [];
  for (const item of items) {
    const id = parseMediaId(item.media);
    if (!id.ok) {
      index.push(null);
      continue;
    }
    const request: CborMap = { media: { node: id.value.node, sha256: id.value.sha256 } };
    if (item.thumb !== undefined) request.thumb = item.thumb;
    index.push(sent.length);
    sent.push(request);
  }
  if (sent.length === 0) return ok({ urls: items.map(() => null), expiresAt: 0 });
  const reply = await gateway.request('media.urls', { items: sent });
  if (!reply.ok) return reply;
  const checked = checkGatewayMessage('media-urls', reply.value);
  if (!checked.ok) return err({ code: 'bad_response', message: `Unexpected media.urls reply: ${checked.error.kind}` });
  const urls = checked.value.urls as (string | null)[];
  if (urls.length !== sent.length) {
    return err({ code: 'bad_response', message: `Unexpected media.urls reply: ${urls.length} urls for ${sent.length} items` });
  }
  return ok({ urls: index.map((i) => (i === null ? null : (urls[i] ?? null))), expiresAt: Number(checked.value.expires_at) });
}
