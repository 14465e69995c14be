/**
 * Which node a person or group belongs to, for the node badge and the "Hosted on" line, and the
 * sentences the app shows when another node cannot be reached or refuses.
 *
 * Pure functions over id strings: anything that does not parse as a user id, group id or handle
 * has no node (no badge), never an exception.
 */
import { nodeOf, parseGroupId, parseHandle, parseNodeName, parseUserId, type NodeName } from '@/protocol';

/** The node of a user id (`@name:node`), group id (`!x:home`) or handle (`#h:node`), else null. */
export function nodeOfId(id: string | null | undefined): NodeName | null {
  if (typeof id !== 'string' || id === '') return null;
  const parsed = id.startsWith('@') ? parseUserId(id) : id.startsWith('!') ? parseGroupId(id) : id.startsWith('#') ? parseHandle(id) : null;
  return parsed?.ok ? nodeOf(parsed.value) : null;
}

/**
 * The node of `id` when it is not the node of `me` (the signed-in user), else null: what the
 * node badge shows. Null too while either id is unknown or malformed.
 */
export function remoteNode(id: string | null | undefined, me: string | null | undefined): NodeName | null {
  const node = nodeOfId(id);
  const here = nodeOfId(me);
  return node !== null && here !== null && node !== here ? node : null;
}

/**
 * Why messages of chat `from` cannot be forwarded into chat `target` because of where they are
 * homed, or null when they can (gateway.md §8.10): a chat of my node takes any forward; a chat
 * of another node only when the original's chat is homed there too or on my node, the two
 * nodes that can vouch for who wrote it.
 */
export function forwardRefusal(from: string | null | undefined, target: string, me: string | null | undefined): string | null {
  const targetNode = nodeOfId(target);
  const here = nodeOfId(me);
  if (targetNode === null || here === null || targetNode === here) return null;
  const fromNode = nodeOfId(from);
  if (fromNode === targetNode || fromNode === here) return null;
  return `Only chats of your node or of ${fromNode ?? 'the original\'s node'} can take this forward`;
}

/**
 * What the user typed, when it is a whole user id (`@name:node`, the `@` optional) of a node
 * other than `me`'s: then the app opens the direct chat by id instead of searching by name.
 */
export function typedRemoteUser(typed: string, me: string | null | undefined): string | null {
  let text = typed.trim().toLowerCase();
  if (!text.includes(':')) return null;
  if (!text.startsWith('@')) text = `@${text}`;
  const user = parseUserId(text);
  if (!user.ok) return null;
  return remoteNode(user.value, me) === null ? null : user.value;
}

/** An error of a request that another node served (or should have), as the app shows it. */
export interface NodeErrorLike {
  readonly code: string;
  readonly message: string;
}

/**
 * A specific sentence for a failed request aimed at `node` (another node): `unavailable` and
 * `timeout` say the node cannot be reached; `not_found` says `what` does not exist there (when
 * given); anything else is that node's refusal with its reason.
 */
export function remoteErrorText(node: string, e: NodeErrorLike, what?: string): string {
  switch (e.code) {
    case 'unavailable':
    case 'timeout':
      return `${node} cannot be reached right now. Try again later.`;
    case 'not_found':
      return what ? `${what} does not exist on ${node}.` : `${node} refused: ${reason(e, 'not found')}.`;
    case 'conflict':
      return e.message || `${node} refused: conflict.`;
    default:
      return `${node} refused: ${reason(e, e.code)}.`;
  }
}

function reason(e: NodeErrorLike, fallback: string): string {
  const text = (e.message || fallback).trim().replace(/\.$/, '');
  return text === '' ? fallback : text;
}

/** How long the app waits for another node's answer before it says so (ms). */
export const REMOTE_WAIT_MS = 20_000;

/**
 * `call`'s result, or a `timeout` error once `ms` have passed: a request that involves another
 * node ends in a message, never in an endless spinner, even if its answer never comes.
 */
export async function withinTime<T>(call: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms);
  });
  try {
    return await Promise.race([call, deadline]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** An invite link as the app reads it: its code, and its node when that is not the user's own. */
export interface JoinLink {
  readonly code: string;
  /** The node whose link it is; null: the user's own node (an ordinary local link). */
  readonly node: NodeName | null;
}

/**
 * What the user pasted, when it is an invite link's address: `https://<node>/join/<code>` (or
 * `http://`, or without the scheme). The link's node is its address's host (with its port):
 * null when that is `me`'s node. Null for anything else (a handle, a name, a malformed address).
 */
export function parseJoinLink(typed: string, me: string | null | undefined): JoinLink | null {
  const text = typed.trim();
  const m = /^(?:(https?):\/\/)?([^/?#\s]+)\/join\/([^/?#\s]+)\/?(?:[?#]\S*)?$/i.exec(text);
  if (m === null) return null;
  const [, , rawHost, rawCode] = m;
  if (rawHost === undefined || rawCode === undefined || rawHost.includes('@')) return null;
  let code: string;
  try {
    code = decodeURIComponent(rawCode);
  } catch {
    return null;
  }
  if (code === '' || code.startsWith('#')) return null;
  const node = parseNodeName(rawHost.toLowerCase());
  if (!node.ok) return null;
  return { code, node: node.value === nodeOfId(me) ? null : node.value };
}

/**
 * The address of an invite link of `me`'s node, to share: `${origin}/join/<code>` when the app
 * is served under the node's own name, else `https://<node>/join/<code>` (the node name is what
 * other nodes and apps read the link's node from).
 */
export function inviteLinkAddress(code: string, me: string | null | undefined, location: { readonly origin: string; readonly host: string }): string {
  const path = `/join/${encodeURIComponent(code)}`;
  const node = nodeOfId(me);
  if (node === null || node === location.host.toLowerCase()) return `${location.origin}${path}`;
  return `https://${node}${path}`;
}
