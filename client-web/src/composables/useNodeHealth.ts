import { onMounted, ref, type Ref } from 'vue';

/** What `/healthz` says: `ok`, `unavailable` (the node answers 503), or `unreachable`. */
export type NodeStatus = 'checking' | 'ok' | 'unavailable' | 'unreachable';

export interface NodeHealth {
  readonly status: Ref<NodeStatus>;
  readonly checkedAt: Ref<Date | null>;
  refresh: () => Promise<void>;
}

/**
 * Asks the node `GET /healthz` (`200 {"status":"ok"}` or `503 {"status":"unavailable"}`) when
 * the component mounts and whenever `refresh` is called.
 */
export function useNodeHealth(fetcher: typeof fetch = (input, init) => fetch(input, init)): NodeHealth {
  const status = ref<NodeStatus>('checking');
  const checkedAt = ref<Date | null>(null);

  async function refresh(): Promise<void> {
    status.value = 'checking';
    try {
      const response = await fetcher('/healthz', { headers: { accept: 'application/json' }, cache: 'no-store' });
      const body: unknown = await response.json().catch(() => null);
      const said = typeof body === 'object' && body !== null && 'status' in body ? body.status : undefined;
      status.value = response.ok && said === 'ok' ? 'ok' : 'unavailable';
    } catch {
      status.value = 'unreachable';
    } finally {
      checkedAt.value = new Date();
    }
  }

  onMounted(refresh);
  return { status, checkedAt, refresh };
}
