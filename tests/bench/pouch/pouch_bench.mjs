// The PouchDB side of the side-by-side replication benchmark (Daiban vs. PouchDB/CouchDB).
//
//   tests/bench/pouch/install.sh DIR
//   node tests/bench/pouch/pouch_bench.mjs --modules DIR/node_modules --cases FILE --scenario all
//        [--port P] [--work WORKDIR] [--conflicts 1000] [--timeout 1800]
//
// FILE comes from `python3 tests/bench/cases.py --n N --seed 7 --out FILE`; each line's `doc` is the
// case as a PouchDB deployment would store it, used as is (copied, nothing stripped).
//
// The client is pouchdb-node 9.0.0 (LevelDB through leveldown) in this process; the server is
// pouchdb-server 4.2.0 (CouchDB's HTTP API over LevelDB; it runs PouchDB 7.3.1 inside), started
// here as a child process on 127.0.0.1 and killed at exit, even on error. Scenarios (one JSON line each on stdout):
//
//   push         local DB holds every case (loaded with bulkDocs, not timed); time one
//                replicate.to(fresh remote DB) until complete: the first sync of a village.
//   noop         everything replicated; one more replicate.to: the cost of a sync round with
//                nothing to move (checkpoint lookups, _changes, handshake).
//   incremental  1% of the cases updated locally (accepted, with a new field); time the next
//                replicate.to: a routine sync after a day's work.
//   conflict     the same K cases (--conflicts, default 1000) updated differently on both sides
//                (setup, not timed); time replicate.to then replicate.from; count the cases that
//                carry _conflicts on each side afterwards (both should hold all K), and how many
//                have the same winning revision on both sides. Before the edits, one untimed
//                replicate.from sets up the pull checkpoint a two-way deployment would have (else
//                the timed from() would re-read the remote's whole _changes feed first).
//   pull         a fresh empty local DB replicates everything from the remote: a new device.
//                (pouchdb-server gzips its responses -- node-fetch asks for gzip -- while
//                request bodies go uncompressed, so pull moves far fewer bytes than push.)
//   all          push, noop, incremental, conflict, pull in that order on the same server.
// A single scenario other than push runs the steps it needs first (push, ...) as untimed setup
// and prints only its own line.
//
// Replication options: PouchDB's defaults, nothing passed (what a team gets out of the box):
// batch_size 100, batches_limit 10, live false, retry false, checkpoint on both sides, no filter,
// http client = node-fetch 2 (wrapped by fetch-cookie) over Node's http.globalAgent (Node 20:
// keepAlive true, lifo, 5 s idle timeout).
//
// Bytes on the wire: counted at TCP level in this process, by hooking http.globalAgent (the
// agent PouchDB's http adapter uses by default): every socket it opens is tracked and
// bytesRead + bytesWritten are read before and after the timed step, so HTTP headers and chunk
// framing count. This was chosen over a byte-counting TCP proxy because it changes nothing on
// the path: no extra hop, no extra process competing for the 2 cores, same agent and options.
// Requests: every request the agent carries (Agent#addRequest), i.e. every HTTP request.
//
// No doc contents are ever printed (they hold ID numbers and phone numbers): only counts.

import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const HOST = '127.0.0.1';

