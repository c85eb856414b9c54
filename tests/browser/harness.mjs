// Shared helpers of the browser tests (node_ui.test.mjs, dashboard.test.mjs): the real
// daiban-hub and daiban-node binaries on loopback, set up like CityFixture in
// tests/integration/node_scenario_test.cc, headless Chromium, a bounded run that always
// stops what it started, and logging that never prints a whole ID number.
//
// Env: DAIBAN_NODE_BIN, DAIBAN_HUB_BIN, DAIBAN_CONFIG (defaults: build/ and config/ of this
// checkout), CHROMIUM_BIN (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NODE_BIN = process.env.DAIBAN_NODE_BIN || path.join(ROOT, 'build/node/daiban-node');
export const HUB_BIN = process.env.DAIBAN_HUB_BIN || path.join(ROOT, 'build/server/daiban-hub');
export const CONFIG = process.env.DAIBAN_CONFIG || path.join(ROOT, 'config');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const PASSWORD = 'secret-pass-1';
export const CITY = '210900000000';
export const TOWN_REGION = '210921100000';
export const VILLAGE_REGION = '210921100202';
export const TOWN_ID = 't210921100';

// ---- Logging: never a whole ID number ----

const t0 = Date.now();
/** Masks anything that looks like an 18-character resident ID number. */
export const redact = (s) => String(s).replace(/(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])/g, '$1********$2');
export const log = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${redact(msg)}`);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class TestFailure extends Error {}
export function check(cond, msg) {
  if (!cond) throw new TestFailure(msg);
}

/** Polls `probe` (truthy = done) every `interval` ms up to `timeout` ms. */
export async function until(what, probe, { timeout = 20_000, interval = 400 } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await probe();
    if (last) return last;
    await sleep(interval);
  }
  throw new TestFailure(`timed out after ${timeout / 1000} s waiting for ${what}`);
}

// ---- Processes ----

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'daiban_browser_'));
const children = []; // {name, proc, exited}

export function killAllNow() {
  for (const c of children) if (!c.exited) { try { c.proc.kill('SIGKILL'); } catch { /* gone */ } }
}
process.on('exit', killAllNow);

/** SIGTERM every child, wait up to 5 s each, then SIGKILL. */
export async function stopAll() {
  for (const c of children) if (!c.exited) { try { c.proc.kill('SIGTERM'); } catch { /* gone */ } }
  const end = Date.now() + 5000;
  while (children.some((c) => !c.exited) && Date.now() < end) await sleep(50);
  for (const c of children) {
    if (!c.exited) {
      log(`${c.name} did not stop on SIGTERM; killing it`);
      try { c.proc.kill('SIGKILL'); } catch { /* gone */ }
    }
  }
}

/** Runs a command to completion (bounded); resolves to its stdout; stderr goes to DIR/setup.log. */
export function run(bin, args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: { ...process.env, ...env }, timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      fs.appendFileSync(path.join(tmp, 'setup.log'), `$ ${path.basename(bin)} ${args.join(' ')}\n${stderr}`);
      if (err) reject(new TestFailure(`${path.basename(bin)} ${args.slice(0, 2).join(' ')} failed (${err.code ?? err.signal}): ${redact(stderr.trim())}`));
      else resolve(stdout);
    });
  });
}

export function freePorts(n) {
  const servers = Array.from({ length: n }, () => net.createServer());
  return Promise.all(servers.map((s) => new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s.address().port));
  }))).finally(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
}

export const addr = (port) => `127.0.0.1:${port}`;

export function tail(file, lines = 15) {
  try { return redact(fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')); } catch { return '(no log)'; }
}

async function waitHealthy(name, port, child) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    if (child.exited) break;
    try {
      const r = await fetch(`http://${addr(port)}/api/health`, { signal: AbortSignal.timeout(500) });
      if (r.status === 200) return;
    } catch { /* not up yet */ }
    await sleep(100);
  }
  throw new TestFailure(`${name} did not become healthy on port ${port}${child.exited ? ` (exited: ${child.exited})` : ''}; see ${path.join(tmp, `${name}.log`)}:\n${tail(path.join(tmp, `${name}.log`))}`);
}

