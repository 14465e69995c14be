import { nodeOf, parseHandle, parseUserId } from '@/protocol';

/**
 * What the directory search sends for what the user typed. A whole `#handle:node` of another
 * node goes as is: this node then asks that node for the group. Anything else (a name, a
 * handle, this node's own `#handle:node`) goes as its name part, which this node's public
 * groups are matched against by prefix.
 * @param me the signed-in user's id, whose node is "this node"
 */
export function directoryQuery(typed: string, me: string | null): string {
  const text = typed.trim();
  const handle = parseHandle(text.toLowerCase());
  if (handle.ok) {
    const user = me === null ? null : parseUserId(me);
    const here = user?.ok ? nodeOf(user.value) : null;
    if (nodeOf(handle.value) !== here) return handle.value;
  }
  return text.replace(/^#/, '').split(':')[0] ?? '';
}
