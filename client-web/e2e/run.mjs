// Browser tests: drives Debian's Chromium through playwright-core (no browser download).
//
//   npm run test:e2e                      builds nothing; serves dist/ with `vite preview` on a
//                                         free 127.0.0.1 port, runs every test, stops the server
//   npm run test:e2e -- --base-url URL    runs against a server already up (e.g. a real node)
//   npm run test:e2e -- --node            builds the node (`cargo build -p winichat-node`, debug,
//                                         honouring CARGO_TARGET_DIR) and runs a real one on free
//                                         127.0.0.1 ports with a temporary data dir, serving dist/
//
// Environment: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_FILTER=media- to
// run only the tests whose file name contains it, WINICHAT_NODE_BINARY=path to run that `winichat`
// binary instead of building one.
// Each test in e2e/tests/*.mjs (but *support.mjs, the helpers) exports `name` and `run({ page, baseUrl, node })`; a test that
// needs a real node exports `needs = 'node'` (any node: --node or --base-url) or
// `needs = 'node-control'` (one the harness can stop and restart: --node only). A test that
// exports `needs = 'nodes'` gets two federating nodes, A and B (--node only; started on first
// need): `run({ page, baseUrl, nodes: { a, b }, newPage })`, where `page` and `baseUrl` are on A,
// and `newPage(label)` opens a page in a fresh browser context (its own cookies) that the
// harness closes, and screenshots as `<test>-<label>.png` when the test fails. Without what it
// needs, a test is reported as skipped — never counted as passed. The last line is
// "N passed, N failed, N skipped"; a failing test leaves a screenshot in e2e/artifacts/.
//
// The two nodes: each its own temporary data dir, HTTP and QUIC on free 127.0.0.1 ports, named
// after its HTTP address (`127.0.0.1:PORT`, so users are `@name:127.0.0.1:PORT`), with a config
// file saying `[federation] discovery = "pinned"`. Each is started once alone so that it creates
// its identity key, `winichat keys show` reads the key, and both are started again with
// `--peer NAME=QUIC_ADDR/KEY` pinning the other.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const testsDir = fileURLToPath(new URL('./tests/', import.meta.url));
const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));

const { values } = parseArgs({ options: { 'base-url': { type: 'string' }, node: { type: 'boolean' } } });
const workspace = fileURLToPath(new URL('../..', import.meta.url));

/** @returns {Promise<number>} a port that was free a moment ago on 127.0.0.1 */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `vite preview` on dist/ and waits until it answers.
 * @returns {Promise<{ baseUrl: string, stop: () => void }>}
 */
