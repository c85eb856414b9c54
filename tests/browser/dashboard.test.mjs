// The city hub's supervisor dashboard (server/web/dashboard.js) in headless Chromium, against
// the real daiban-hub and daiban-node binaries on loopback (set up as CityFixture in
// tests/integration/node_scenario_test.cc, plus the supervisor sup1 at the hub):
//
//   1. Data through the node APIs: the village agent files six cases of different items; the
//      township clerk accepts three, asks for a supplement once, rejects one, and decides and
//      completes one whose item is decided at the township; the township syncs up to the hub,
//      then the village syncs again.
//   2. sup1 signs in on the hub's page (1280x900). The headline tiles show exactly what
//      GET /api/stats says for the same period; the children table has the county with its
//      received count; the nodes table lists the township and the village, both green.
//   3. Drill-down by clicking: the county, then the township; at each level the tiles and the
//      table match /api/stats and /api/stats/children.
//   4. The children CSV link downloads a file that starts with the UTF-8 BOM and "region,".
//   Screenshots of the city view and the township view are kept in the temp directory.
//
// Plain Node script: exit code 0 = pass. Env: DAIBAN_NODE_BIN, DAIBAN_HUB_BIN, DAIBAN_CONFIG
// (defaults: build/ and config/ of this checkout), CHROMIUM_BIN (default /usr/bin/chromium).
// Every process it starts is stopped at the end, on failure too; the whole run is bounded
// (harness.mjs, shared with node_ui.test.mjs).

import {
  CITY, TOWN_REGION, VILLAGE_REGION, TOWN_ID, PASSWORD, TestFailure, log, sleep, check, until, tmp, base, setupCity, startNode,
  apiLogin, launchBrowser, newPage, runTest,
} from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

const COUNTY = '210921000000';
const VILLAGE_ID = 'v210921100202';
const SUPERVISOR = 'sup1';
const GOOD_ID = '11010519491231002X';   // only ever sent to the node; never logged whole
const PHONE = '13800138000';
const NAMES = ['王芳', '李强', '张伟', '刘洋', '陈静', '赵敏'];

// What the township does with each case, in filing order. The first case's item is one the
// township decides itself (decide_level township), so it can be completed there.
const PLAN = ['complete', 'accept', 'accept', 'request_supplement', 'reject', 'leave'];
// The figures the hub must end up with for the village and everything above it.
const EXPECTED = { received: 6, accepted: 3, rejected: 1, supplement_requested: 1, completed: 1, proxy: 6 };
// The headline tiles that must show these counts exactly.
const COUNT_TILES = ['received', 'accepted', 'rejected', 'supplement_requested', 'completed', 'proxy'];

// ---- Formats as the dashboard shows them ----

const n0 = (v) => (v == null || v === '' || !Number.isFinite(Number(v)) ? '—' : Number(v).toLocaleString('zh-CN'));
const pct = (v) => (v == null || !Number.isFinite(Number(v)) ? '—' : `${(Number(v) * 100).toFixed(1)}%`);
const dec1 = (v) => (v == null || !Number.isFinite(Number(v)) ? '—' : Number(v).toFixed(1));
// Children-table columns (data-label → metric, format), as COLUMNS in dashboard.js.
const TABLE_COLUMNS = [
  ['收件', 'received', n0], ['受理', 'accepted', n0], ['办结', 'completed', n0], ['按期办结率', 'on_time_rate', pct],
  ['当前超期', 'overdue_now', n0], ['即办件比例', 'on_the_spot_share', pct], ['平均办结工作日', 'avg_days_to_complete', dec1],
  ['满意率', 'satisfaction_rate', pct], ['代办件', 'proxy', n0],
];

// ---- 1. Data through the node APIs ----

/** Picks six different items an agent may file: PLAN[0]'s is decided at the township. */
function pickItems(items) {
  const first = items.find((i) => i.code === 'MZ-003' && i.decide_level === 'township')
    || items.find((i) => i.decide_level === 'township' && i.accept_level === 'township' && i.kind !== '即办件');
  check(first, 'the proxy catalog has no item accepted and decided at the township');
  const rest = items.filter((i) => i.code !== first.code && i.accept_level === 'township');
  // Different departments first, for variety; then fill up.
  const picked = [first];
  const seen = new Set([first.department]);
  for (const i of rest) if (picked.length < PLAN.length && !seen.has(i.department)) { picked.push(i); seen.add(i.department); }
  for (const i of rest) if (picked.length < PLAN.length && !picked.includes(i)) picked.push(i);
  check(picked.length === PLAN.length, `the proxy catalog has only ${picked.length} usable items`);
  return picked;
}