const T0 = Date.now();
function log(msg) {
  process.stderr.write(`[pouch_bench ${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
}
function die(msg) { log(`error: ${msg}`); process.exit(1); }

// ---- arguments -------------------------------------------------------------------------------
function parseArgs(argv) {
  const a = { modules: null, cases: null, scenario: null, port: 0, work: null, conflicts: 1000,
              timeout: 1800 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    const need = () => { if (v === undefined) die(`${k} needs a value`); i++; return v; };
    if (k === '--modules') a.modules = need();
    else if (k === '--cases') a.cases = need();
    else if (k === '--scenario') a.scenario = need();
    else if (k === '--port') a.port = Number(need());
    else if (k === '--work') a.work = need();
    else if (k === '--conflicts') a.conflicts = Number(need());
    else if (k === '--timeout') a.timeout = Number(need());
    else die(`unknown argument ${k}`);
  }
  if (!a.modules || !a.cases || !a.scenario) {
    die('usage: pouch_bench.mjs --modules DIR/node_modules --cases FILE --scenario ' +
        'push|incremental|pull|noop|conflict|all [--port P] [--work DIR] [--conflicts K] [--timeout S]');
  }
  if (!['push', 'incremental', 'pull', 'noop', 'conflict', 'all'].includes(a.scenario)) {
    die(`unknown scenario ${a.scenario}`);
  }
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) die('--port: 0..65535');
  if (!Number.isInteger(a.conflicts) || a.conflicts < 1) die('--conflicts: a positive integer');
  if (!(a.timeout > 0)) die('--timeout: seconds, > 0');
  return a;
}

const args = parseArgs(process.argv.slice(2));
const modulesDir = path.resolve(args.modules);
if (!fs.existsSync(path.join(modulesDir, 'pouchdb-node'))) {
  die(`no pouchdb-node in ${modulesDir} (run tests/bench/pouch/install.sh DIR first)`);
}
const requireMod = createRequire(path.join(modulesDir, 'pouch_bench_require.js'));
const PouchDB = requireMod('pouchdb-node');
const serverBin = requireMod.resolve('pouchdb-server/bin/pouchdb-server');

// ---- work dir, server child, cleanup on any exit -----------------------------------------------
const ownWork = !args.work;
const work = ownWork ? fs.mkdtempSync(path.join(os.tmpdir(), 'pouch-bench-')) : path.resolve(args.work);
fs.mkdirSync(work, { recursive: true });
for (const sub of ['local', 'pulled', 'server']) {   // a given --work must not hold an earlier run
  if (!ownWork && fs.existsSync(path.join(work, sub))) die(`${work}/${sub} exists: give a new or empty --work dir`);
}
let server = null;

function cleanup() {
  if (server && server.exitCode === null && server.signalCode === null) {
    try { server.kill('SIGKILL'); } catch { /* already gone */ }
  }
  if (ownWork) {
    try { fs.rmSync(work, { recursive: true, force: true }); } catch { /* best effort */ }
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { log(`${sig}: stopping`); process.exit(1); });
}
process.on('uncaughtException', (e) => { log(`error: ${e && e.stack || e}`); process.exit(1); });
process.on('unhandledRejection', (e) => { log(`error: ${e && e.stack || e}`); process.exit(1); });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Start pouchdb-server (LevelDB under WORK/server, its config.json and log.txt there too;
// -n: the request log goes only to its log file, not to a pipe) and wait until GET / answers.
async function startServer(port) {
  const dir = path.join(work, 'server');
  fs.mkdirSync(dir, { recursive: true });
  const out = fs.openSync(path.join(work, 'server.out'), 'a');
  server = spawn(process.execPath,
    [serverBin, '--host', HOST, '--port', String(port), '--dir', dir,
     '--config', path.join(dir, 'config.json'), '-n', '--no-color'],
    { cwd: dir, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const url = `http://${HOST}:${port}/`;
  for (let i = 0; i < 600; i++) {            // at most 600 x 100 ms = 60 s
    if (server.exitCode !== null || server.signalCode !== null) {
      die(`pouchdb-server exited (${server.exitCode ?? server.signalCode}); see ${work}/server.out`);
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) { const j = await r.json(); log(`pouchdb-server ${j.version || '?'} on ${url}`); return url; }
    } catch { /* not up yet */ }
    await sleep(100);
  }
  die(`pouchdb-server did not answer on ${url} within 60 s`);
}

// ---- byte and request counting on the agent PouchDB uses (see the header) ----------------------
const meter = { closedRead: 0, closedWritten: 0, live: new Set(), requests: 0 };
{
  const agent = http.globalAgent;
  const createConnection = agent.createConnection;
  agent.createConnection = function (...a) {
    const sock = createConnection.apply(this, a);
    meter.live.add(sock);
    sock.once('close', () => {
      meter.live.delete(sock);
      meter.closedRead += sock.bytesRead;
      meter.closedWritten += sock.bytesWritten;
    });
    return sock;
  };
  const addRequest = agent.addRequest;
  agent.addRequest = function (...a) { meter.requests++; return addRequest.apply(this, a); };
}
function meterNow() {
  let read = meter.closedRead, written = meter.closedWritten;
  for (const s of meter.live) { read += s.bytesRead; written += s.bytesWritten; }
  return { read, written, requests: meter.requests, t: process.hrtime.bigint() };
}
function meterSince(m0) {
  const m1 = meterNow();
  return { seconds: Number(m1.t - m0.t) / 1e9, sent: m1.written - m0.written,
           received: m1.read - m0.read, requests: m1.requests - m0.requests };
}

// ---- helpers -----------------------------------------------------------------------------------
async function readDocs(file) {
  const docs = [];
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    if (!c.doc || typeof c.doc._id !== 'string') die(`${file}: line ${docs.length + 1} has no doc._id`);
    docs.push(c.doc);
  }
  if (docs.length === 0) die(`${file}: no cases`);
  return docs;
}

async function bulkLoad(db, docs) {           // setup only: 1,000 docs per bulkDocs call
  for (let i = 0; i < docs.length; i += 1000) {
    const res = await db.bulkDocs(docs.slice(i, i + 1000).map((d) => ({ ...d })));
    const bad = res.filter((r) => r.error).length;
    if (bad) die(`bulkDocs: ${bad} docs failed while loading`);
  }
}