async function startPreview() {
  const port = await freePort();
  const vite = fileURLToPath(new URL('../node_modules/vite/bin/vite.js', import.meta.url));
  const child = spawn(process.execPath, [vite, 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vite preview exited:\n${output}`);
    try {
      const response = await fetch(baseUrl);
      if (response.ok) return { baseUrl, stop: () => child.kill('SIGTERM') };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`vite preview did not answer on ${baseUrl} within 20 s (is dist/ built?)\n${output}`);
}

/**
 * Builds the `winichat` binary (debug) and returns its path, as cargo reports it.
 * @returns {Promise<string>}
 */
function buildNode() {
  built ??= buildNodeOnce();
  return built;
}
/** @type {Promise<string> | null} */
let built = null;

/** @returns {Promise<string>} */
async function buildNodeOnce() {
  // A node built elsewhere (e.g. while only the web app changes): used as it is.
  if (process.env.WINICHAT_NODE_BINARY) return process.env.WINICHAT_NODE_BINARY;
  const cargo = process.env.CARGO ?? 'cargo';
  const args = ['build', '-p', 'winichat-node', '--bin', 'winichat', '--message-format=json-render-diagnostics'];
  console.log(`$ cargo ${args.join(' ')}`);
  const child = spawn(cargo, args, { cwd: workspace, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`cargo build of the node failed (exit ${code})`);
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const message = JSON.parse(line);
    if (message.reason === 'compiler-artifact' && message.target?.name === 'winichat' && message.executable) return message.executable;
  }
  throw new Error('cargo build did not report the winichat executable');
}

/**
 * A real node the tests can stop and start again on the same ports and data directory.
 * @typedef {{
 *   baseUrl: string,
 *   name: string,
 *   quic: string,
 *   stop: () => Promise<void>,
 *   start: () => Promise<void>,
 *   close: () => Promise<void>,
 *   log: () => string,
 *   publicKey: () => Promise<string>,
 * }} NodeControl
 */

/**
 * Prepares a node on free ports with a temporary data dir and starts it.
 * @param {{ federation?: { peers: () => string[] } }} [options]  with `federation`: discovery
 *   pinned (a config file) and `--peer` for each of `peers()`, read at every start
 * @returns {Promise<NodeControl>}
 */
async function startNode(options = {}) {
  const binary = await buildNode();
  const dataDir = await mkdtemp(join(tmpdir(), 'winichat-e2e-'));
  const http = `127.0.0.1:${await freePort()}`;
  const quic = `127.0.0.1:${await freePort()}`;
  const baseUrl = `http://${http}`;
  const webDir = fileURLToPath(new URL('../dist/', import.meta.url));
  const configFile = `${dataDir}.toml`;
  const common = ['--data-dir', dataDir, '--http', http, '--quic', quic, '--name', http, '--web-dir', webDir];
  if (options.federation) {
    await writeFile(configFile, '[federation]\ndiscovery = "pinned"\n');
    common.push('--config', configFile);
  }
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null;
  let output = '';

  async function start() {
    if (child !== null && child.exitCode === null) return; // already running
    output = '';
    const peers = options.federation?.peers().flatMap((p) => ['--peer', p]) ?? [];
    // Every test registers its users from 127.0.0.1: lift the per-IP registration limit.
    const proc = spawn(binary, ['serve', ...common, ...peers], { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WINICHAT_LOG: process.env.WINICHAT_LOG ?? 'warn', WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR: '1000000' } });
    child = proc;
    proc.stdout?.on('data', (d) => (output += d));
    proc.stderr?.on('data', (d) => (output += d));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`the node exited (${proc.exitCode}):\n${output}`);
      try {
        const response = await fetch(`${baseUrl}/healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the node did not answer /healthz within 30 s\n${output}`);
  }

  async function stop() {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }

  /** The identity key (unpadded base64url), as `winichat keys show` prints it. */
  async function publicKey() {
    const proc = spawn(binary, [...common, 'keys', 'show'], { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const code = await new Promise((resolve) => proc.on('close', resolve));
    const key = /^public key:\s+(\S+)$/m.exec(out)?.[1];
    if (code !== 0 || !key) throw new Error(`winichat keys show failed (exit ${code}):\n${out}`);
    return key;
  }

  await start();
  console.log(`node up at ${baseUrl} (quic ${quic}, data ${dataDir})`);
  return {
    baseUrl,
    name: http,
    quic,
    start,
    stop,
    log: () => output,
    publicKey,
    close: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
      await rm(configFile, { force: true });
    },
  };
}

/**
 * Two nodes, A and B, pinned to each other (see the top of this file).
 * @returns {Promise<{ a: NodeControl, b: NodeControl }>}
 */
async function startNodePair() {
  /** @type {Record<'a' | 'b', string[]>} */
  const pins = { a: [], b: [] };
  // The first start creates each node's identity key; nothing is pinned yet.
  const a = await startNode({ federation: { peers: () => pins.a } });
  const b = await startNode({ federation: { peers: () => pins.b } });
  try {
    const [keyA, keyB] = await Promise.all([a.publicKey(), b.publicKey()]);
    pins.a = [`${b.name}=${b.quic}/${keyB}`];
    pins.b = [`${a.name}=${a.quic}/${keyA}`];
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all([a.start(), b.start()]);
  } catch (error) {
    await Promise.all([a.close(), b.close()]);
    throw error;
  }
  console.log(`nodes A ${a.name} and B ${b.name} pinned to each other`);
  return { a, b };
}

/**
 * Prints the end of a node's log (after a failed test).
 * @param {string} label
 * @param {NodeControl} control
 */
function printLog(label, control) {
  const lines = control.log().trimEnd().split('\n').slice(-40);
  if (lines.length > 0 && lines[0] !== '') console.log(`     --- node ${label} (${control.name}), last lines of its log ---\n     ${lines.join('\n     ')}`);
}

/** @type {NodeControl | null} */
const node = values.node ? await startNode() : null;
const server = node
  ? { baseUrl: node.baseUrl, stop: () => {} }
  : values['base-url']
    ? { baseUrl: values['base-url'].replace(/\/$/, ''), stop: () => {} }
    : await startPreview();
/** What kind of server the tests run against. */
const have = node ? 'node-control' : values['base-url'] ? 'node' : 'preview';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: process.env.E2E_HEADED !== '1',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    // Voice messages: a fake microphone (a beeping tone) that needs no permission prompt.
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
  ],
}).catch(async (error) => {
  // Leave no node behind.
  server.stop();
  await node?.close();
  throw error;
});