/** Syncs a node now (POST /api/sync?wait=1), retrying while its parent is not reachable yet. */
async function syncNow(api, name) {
  let lastErr;
  for (let i = 0; i < 10; i++) {
    try {
      const r = await api.post('/api/sync?wait=1');
      log(`${name} synced: ${r.pushed} up, ${r.pulled} down, ${r.refused} refused, ${r.pending} waiting`);
      check(r.refused === 0, `${name}'s sync had ${r.refused} events refused`);
      return r;
    } catch (e) {
      lastErr = e;
      await sleep(500);
    }
  }
  throw lastErr;
}

async function makeData(hubApi) {
  await startNode('town');
  await startNode('village');
  const agent = await apiLogin(base('village'), 'agent1');
  const clerk = await apiLogin(base('town'), 'clerk1');

  const { items } = await agent.get('/api/catalog?proxy=1');
  check(Array.isArray(items) && items.length >= PLAN.length, `GET /api/catalog?proxy=1 gave ${items && items.length} items`);
  const chosen = pickItems(items);
  const cases = [];
  for (let i = 0; i < PLAN.length; i++) {
    const item = chosen[i];
    const r = await agent.post('/api/cases', {
      item: item.code, applicant_name: NAMES[i], applicant_id: GOOD_ID, applicant_phone: PHONE,
      materials: item.materials, note: '浏览器测试', submit: true,
    });
    check(r.case && r.case.status === 'submitted', `filing ${item.code} gave status ${r.case && r.case.status}`);
    cases.push({ id: r.case.id, item, plan: PLAN[i] });
  }
  log(`1. village filed ${cases.length} cases: ${cases.map((c) => `${c.item.code}(${c.plan})`).join(', ')}`);

  await syncNow(agent, 'village');
  await until('all cases in the township inbox', async () => {
    const inbox = await clerk.get('/api/cases?view=inbox');
    const ids = new Set(inbox.cases.map((c) => c.id));
    return cases.every((c) => ids.has(c.id));
  }, { timeout: 15_000, interval: 500 });

  for (const c of cases) {
    const step = (body) => clerk.post(`/api/cases/${encodeURIComponent(c.id)}/steps`, body);
    let r;
    switch (c.plan) {
      case 'complete':
        await step({ action: 'accept' });
        await step({ action: 'decide', approved: true, reason: '符合条件' });
        r = await step({ action: 'complete' });
        break;
      case 'accept': r = await step({ action: 'accept' }); break;
      case 'request_supplement':
        r = await step({ action: 'request_supplement', missing: [c.item.materials[0]], reason: `请补交${c.item.materials[0]}` });
        break;
      case 'reject': r = await step({ action: 'reject', reason: '不属于本乡镇受理范围' }); break;
      default: r = { case: await clerk.get(`/api/cases/${encodeURIComponent(c.id)}`).then((x) => x.case) };
    }
    const want = { complete: 'completed', accept: 'accepted', request_supplement: 'supplement_requested', reject: 'rejected', leave: 'submitted' }[c.plan];
    check(r.case.status === want, `${c.item.code} at the township is ${r.case.status}, expected ${want}`);
  }
  log('1. township: 3 accepted (1 decided and completed), 1 supplement requested, 1 rejected, 1 left waiting');

  await syncNow(clerk, 'township');
  await syncNow(agent, 'village');

  // The hub has everything once its figures for the city are the expected ones.
  let last;
  await until('the hub to count every case', async () => {
    last = await hubApi.get(`/api/stats?region=${CITY}`);
    if (COUNT_TILES.every((m) => last[m] === EXPECTED[m])) return true;
    await syncNow(clerk, 'township');
    return false;
  }, { timeout: 20_000, interval: 500 }).catch((e) => {
    throw new TestFailure(`${e.message}; hub /api/stats (this year): ${COUNT_TILES.map((m) => `${m}=${last && last[m]}`).join(' ')}, expected ${JSON.stringify(EXPECTED)}`);
  });
  log(`1. the hub counts ${COUNT_TILES.map((m) => `${m} ${last[m]}`).join(', ')}`);
  return cases;
}