export async function start(name, argv, port) {
  const out = fs.openSync(path.join(tmp, `${name}.log`), 'a');
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const child = { name, proc, exited: null };
  children.push(child);
  proc.on('exit', (code, signal) => { child.exited = signal || `code ${code}`; });
  proc.on('error', (e) => { child.exited = `spawn error: ${e.message}`; });
  await waitHealthy(name, port, child);
  log(`${name} is up on ${addr(port)} (pid ${proc.pid})`);
  return child;
}

// ---- The city: exactly as CityFixture in tests/integration/node_scenario_test.cc ----

export const ports = {};   // hub, hubSync, town, townSync, village
export const base = (name) => `http://${addr(ports[name])}`;

async function initNode(name, region, tier, port, parentUrl, parentId, code, user, role, syncListen) {
  const data = path.join(tmp, name);
  await run(NODE_BIN, ['init', '--data', data, '--region', region, '--tier', tier, '--listen', addr(port),
    '--parent-url', parentUrl, '--parent-id', parentId, '--enrol-code', code,
    '--hub-url', `https://${addr(ports.hubSync)}`, '--ca', path.join(tmp, 'pki', 'ca.crt'), '--config', CONFIG,
    '--sync-interval-s', '1', '--backoff-max-s', '2', ...(syncListen ? ['--sync-listen', syncListen] : [])]);
  await run(NODE_BIN, ['user', 'add', '--data', data, '--name', user, '--role', role], { DAIBAN_PASSWORD: PASSWORD });
}

/**
 * Sets up the hub (city 210900000000), the township (clerk1) and the village (agent1) in `tmp`,
 * with certificates from ops/pki.sh (sync over mutual TLS), adds `hubUsers` ([[name, role]…])
 * at the hub, and starts the hub (nodes enrol with it). The nodes are started by startNode(name).
 */
export async function setupCity({ hubUsers = [] } = {}) {
  for (const [what, p] of [['DAIBAN_NODE_BIN', NODE_BIN], ['DAIBAN_HUB_BIN', HUB_BIN], ['CHROMIUM_BIN', CHROMIUM]]) {
    check(fs.existsSync(p), `${what}: ${p} does not exist${what === 'CHROMIUM_BIN' ? ' (apt-get install chromium)' : ' (build it first)'}`);
  }
  check(fs.existsSync(path.join(CONFIG, 'catalog')), `DAIBAN_CONFIG: ${CONFIG} has no catalog/`);
  [ports.hub, ports.hubSync, ports.town, ports.townSync, ports.village] = await freePorts(5);
  const hub = path.join(tmp, 'hub'), pki = path.join(tmp, 'pki'), script = path.join(ROOT, 'ops', 'pki.sh');
  await run(script, ['ca', pki]);
  await run(script, ['hub', pki, '--region', CITY, '--host', '127.0.0.1']);
  await run(HUB_BIN, ['init', '--data', hub, '--region', CITY, '--listen', addr(ports.hub), '--sync-listen', addr(ports.hubSync),
    '--pki', pki, '--config', CONFIG]);
  const townCode = (await run(HUB_BIN, ['enrol', '--data', hub, '--region', TOWN_REGION, '--tier', 'township'])).replace(/[\r\n]+$/, '');
  const villageCode = (await run(HUB_BIN, ['enrol', '--data', hub, '--region', VILLAGE_REGION, '--tier', 'village'])).replace(/[\r\n]+$/, '');
  check(townCode && villageCode, 'daiban-hub enrol printed no enrolment code');
  for (const [name, role] of hubUsers) {
    await run(HUB_BIN, ['user', 'add', '--data', hub, '--name', name, '--role', role], { DAIBAN_PASSWORD: PASSWORD });
  }
  await start('hub', [HUB_BIN, 'serve', '--data', hub], ports.hub);
  await initNode('town', TOWN_REGION, 'township', ports.town, `https://${addr(ports.hubSync)}`, 'hub', townCode, 'clerk1', 'clerk',
    addr(ports.townSync));
  await initNode('village', VILLAGE_REGION, 'village', ports.village, `https://${addr(ports.townSync)}`, TOWN_ID, villageCode, 'agent1', 'agent');
  log(`set up hub${hubUsers.length ? ` (${hubUsers.map(([n]) => n).join(', ')})` : ''}, township (clerk1) and village (agent1) in ${tmp}, enrolled with certificates`);
}

export const startNode = (name) => start(name, [NODE_BIN, 'serve', '--data', path.join(tmp, name)], ports[name]);