let passed = 0;
let failed = 0;
let skipped = 0;
/** The federating pair, started for the first test that needs it. @type {{ a: NodeControl, b: NodeControl } | null} */
let nodes = null;
try {
  const only = process.env.E2E_FILTER ?? '';
  const files = (await readdir(testsDir)).filter((f) => f.endsWith('.mjs') && !f.endsWith('support.mjs') && f.includes(only)).sort();
  for (const file of files) {
    /**
     * @type {{
     *   name: string,
     *   needs?: 'node' | 'node-control' | 'nodes',
     *   run: (ctx: {
     *     page: import('playwright-core').Page,
     *     baseUrl: string,
     *     node: NodeControl | null,
     *     nodes: { a: NodeControl, b: NodeControl } | null,
     *     newPage: (label: string) => Promise<import('playwright-core').Page>,
     *   }) => Promise<void>,
     * }}
     */
    const test = await import(pathToFileURL(testsDir + file).href);
    const runnable = !test.needs || have === 'node-control' || (test.needs === 'node' && have === 'node');
    if (!runnable) {
      skipped += 1;
      const wanted = { node: 'a real node: --node or --base-url', 'node-control': 'a node it can restart: --node', nodes: 'two federating nodes: --node' };
      console.log(`skip ${test.name} (needs ${wanted[test.needs ?? 'node']})`);
      continue;
    }
    if (test.needs === 'nodes' && nodes === null) {
      try {
        nodes = await startNodePair();
      } catch (error) {
        failed += 1;
        console.log(`FAIL ${test.name} (the two nodes did not start)\n     ${String(error).replace(/\n/g, '\n     ')}`);
        continue;
      }
    }
    const pair = test.needs === 'nodes' ? nodes : null;
    const context = await browser.newContext({ permissions: ['microphone'] });
    const page = await context.newPage();
    /** Pages the test opened in contexts of their own, by label. @type {Map<string, import('playwright-core').Page>} */
    const extra = new Map();
    /** @param {string} label */
    const newPage = async (label) => {
      const own = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      const opened = await own.newPage();
      extra.set(label, opened);
      return opened;
    };
    const started = Date.now();
    try {
      await test.run({ page, baseUrl: pair ? pair.a.baseUrl : server.baseUrl, node: pair ? null : node, nodes: pair, newPage });
      passed += 1;
      console.log(`ok   ${test.name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${test.name} (${Date.now() - started} ms)\n     ${String(error).replace(/\n/g, '\n     ')}`);
      await mkdir(artifacts, { recursive: true });
      const base = `${artifacts}${file.replace(/\.mjs$/, '')}`;
      await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
      for (const [label, opened] of extra) await opened.screenshot({ path: `${base}-${label}.png`, fullPage: true }).catch(() => {});
      if (pair) {
        printLog('A', pair.a);
        printLog('B', pair.b);
      }
    } finally {
      for (const opened of extra.values()) await opened.context().close().catch(() => {});
      await context.close();
      // A test that stopped a node leaves it running for the next one.
      if (node) await node.start().catch(() => {});
      if (pair) await Promise.all([pair.a.start(), pair.b.start()]).catch(() => {});
    }
  }
} finally {
  await browser.close();
  server.stop();
  await node?.close();
  if (nodes) await Promise.all([nodes.a.close(), nodes.b.close()]);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
