/**
 * The node's HTTP auth API (`/api/auth/*`): register, log in, refresh, log out, sessions,
 * password.
 *
 * Where the secrets live: the refresh token only ever in the node's HttpOnly cookie
 * (`winichat_refresh`, Path=/api/auth), which the browser sends with `credentials:
 * 'same-origin'`; the access token only in this object's memory. Nothing is written to
 * storage, so a reload signs in again through `refresh()` (the cookie) or not at all.
 *
 * Every call returns a `Result`; an HTTP error becomes `{status, code, message}` from the
 * node's `{code, message}` body, a network failure `{status: 0, code: 'unavailable'}`.
 */
import type { ErrorCode } from './error-codes';
import { err, ok, type Result } from './result';

/** How long to wait before asking again after a refresh raced another tab's. */
const REFRESH_RETRY_MS = 200;

/**
 * Runs `task` while holding a lock shared by every tab of this origin (Web Locks), so tabs
 * rotate the one refresh cookie one after another instead of tripping the node's reuse check.
 * Where Web Locks are missing the task runs directly.
 */
function acrossTabs<T>(task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  return locks ? locks.request('winichat-refresh', task) : task();
}

/** What register, login and refresh return: who is signed in, and a short-lived token. */
export interface AccessGrant {
  readonly userId: string;
  readonly accessToken: string;
  /** When the access token expires, Unix milliseconds (the node's clock). */
  readonly expiresAt: number;
}

/** One signed-in device of the user. */
export interface SessionInfo {
  readonly id: string;
  readonly device: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  /** True for the session making the request. */
  readonly current: boolean;
}

/** Why an auth call failed. */
export interface ApiError {
  /** The HTTP status; 0 when the node could not be reached. */
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface RegisterInput {
  readonly username: string;
  readonly password: string;
  readonly displayName?: string;
  readonly registrationToken?: string;
}

export interface LoginInput {
  readonly username: string;
  readonly password: string;
  readonly device?: string;
}

export interface AuthClientOptions {
  /** Prefix of the API paths: '' (same origin, the default) or e.g. `http://127.0.0.1:7800`. */
  readonly baseUrl?: string;
  /** The fetch to use (tests pass a fake). */
  readonly fetch?: typeof fetch;
}

type Listener = (grant: AccessGrant | null) => void;

/**
 * The HTTP auth API, holding the current access grant in memory. `refresh()` is single-flight:
 * concurrent callers share one request, because the node rotates the refresh token on every
 * use and treats a second use of the old one as theft (revoking the session).
 */
export class AuthClient {
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;
  #grant: AccessGrant | null = null;
  #refreshing: Promise<Result<AccessGrant, ApiError>> | null = null;
  readonly #listeners = new Set<Listener>();

  constructor(options: AuthClientOptions = {}) {
    this.#baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
    const f = options.fetch;
    this.#fetch = f ?? ((input, init) => fetch(input, init));
  }

  /** The current grant, or null when signed out. */
  get grant(): AccessGrant | null {
    return this.#grant;
  }

  /** Calls `listener` whenever the grant changes (sign-in, refresh, sign-out). */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** `POST /api/auth/register`; on success the user is signed in. */
  async register(input: RegisterInput): Promise<Result<AccessGrant, ApiError>> {
    const body: Record<string, string> = { username: input.username, password: input.password };
    if (input.displayName) body.display_name = input.displayName;
    if (input.registrationToken) body.registration_token = input.registrationToken;
    return this.#granting(await this.#call('POST', '/api/auth/register', body));
  }

  /** `POST /api/auth/login`; on success the user is signed in. */
  async login(input: LoginInput): Promise<Result<AccessGrant, ApiError>> {
    const body: Record<string, string> = { username: input.username, password: input.password };
    if (input.device) body.device = input.device;
    return this.#granting(await this.#call('POST', '/api/auth/login', body));
  }