// ---- JSON API client (Bearer token), for setting up data and reading the truth ----

/** Signs in at `baseUrl` and returns {token, get(path), post(path, body)} that throw on a non-2xx status. */
export async function apiLogin(baseUrl, user, password = PASSWORD) {
  const call = async (method, p, body, token) => {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${baseUrl}${p}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let data = null;
    try { data = JSON.parse(text); } catch { /* not JSON */ }
    if (!res.ok) throw new TestFailure(`${method} ${p} at ${baseUrl} → ${res.status}: ${redact(text.slice(0, 400))}`);
    return data;
  };
  const login = await call('POST', '/api/login', { user, password });
  check(login && login.token, `POST /api/login as ${user} at ${baseUrl} gave no token`);
  return {
    token: login.token,
    get: (p) => call('GET', p, undefined, login.token),
    post: (p, body = {}) => call('POST', p, body, login.token),
  };
}

// ---- Chromium ----

let browser = null;
const pages = {};       // name → page, screenshotted on failure
export const pageErrors = [];

export async function launchBrowser() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  log(`Chromium ${browser.version()} started`);
  return browser;
}

export async function newPage(name, contextOptions) {
  const ctx = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...contextOptions });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  pages[name] = page;
  return page;
}

async function failureScreenshots() {
  for (const [name, page] of Object.entries(pages)) {
    const file = path.join(tmp, `failure-${name}.png`);
    try {
      await Promise.race([page.screenshot({ path: file, fullPage: true }), sleep(5000).then(() => { throw new Error('timeout'); })]);
      console.error(`screenshot: ${file}`);
    } catch (e) {
      console.error(`no screenshot of ${name}: ${redact(e.message)}`);
    }
  }
}

async function closeBrowser() {
  if (!browser) return;
  const b = browser;
  browser = null;
  await Promise.race([b.close().catch(() => {}), sleep(5000)]);
}

// ---- Main: bounded, and always cleans up ----

function fail(e) {
  const msg = e instanceof TestFailure ? e.message : (e && e.stack) || String(e);
  console.error(`\nFAIL: ${redact(msg)}`);
  for (const c of children) console.error(`--- ${c.name}.log (last lines) ---\n${tail(path.join(tmp, `${c.name}.log`), 8)}`);
  console.error(`logs and screenshots kept in ${tmp}`);
}

/**
 * Runs `body` (async) within `timeoutMs`; on failure prints why, the processes' last log lines
 * and screenshots of every page; always closes Chromium and stops every process; exits 0 on
 * pass. On a pass the node stores are dropped and the logs and screenshots kept.
 */
export async function runTest({ timeoutMs = 120_000, passLine, body }) {
  let finished = false;
  const globalTimer = setTimeout(async () => {
    if (finished) return;
    console.error(`\nFAIL: the browser test did not finish within ${timeoutMs / 1000} s`);
    await Promise.race([failureScreenshots(), sleep(8000)]);
    killAllNow();
    console.error(`logs and screenshots kept in ${tmp}`);
    process.exit(1);
  }, timeoutMs);

  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.error(`\nFAIL: stopped by ${sig}`);
      killAllNow();
      process.exit(1);
    });
  }

  let code = 0;
  try {
    log(`node ${NODE_BIN}, hub ${HUB_BIN}, config ${CONFIG}, temp ${tmp}`);
    await body();
    check(pageErrors.length === 0, `uncaught errors in the pages:\n${pageErrors.join('\n')}`);
    log(`PASS: ${passLine}`);
  } catch (e) {
    code = 1;
    fail(e);
    await failureScreenshots();
  } finally {
    finished = true;
    clearTimeout(globalTimer);
    await closeBrowser();
    await stopAll();
    const stuck = children.filter((c) => !c.exited).map((c) => c.name);
    if (stuck.length) {
      console.error(`FAIL: still running after cleanup: ${stuck.join(', ')}`);
      code = 1;
    }
  }
  if (code === 0) {
    // Keep the logs and the screenshots; drop the node stores.
    for (const d of ['hub', 'town', 'village']) fs.rmSync(path.join(tmp, d), { recursive: true, force: true });
    console.log('1 passed, 0 failed');
  } else {
    console.log('0 passed, 1 failed');
  }
  process.exit(code);
}