// ---- 2.–4. The dashboard ----

/** The region and period the page shows (the breadcrumb's current region, the date inputs). */
const pageState = (page) => page.evaluate(() => ({
  region: document.querySelector('#breadcrumb [aria-current="page"]').dataset.current,
  from: document.querySelector('#from').value,
  to: document.querySelector('#to').value,
}));

/** Waits until the dashboard shows `region` and has finished loading. */
async function waitReady(page, region) {
  await page.locator(`#breadcrumb [aria-current="page"][data-current="${region}"]`).waitFor();
  await page.locator('#dashboard[data-state="ready"]').waitFor();
  const s = await pageState(page);
  check(/^\d{4}-\d\d-\d\d$/.test(s.from) && /^\d{4}-\d\d-\d\d$/.test(s.to), `the page shows the period "${s.from}" to "${s.to}"`);
  if (region !== CITY) {
    const hash = await page.evaluate(() => Object.fromEntries(new URLSearchParams(location.hash.slice(1))));
    check(hash.region === region && hash.from === s.from && hash.to === s.to,
      `after drilling down the hash is ${JSON.stringify(hash)}, expected region ${region}, ${s.from} to ${s.to}`);
  }
  return s;
}

/** Checks the headline tiles against /api/stats for the page's period; returns the stats. */
async function checkTiles(page, hubApi, label) {
  const s = await pageState(page);
  const q = `region=${s.region}&from=${s.from}&to=${s.to}`;
  const stats = await hubApi.get(`/api/stats?${q}`);
  const shown = await page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('#headline .tile[data-metric]')].map((t) => [t.dataset.metric, t.querySelector('.tile-value').textContent.trim()])));
  for (const m of COUNT_TILES) {
    check(m in shown, `${label}: no headline tile for ${m}`);
    const v = Number(shown[m].replace(/,/g, ''));
    check(v === stats[m], `${label}: tile ${m} shows "${shown[m]}", GET /api/stats?${q} says ${stats[m]}`);
  }
  for (const [m, fmt] of [['on_time_rate', pct], ['on_the_spot_share', pct], ['avg_days_to_complete', dec1], ['satisfaction_rate', pct], ['overdue_now', n0]]) {
    check(shown[m] === fmt(stats[m]), `${label}: tile ${m} shows "${shown[m]}", expected "${fmt(stats[m])}" from /api/stats (${stats[m]})`);
  }
  const title = (await page.textContent('#region-title')).trim();
  check(title.startsWith(stats.name), `${label}: #region-title is "${title}", the region's name is ${stats.name}`);
  log(`${label} (${s.from} to ${s.to}): tiles match /api/stats — ${COUNT_TILES.map((m) => `${m} ${shown[m]}`).join(', ')}`);
  return stats;
}

/** Checks every row of #children-table (and the total row) against /api/stats/children; returns the rows. */
async function checkChildrenTable(page, hubApi, label, stats) {
  const s = await pageState(page);
  const q = `region=${s.region}&from=${s.from}&to=${s.to}`;
  const { rows } = await hubApi.get(`/api/stats/children?${q}`);
  const shown = await page.evaluate(() => [...document.querySelectorAll('#children-table tr.region-row, #children-table tr.total-row')].map((tr) => ({
    region: tr.dataset.region,
    total: tr.classList.contains('total-row'),
    cells: Object.fromEntries([...tr.querySelectorAll('td[data-label]')].map((td) => [td.dataset.label, td.textContent.trim()])),
  })));
  const regionRows = shown.filter((r) => !r.total);
  check(regionRows.length === rows.length,
    `${label}: the children table has ${regionRows.length} rows, /api/stats/children?${q} has ${rows.length}`);
  const expect = [...rows.map((r) => ({ ...r, total: false })), { ...stats, total: true }];
  for (const want of expect) {
    const row = shown.find((r) => r.region === want.region && r.total === want.total);
    check(row, `${label}: no ${want.total ? 'total row' : 'row'} for ${want.region} (${want.name}) in the children table`);
    for (const [head, metric, fmt] of TABLE_COLUMNS) {
      check(row.cells[head] === fmt(want[metric]),
        `${label}: ${want.name} ${head} (${metric}) shows "${row.cells[head]}", the API says ${JSON.stringify(want[metric])}`);
    }
  }
  log(`${label}: ${rows.length} child rows and the total row match /api/stats/children`);
  return rows;
}

