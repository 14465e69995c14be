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
// run only the tests whose file name contains it.
// Each test in e2e/tests/*.mjs (but *support.mjs, the helpers) exports `name` and `run({ page, baseUrl, node })`; a test that
// needs a real node exports `needs = 'node'` (any node: --node or --base-url) or
// `needs = 'node-control'` (one the harness can stop and restart: --node only). Without one, such
// a test is reported as skipped — never counted as passed. The last line is
// "N passed, N failed, N skipped"; a failing test leaves a screenshot in e2e/artifacts/.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
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
async function buildNode() {
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
 * @typedef {{ baseUrl: string, stop: () => Promise<void>, start: () => Promise<void>, close: () => Promise<void> }} NodeControl
 * @returns {Promise<NodeControl>}
 */
async function startNode() {
  const binary = await buildNode();
  const dataDir = await mkdtemp(join(tmpdir(), 'winichat-e2e-'));
  const http = `127.0.0.1:${await freePort()}`;
  const quic = `127.0.0.1:${await freePort()}`;
  const baseUrl = `http://${http}`;
  const webDir = fileURLToPath(new URL('../dist/', import.meta.url));
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null;
  let output = '';

  async function start() {
    if (child !== null && child.exitCode === null) return; // already running
    output = '';
    // Every test registers its users from 127.0.0.1: lift the per-IP registration limit.
    const args = ['serve', '--data-dir', dataDir, '--http', http, '--quic', quic, '--name', http, '--web-dir', webDir];
    const proc = spawn(binary, args, { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WINICHAT_LOG: process.env.WINICHAT_LOG ?? 'warn', WINICHAT_REGISTRATIONS_PER_IP_PER_HOUR: '1000000' } });
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

  await start();
  console.log(`node up at ${baseUrl} (data ${dataDir})`);
  return {
    baseUrl,
    start,
    stop,
    close: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
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
});

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const only = process.env.E2E_FILTER ?? '';
  const files = (await readdir(testsDir)).filter((f) => f.endsWith('.mjs') && !f.endsWith('support.mjs') && f.includes(only)).sort();
  for (const file of files) {
    /** @type {{ name: string, needs?: 'node' | 'node-control', run: (ctx: { page: import('playwright-core').Page, baseUrl: string, node: NodeControl | null }) => Promise<void> }} */
    const test = await import(pathToFileURL(testsDir + file).href);
    const runnable = !test.needs || have === 'node-control' || (test.needs === 'node' && have === 'node');
    if (!runnable) {
      skipped += 1;
      console.log(`skip ${test.name} (needs ${test.needs === 'node' ? 'a real node: --node or --base-url' : 'a node it can restart: --node'})`);
      continue;
    }
    const context = await browser.newContext({ permissions: ['microphone'] });
    const page = await context.newPage();
    const started = Date.now();
    try {
      await test.run({ page, baseUrl: server.baseUrl, node });
      passed += 1;
      console.log(`ok   ${test.name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${test.name} (${Date.now() - started} ms)\n     ${String(error).replace(/\n/g, '\n     ')}`);
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}${file.replace(/\.mjs$/, '')}.png`, fullPage: true }).catch(() => {});
    } finally {
      await context.close();
      // A test that stopped the node leaves it running for the next one.
      if (node) await node.start().catch(() => {});
    }
  }
} finally {
  await browser.close();
  server.stop();
  await node?.close();
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