// Run one replication (default options) under a time bound; return its result and the meter.
async function timedReplicate(what, start) {
  const m0 = meterNow();
  const rep = start();
  let last = Date.now();                        // progress to stderr, at most every 10 s
  rep.on('change', (info) => {
    if (Date.now() - last < 10000) return;
    last = Date.now();
    const secs = Number(process.hrtime.bigint() - m0.t) / 1e9;
    log(`${what}: ${info.docs_written} docs written in ${secs.toFixed(1)} s`);
  });
  let timer;
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => { rep.cancel(); reject(new Error(`${what}: over ${args.timeout} s`)); },
                       args.timeout * 1000);
  });
  try {
    const result = await Promise.race([rep, bound]);
    const m = meterSince(m0);
    if (result.status !== 'complete' || !result.ok) die(`${what}: status ${result.status}`);
    if (result.doc_write_failures) die(`${what}: ${result.doc_write_failures} doc write failures`);
    return { result, m };
  } finally { clearTimeout(timer); }
}

function line(scenario, docs, m, extra = {}) {
  const bytes = m.sent + m.received;
  const o = { system: 'pouchdb', scenario, docs, seconds: Number(m.seconds.toFixed(3)) };
  if (docs > 0) o.docs_per_s = Math.round(docs / m.seconds);
  o.bytes = bytes;
  o.bytes_sent = m.sent;
  o.bytes_received = m.received;
  if (docs > 0) o.bytes_per_doc = Math.round(bytes / docs);
  o.requests = m.requests;
  Object.assign(o, extra);
  return o;
}

// Which cases get updated: fixed positions, so every run (and the Daiban side) touches the same ones.
function spread(n, k, offset) {               // k positions spread evenly over 0..n-1
  const out = new Set();
  for (let i = 0; i < k; i++) out.add((Math.floor((i * n) / k) + offset) % n);
  return [...out];
}

async function getDocs(db, ids, opts = {}) {  // allDocs in chunks of 500
  const out = [];
  for (let i = 0; i < ids.length; i += 500) {
    const r = await db.allDocs({ keys: ids.slice(i, i + 500), include_docs: true, ...opts });
    for (const row of r.rows) {
      if (!row.doc) die(`allDocs: a doc is missing (${row.error || 'deleted'})`);
      out.push(row.doc);
    }
  }
  return out;
}

// ---- scenarios ---------------------------------------------------------------------------------
const state = { docs: null, local: null, remote: null, pushed: false, noop: false, incr: false,
                conflicted: false };

async function push() {
  const docs = state.docs;
  state.local = new PouchDB(path.join(work, 'local'));
  log(`loading ${docs.length} docs into the local LevelDB (setup, not timed)`);
  await bulkLoad(state.local, docs);
  const info = await state.local.info();
  if (info.doc_count !== docs.length) die(`local holds ${info.doc_count} docs, expected ${docs.length}`);
  state.remote = new PouchDB(`${state.url}cases`);
  await state.remote.info();                   // creates the remote DB (PUT /cases): not timed
  log('push: replicate.to(remote)');
  const { result, m } = await timedReplicate('push', () => state.local.replicate.to(state.remote));
  const rinfo = await state.remote.info();
  if (rinfo.doc_count !== docs.length) die(`remote holds ${rinfo.doc_count} docs after push`);
  state.pushed = true;
  return line('push', result.docs_written, m, { docs_read: result.docs_read });
}

async function noop() {
  log('noop: replicate.to(remote) with nothing to move');
  const { result, m } = await timedReplicate('noop', () => state.local.replicate.to(state.remote));
  if (result.docs_written !== 0) die(`noop wrote ${result.docs_written} docs`);
  state.noop = true;
  return line('noop', 0, m, { docs_written: result.docs_written });
}

async function incremental() {
  const n = state.docs.length;
  const k = Math.max(1, Math.floor(n / 100));
  const ids = spread(n, k, 50).map((i) => state.docs[i]._id);
  log(`incremental: updating ${ids.length} docs locally (setup), then replicate.to(remote)`);
  const docs = await getDocs(state.local, ids);
  for (const d of docs) { d.status = 'accepted'; d.accepted_at = '2026-11-24T10:00:00+08:00'; }
  const res = await state.local.bulkDocs(docs);
  if (res.some((r) => r.error)) die('incremental: local update failed');
  const { result, m } = await timedReplicate('incremental', () => state.local.replicate.to(state.remote));
  if (result.docs_written !== ids.length) die(`incremental wrote ${result.docs_written}, expected ${ids.length}`);
  state.incr = true;
  return line('incremental', result.docs_written, m);
}

