import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';

import type { ApiError, ConnectionState, LoginInput, Profile, RegisterInput, Result } from '@/protocol';
import { useSdk } from '@/services/sdk';

/** Whether we know yet who is signed in. */
export type SessionStatus = 'restoring' | 'signedIn' | 'signedOut';

/** What the user sees when their session ends by itself. */
const SIGNED_OUT_NOTICE = {
  revoked: 'This session was signed out from another device.',
  refresh_failed: 'Your session has ended. Please log in again.',
  unauthenticated: 'Your session has ended. Please log in again.',
} as const;

/**
 * Who is signed in, their profile and the live connection's state. The access token stays in
 * the SDK's memory; on start `restore()` asks the node for a fresh one with the refresh cookie,
 * which is how a reload keeps the user signed in.
 */
export const useSessionStore = defineStore('session', () => {
  const { auth, gateway } = useSdk();

  const status = ref<SessionStatus>('restoring');
  const userId = ref<string | null>(null);
  const profile = shallowRef<Profile | null>(null);
  const connection = ref<ConnectionState>(gateway.state);
  /** Why the user was signed out without asking, shown on the login page. */
  const notice = ref<string | null>(null);

  const displayName = computed(() => {
    const name = profile.value?.displayName;
    if (name) return name;
    const id = userId.value ?? '';
    return id.startsWith('@') ? id.slice(1).split(':')[0] ?? id : id;
  });

  gateway.on('state', (s) => (connection.value = s));
  gateway.on('ready', (r) => {
    profile.value = r.user;
  });
  gateway.on('profile', (p) => {
    if (p.id === userId.value) profile.value = p;
  });
  gateway.on('signedOut', (reason) => {
    auth.forget();
    notice.value = SIGNED_OUT_NOTICE[reason];
    clear();
  });

  function signedIn(id: string): void {
    userId.value = id;
    status.value = 'signedIn';
    notice.value = null;
    gateway.start();
  }

  function clear(): void {
    gateway.stop();
    userId.value = null;
    profile.value = null;
    status.value = 'signedOut';
  }

  let restoring: Promise<void> | null = null;
  /** Signs in with the refresh cookie if there is a live session; runs once per page load. */
  function restore(): Promise<void> {
    restoring ??= (async () => {
      const result = await auth.refresh();
      if (result.ok) signedIn(result.value.userId);
      else status.value = 'signedOut';
    })();
    return restoring;
  }

  async function register(input: RegisterInput): Promise<Result<void, ApiError>> {
    const result = await auth.register(input);
    if (!result.ok) return result;
    signedIn(result.value.userId);
    return { ok: true, value: undefined };
  }

  async function login(input: LoginInput): Promise<Result<void, ApiError>> {
    const result = await auth.login(input);
    if (!result.ok) return result;
    signedIn(result.value.userId);
    return { ok: true, value: undefined };
  }

  /** Ends this session on the node (best effort) and here (always). */
  async function logout(): Promise<void> {
    gateway.stop();
    await auth.logout();
    notice.value = null;
    clear();
  }

  /** `profile.update` over the gateway; the reply is the new profile. */
  async function updateProfile(changes: { displayName: string; bio: string }): Promise<Result<void, { message: string }>> {
    const reply = await gateway.request('profile.update', { display_name: changes.displayName, bio: changes.bio });
    if (!reply.ok) return reply;
    const current = profile.value;
    const r = reply.value;
    const get = (key: string): string | undefined => {
      if (typeof r !== 'object' || r === null || r instanceof Map || Array.isArray(r) || r instanceof Uint8Array) return undefined;
      const v = r[key];
      return typeof v === 'string' ? v : undefined;
    };
    profile.value = {
      id: current?.id ?? userId.value ?? '',
      displayName: get('display_name') ?? changes.displayName,
      bio: get('bio') ?? changes.bio,
      // The avatar is not changed here: keep it.
      ...(current?.avatar !== undefined ? { avatar: current.avatar } : {}),
    };
    return { ok: true, value: undefined };
  }

  /** Changes the password; the node signs out every other session. */
  function changePassword(current: string, next: string): Promise<Result<void, ApiError>> {
    return auth.changePassword(current, next);
  }

  return { changePassword, status, userId, profile, displayName, connection, notice, restore, register, login, logout, updateProfile };
});