async function dashboard(hubApi) {
  await launchBrowser();
  const page = await newPage('supervisor', { viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const hub = base('hub');

  // 2. Sign in.
  await page.goto(`${hub}/`);
  await page.locator('#login-form').waitFor();
  await page.fill('#login-user', SUPERVISOR);
  await page.fill('#login-password', 'wrong-password');
  await page.click('#login-submit');
  await page.locator('#login-error:not([hidden])').waitFor();
  await page.fill('#login-user', SUPERVISOR);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-submit');
  await page.locator('#app-header').waitFor({ state: 'visible' });
  const who = (await page.textContent('#user-info')).trim();
  check(who.includes(SUPERVISOR), `#user-info shows "${who}", expected ${SUPERVISOR}`);
  const city = await waitReady(page, CITY);
  log(`2. ${SUPERVISOR} signed in at the hub (1280x900), wrong password refused first; dashboard ready for ${city.region}, ${city.from} to ${city.to}`);

  const cityStats = await checkTiles(page, hubApi, '2. city');
  for (const m of COUNT_TILES) check(cityStats[m] === EXPECTED[m], `the hub's city ${m} is ${cityStats[m]}, expected ${EXPECTED[m]}`);
  const cityRows = await checkChildrenTable(page, hubApi, '2. city', cityStats);
  const county = cityRows.find((r) => r.region === COUNTY);
  check(county && county.received === EXPECTED.received, `/api/stats/children: county ${COUNTY} received ${county && county.received}, expected ${EXPECTED.received}`);
  const countyRow = page.locator(`#children-table tr.region-row[data-region="${COUNTY}"]`);
  const countyReceived = (await countyRow.locator('td[data-label="收件"]').textContent()).trim();
  check(countyReceived === String(EXPECTED.received), `the county row shows 收件 "${countyReceived}", expected ${EXPECTED.received}`);
  log(`2. children table: county ${COUNTY} (${county.name}) received ${countyReceived}`);

  // Nodes: both enrolled nodes listed as GET /api/nodes has them; both should be green, as both
  // synced seconds ago (the village through the township).
  const nodesApi = (await hubApi.get('/api/nodes')).nodes;
  const freshness = {};
  for (const id of [TOWN_ID, VILLAGE_ID]) {
    const row = page.locator(`#nodes tr.node-row[data-node="${id}"]`);
    check(await row.count() === 1, `the nodes table has ${await row.count()} rows for ${id}`);
    const fresh = await row.locator('.freshness[data-freshness]').getAttribute('data-freshness');
    const api = nodesApi.find((n) => n.node_id === id);
    check(api, `GET /api/nodes does not list ${id}`);
    check(fresh === api.freshness, `the nodes table shows ${id} as ${fresh}, GET /api/nodes says ${api.freshness}`);
    freshness[id] = { fresh, api };
  }
  const townFresh = freshness[TOWN_ID];
  check(townFresh.fresh === 'green', `node ${TOWN_ID} is "${townFresh.fresh}" (GET /api/nodes: last_seen ${townFresh.api.last_seen}), expected green right after syncing`);
  const villageFresh = freshness[VILLAGE_ID];
  // The village syncs only with its township; the township reports when it heard from it
  // (status.seen, docs/PROTOCOL.md 4.1), so the hub shows the village as fresh too.
  check(villageFresh.fresh === 'green',
    `node ${VILLAGE_ID} is "${villageFresh.fresh}" (GET /api/nodes: last_seen ${villageFresh.api.last_seen}, pending ${villageFresh.api.pending}) though it synced through ${TOWN_ID} seconds ago; expected green`);
  log(`2. nodes table: ${TOWN_ID} ${townFresh.fresh}, ${VILLAGE_ID} ${villageFresh.fresh}, as GET /api/nodes says`);

  // 4. The children CSV downloads with the BOM and the header.
  const link = page.locator('#children a.csv-link[data-csv="children"]');
  const href = await link.getAttribute('href');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const csvPath = path.join(tmp, 'children-city.csv');
  await download.saveAs(csvPath);
  const bytes = fs.readFileSync(csvPath);
  check(bytes.length > 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf,
    `the downloaded CSV (${href}) does not start with the UTF-8 BOM: ${bytes.subarray(0, 8).toString('hex')}`);
  const csv = bytes.subarray(3).toString('utf8');
  check(csv.startsWith('region,'), `the downloaded CSV (${href}) starts "${csv.slice(0, 40)}", expected "region,"`);
  const header = csv.split(/\r?\n/)[0].split(',');
  const countyLine = csv.split(/\r?\n/).find((l) => l.startsWith(`${COUNTY},`));
  check(countyLine, `the downloaded CSV has no line for ${COUNTY}`);
  const csvReceived = Number(countyLine.split(',')[header.indexOf('received')]);
  check(csvReceived === county.received, `the CSV says county received ${csvReceived}, the API ${county.received}`);
  log(`4. children CSV downloaded (${download.suggestedFilename()}, ${bytes.length} bytes): BOM + "region,", county received ${csvReceived}`);

  const cityShot = path.join(tmp, 'dashboard-city.png');
  await page.screenshot({ path: cityShot, fullPage: true });
  log(`screenshot of the city view: ${cityShot}`);

  // 3. Drill down: the county, then the township.
  await countyRow.click();
  await waitReady(page, COUNTY);
  const crumb = page.locator(`#breadcrumb a[data-region="${CITY}"]`);
  check(await crumb.count() === 1, 'the breadcrumb has no link back to the city');
  const countyStats = await checkTiles(page, hubApi, '3. county');
  for (const m of COUNT_TILES) check(countyStats[m] === EXPECTED[m], `the hub's county ${m} is ${countyStats[m]}, expected ${EXPECTED[m]}`);
  const countyRows = await checkChildrenTable(page, hubApi, '3. county', countyStats);
  const town = countyRows.find((r) => r.region === TOWN_REGION);
  check(town && town.received === EXPECTED.received, `county children: township ${TOWN_REGION} received ${town && town.received}, expected ${EXPECTED.received}`);

  await page.locator(`#children-table tr.region-row[data-region="${TOWN_REGION}"]`).click();
  await waitReady(page, TOWN_REGION);
  const townStats = await checkTiles(page, hubApi, '3. township');
  for (const m of COUNT_TILES) check(townStats[m] === EXPECTED[m], `the hub's township ${m} is ${townStats[m]}, expected ${EXPECTED[m]}`);
  const townRows = await checkChildrenTable(page, hubApi, '3. township', townStats);
  const village = townRows.find((r) => r.region === VILLAGE_REGION);
  check(village && village.received === EXPECTED.received, `township children: village ${VILLAGE_REGION} received ${village && village.received}, expected ${EXPECTED.received}`);
  const crumbs = await page.locator('#breadcrumb a[data-region]').evaluateAll((as) => as.map((a) => a.dataset.region));
  check(crumbs.join() === [CITY, COUNTY].join(), `the breadcrumb links ${crumbs.join(' > ')}, expected ${CITY} > ${COUNTY}`);
  const nodeIds = await page.locator('#nodes tr.node-row').evaluateAll((trs) => trs.map((tr) => tr.dataset.node));
  check(nodeIds.includes(TOWN_ID) && nodeIds.includes(VILLAGE_ID), `the township's nodes table lists ${nodeIds.join(', ')}`);
  log(`3. drilled down to the township ${townStats.name}: village ${VILLAGE_REGION} received ${village.received}; breadcrumb ${crumbs.join(' > ')}`);

  const townShot = path.join(tmp, 'dashboard-township.png');
  await page.screenshot({ path: townShot, fullPage: true });
  log(`screenshot of the township view: ${townShot}`);

  // Back goes up again.
  await page.goBack();
  await waitReady(page, COUNTY);
  log('3. Back returns to the county');
}

await runTest({
  timeoutMs: 120_000,
  passLine: 'dashboard (tiles, drill-down city → county → township, nodes, CSV) matches the hub API',
  body: async () => {
    await setupCity({ hubUsers: [[SUPERVISOR, 'supervisor']] });
    const hubApi = await apiLogin(base('hub'), SUPERVISOR);
    await makeData(hubApi);
    await dashboard(hubApi);
  },
});