async function conflict() {
  const n = state.docs.length;
  const k = Math.min(args.conflicts, n);
  if (k < args.conflicts) log(`conflict: only ${n} cases, so ${k} conflicts instead of ${args.conflicts}`);
  const ids = spread(n, k, 0).map((i) => state.docs[i]._id);
  // A deployment syncs both ways (db.sync), so its pull checkpoint exists by now; here only
  // replicate.to ran so far. Without this untimed from() the timed one would first re-read the
  // remote's whole _changes feed from 0 (100 revs_diff rounds at 10,000 cases), which is the
  // cost of a first pull, not of conflicts.
  if (!state.pullCheckpoint) {
    const c = await timedReplicate('conflict setup from', () => state.local.replicate.from(state.remote));
    log(`conflict: pull checkpoint set up first (untimed): ${c.m.seconds.toFixed(3)} s, ` +
        `${c.m.requests} requests, ${c.m.sent + c.m.received} bytes, ${c.result.docs_written} docs written`);
    state.pullCheckpoint = true;
  }

  // Setup, not timed: the same K docs updated differently on each side. Local: one phone
  // number; remote (through its own PouchDB http client): another. Neither is ever printed.
  log(`conflict: updating the same ${ids.length} docs differently on both sides (setup)`);
  const mine = await getDocs(state.local, ids);
  for (const d of mine) d.applicant_phone = '13900000001';
  const theirs = await getDocs(state.remote, ids);
  for (const d of theirs) d.applicant_phone = '13900000002';
  if ((await state.local.bulkDocs(mine)).some((r) => r.error)) die('conflict: local update failed');
  if ((await state.remote.bulkDocs(theirs)).some((r) => r.error)) die('conflict: remote update failed');

  log('conflict: replicate.to(remote), then replicate.from(remote)');
  const m0 = meterNow();
  const to = await timedReplicate('conflict to', () => state.local.replicate.to(state.remote));
  const from = await timedReplicate('conflict from', () => state.local.replicate.from(state.remote));
  const m = meterSince(m0);

  // Not timed: which of the K docs carry _conflicts on each side, and do both sides pick the
  // same winning revision (CouchDB's deterministic choice)?
  const l = await getDocs(state.local, ids, { conflicts: true });
  const r = await getDocs(state.remote, ids, { conflicts: true });
  const cl = l.filter((d) => d._conflicts && d._conflicts.length).length;
  const cr = r.filter((d) => d._conflicts && d._conflicts.length).length;
  const winners = new Map(l.map((d) => [d._id, d._rev]));
  const same = r.filter((d) => winners.get(d._id) === d._rev).length;
  state.conflicted = true;
  return line('conflict', k, m, {
    docs_written_to: to.result.docs_written, docs_written_from: from.result.docs_written,
    seconds_to: Number(to.m.seconds.toFixed(3)), seconds_from: Number(from.m.seconds.toFixed(3)),
    conflicts_local: cl, conflicts_remote: cr, same_winner: same,
  });
}

async function pull() {
  const fresh = new PouchDB(path.join(work, 'pulled'));
  const rinfo = await state.remote.info();
  log(`pull: a fresh local DB replicates ${rinfo.doc_count} docs from(remote)`);
  const { result, m } = await timedReplicate('pull', () => fresh.replicate.from(state.remote));
  const info = await fresh.info();
  if (info.doc_count !== rinfo.doc_count) die(`pulled ${info.doc_count} docs, remote holds ${rinfo.doc_count}`);
  await fresh.close();
  // docs = cases pulled; revisions = what PouchDB counts as docs_written (after `conflict` each
  // conflicted case comes with both leaf revisions, so revisions > docs in `all`).
  return line('pull', info.doc_count, m, { revisions: result.docs_written });
}

// ---- main --------------------------------------------------------------------------------------
async function main() {
  state.docs = await readDocs(args.cases);
  log(`${state.docs.length} cases from ${args.cases}; pouchdb-node ${PouchDB.version}; work dir ${work}`);
  const port = args.port || await freePort();
  state.url = await startServer(port);

  // What each scenario needs first (run untimed, not printed) and what it prints.
  const plans = {
    push: [['push', true]],
    noop: [['push', false], ['noop', true]],
    incremental: [['push', false], ['incremental', true]],
    conflict: [['push', false], ['conflict', true]],
    pull: [['push', false], ['pull', true]],
    all: [['push', true], ['noop', true], ['incremental', true], ['conflict', true], ['pull', true]],
  };
  const steps = { push, noop, incremental, conflict, pull };
  for (const [name, print] of plans[args.scenario]) {
    const o = await steps[name]();
    o.cases = state.docs.length;
    if (print) process.stdout.write(JSON.stringify(o) + '\n');
    else log(`setup ${name}: ${o.seconds} s, ${o.bytes} bytes, ${o.requests} requests`);
  }
  await state.local.close();
  await state.remote.close();
}

main().then(() => process.exit(0), (e) => { log(`error: ${e && e.stack || e}`); process.exit(1); });
