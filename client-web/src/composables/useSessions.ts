import { onMounted, ref, type Ref } from 'vue';

import type { SessionInfo } from '@/protocol';
import { useSdk } from '@/services/sdk';

export interface Sessions {
  readonly sessions: Ref<SessionInfo[]>;
  readonly loading: Ref<boolean>;
  readonly error: Ref<string | null>;
  load: () => Promise<void>;
  revoke: (id: string) => Promise<void>;
  revokeOthers: () => Promise<void>;
}

/** The user's signed-in devices, loaded on mount; revoking reloads the list. */
export function useSessions(): Sessions {
  const { auth } = useSdk();
  const sessions = ref<SessionInfo[]>([]);
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function load(): Promise<void> {
    loading.value = true;
    const result = await auth.sessions();
    loading.value = false;
    if (result.ok) {
      sessions.value = result.value;
      error.value = null;
    } else {
      error.value = result.error.message;
    }
  }

  async function act(run: () => Promise<{ ok: boolean; error?: { message: string } }>): Promise<void> {
    loading.value = true;
    const result = await run();
    loading.value = false;
    if (!result.ok) {
      error.value = result.error?.message ?? 'Failed.';
      return;
    }
    await load();
  }

  onMounted(load);
  return {
    sessions,
    loading,
    error,
    load,
    revoke: (id) => act(() => auth.revokeSession(id)),
    revokeOthers: () => act(() => auth.revokeOtherSessions()),
  };
}
