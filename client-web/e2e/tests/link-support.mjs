// A controllable link between a page and its node (not a test: it exports no `run`).
//
// `controlLink(context)` routes every WebSocket of a browser context through Playwright's
// `routeWebSocket`, decoding the CBOR frames on their way, so a test can:
//   - `delay(ms)`: hold every frame from the node for `ms` (a slow link; set it once, since a
//     later smaller delay could let frames overtake the held ones);
//   - `down()` / `up()`: cut the connection and refuse new ones (the page goes offline while
//     HTTP still works, so it can be reloaded), then let it connect again;
//   - `refusePosts(code)` / `refusePosts(null)`: answer `msgs.post` with an error instead of
//     passing it on (a refusal that retrying with the same outcome cannot fix);
//   - `dropPostAcks(on)`: pass `msgs.post` on but drop its answer (the node commits, the page
//     never hears it);
//   - `posts`: every `msgs.post` the page sent, `{ txn, text }`, in order.
import { Decoder, Encoder } from 'cbor-x';

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** @param {string | Buffer} message */
function decodeFrame(message) {
  if (typeof message === 'string') return null;
  try {
    return decoder.decode(message);
  } catch {
    return null;
  }
}

/**
 * @param {import('playwright-core').BrowserContext} context
 */
export async function controlLink(context) {
  let delayMs = 0;
  let isDown = false;
  /** @type {string | null} */
  let refuseCode = null;
  let dropAcks = false;
  /** @type {{ txn: string, text: string }[]} */
  const posts = [];
  /** @type {Set<{ page: import('playwright-core').WebSocketRoute, server: import('playwright-core').WebSocketRoute | null }>} */
  const open = new Set();

  await context.routeWebSocket(/\/ws$/, (ws) => {
    if (isDown) {
      void ws.close({ code: 4500, reason: 'link down (test)' });
      return;
    }
    const server = ws.connectToServer();
    const link = { page: ws, server };
    open.add(link);
    /** Ids of this connection's `msgs.post` requests whose answers are to be dropped. */
    const dropIds = new Set();
    ws.onMessage((message) => {
      const frame = decodeFrame(message);
      if (frame?.t === 'req' && frame.method === 'msgs.post') {
        posts.push({ txn: String(frame.params?.txn), text: String(frame.params?.text) });
        if (refuseCode !== null) {
          ws.send(encoder.encode({ t: 'err', id: frame.id, error: { code: refuseCode, message: 'Refused by the test link.' } }));
          return;
        }
        if (dropAcks) dropIds.add(frame.id);
      }
      server.send(message);
    });
    server.onMessage((message) => {
      const frame = decodeFrame(message);
      if ((frame?.t === 'ok' || frame?.t === 'err') && dropIds.delete(frame.id)) return;
      if (delayMs > 0) setTimeout(() => ws.send(message), delayMs);
      else ws.send(message);
    });
    ws.onClose(() => {
      open.delete(link);
      void server.close().catch(() => {});
    });
    server.onClose(() => {
      open.delete(link);
      void ws.close().catch(() => {});
    });
  });

  return {
    posts,
    /** @param {number} ms */
    delay(ms) {
      delayMs = ms;
    },
    async down() {
      isDown = true;
      for (const link of [...open]) {
        open.delete(link);
        await link.page.close({ code: 4500, reason: 'link down (test)' }).catch(() => {});
        await link.server?.close().catch(() => {});
      }
    },
    up() {
      isDown = false;
    },
    /** @param {string | null} code */
    refusePosts(code) {
      refuseCode = code;
    },
    /** @param {boolean} on */
    dropPostAcks(on) {
      dropAcks = on;
    },
  };
}

/**
 * The messages kept in this page's IndexedDB outbox, `{ txn, text, state }`, any user, any chat.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<{ txn: string, text: string, state: string }[]>}
 */
export function keptOutbox(page) {
  return page.evaluate(
    async () => {
      // Opening a database that is not there would create it empty, under the app's feet.
      if (!(await indexedDB.databases()).some((d) => d.name === 'winichat')) return [];
      /** @type {Promise<{ txn: string, text: string, state: string }[]>} */
      const kept = new Promise((resolve, reject) => {
        const open = indexedDB.open('winichat');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('outbox')) {
            db.close();
            resolve([]);
            return;
          }
          const req = db.transaction('outbox', 'readonly').objectStore('outbox').getAll();
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            db.close();
            resolve(req.result.map((r) => ({ txn: r.entry.txn, text: r.entry.text, state: r.entry.state })));
          };
        };
      });
      return kept;
    },
  );
}
