import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/** The time (Unix ms), updated every `intervalMs` while the component is mounted. */
export function useNow(intervalMs = 30_000): Ref<number> {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | null = null;
  onMounted(() => {
    now.value = Date.now();
    timer = setInterval(() => (now.value = Date.now()), intervalMs);
  });
  onBeforeUnmount(() => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  });
  return now;
}