  /**
   * `POST /api/auth/refresh` with the cookie: a new access token (and a rotated cookie). A
   * 4xx answer means the session is over: the grant is cleared.
   */
  refresh(): Promise<Result<AccessGrant, ApiError>> {
    if (this.#refreshing === null) {
      this.#refreshing = (async () => {
        try {
          const reply = await acrossTabs(async () => {
            const first = await this.#call('POST', '/api/auth/refresh', undefined);
            // 409: another tab rotated the shared cookie a moment ago (the node allows a short
            // grace for that); the browser already holds the new cookie, so ask once more.
            if (first.ok || first.error.status !== 409) return first;
            await new Promise((resolve) => setTimeout(resolve, REFRESH_RETRY_MS));
            return this.#call('POST', '/api/auth/refresh', undefined);
          });
          if (!reply.ok && reply.error.status >= 400 && reply.error.status < 500) this.#set(null);
          return this.#granting(reply);
        } finally {
          this.#refreshing = null;
        }
      })();
    }
    return this.#refreshing;
  }

  /** `POST /api/auth/logout`: revokes this session and clears the cookie. Signed out either way. */
  async logout(): Promise<Result<void, ApiError>> {
    const reply = await this.#call('POST', '/api/auth/logout', undefined, true);
    this.#set(null);
    return reply.ok ? ok(undefined) : reply;
  }

  /** `GET /api/auth/sessions`: the user's signed-in devices. */
  async sessions(): Promise<Result<SessionInfo[], ApiError>> {
    const reply = await this.#call('GET', '/api/auth/sessions', undefined, true);
    if (!reply.ok) return reply;
    if (!Array.isArray(reply.value)) return err(malformed());
    const list: SessionInfo[] = [];
    for (const item of reply.value as unknown[]) {
      const s = item as Record<string, unknown> | null;
      if (typeof s !== 'object' || s === null || typeof s.id !== 'string') return err(malformed());
      list.push({
        id: s.id,
        device: typeof s.device === 'string' ? s.device : '',
        createdAt: typeof s.created_at === 'number' ? s.created_at : 0,
        lastUsedAt: typeof s.last_used_at === 'number' ? s.last_used_at : 0,
        current: s.current === true,
      });
    }
    return ok(list);
  }

  /** `DELETE /api/auth/sessions/{id}`. */
  async revokeSession(id: string): Promise<Result<void, ApiError>> {
    const reply = await this.#call('DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`, undefined, true);
    return reply.ok ? ok(undefined) : reply;
  }

  /** `POST /api/auth/sessions/revoke-others`: signs out every other device. */
  async revokeOtherSessions(): Promise<Result<void, ApiError>> {
    const reply = await this.#call('POST', '/api/auth/sessions/revoke-others', undefined, true);
    return reply.ok ? ok(undefined) : reply;
  }

  /** `POST /api/auth/password`; the node signs out every other session. */
  async changePassword(currentPassword: string, newPassword: string): Promise<Result<void, ApiError>> {
    const body = { current_password: currentPassword, new_password: newPassword };
    const reply = await this.#call('POST', '/api/auth/password', body, true);
    return reply.ok ? ok(undefined) : reply;
  }

  /** Forgets the grant without telling the node (the node already ended the session). */
  forget(): void {
    this.#set(null);
  }

  #set(grant: AccessGrant | null): void {
    this.#grant = grant;
    for (const listener of [...this.#listeners]) listener(grant);
  }

  #granting(reply: Result<unknown, ApiError>): Result<AccessGrant, ApiError> {
    if (!reply.ok) return reply;
    const v = reply.value as Record<string, unknown> | null;
    if (
      typeof v !== 'object' ||
      v === null ||
      typeof v.user_id !== 'string' ||
      typeof v.access_token !== 'string' ||
      typeof v.expires_at !== 'number'
    ) {
      return err(malformed());
    }
    const grant: AccessGrant = { userId: v.user_id, accessToken: v.access_token, expiresAt: v.expires_at };
    this.#set(grant);
    return ok(grant);
  }

  async #call(method: string, path: string, body: unknown, bearer = false): Promise<Result<unknown, ApiError>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (bearer) {
      if (this.#grant === null) return err({ status: 401, code: 'unauthenticated', message: 'Not signed in.' });
      headers.authorization = `Bearer ${this.#grant.accessToken}`;
    }
    let response: Response;
    try {
      response = await this.#fetch(this.#baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch {
      return err({ status: 0, code: 'unavailable', message: 'The node cannot be reached.' });
    }
    const text = await response.text().catch(() => '');
    let json: unknown = undefined;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (response.ok) return ok(json);
    const e = json as Record<string, unknown> | undefined;
    return err({
      status: response.status,
      code: typeof e?.code === 'string' ? e.code : codeForStatus(response.status),
      message: typeof e?.message === 'string' ? e.message : `The node answered ${response.status}.`,
    });
  }
}

function malformed(): ApiError {
  return { status: 200, code: 'internal', message: 'The node sent an answer this app does not understand.' };
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'too_large';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return 'internal';
  }
}
