// The field-node scenario in headless Chromium, against the real daiban-hub and daiban-node
// binaries on loopback (the browser twin of tests/integration/node_scenario_test.cc):
//
//   a. The township is down. A village agent (phone-sized screen) signs in, files a case for a
//      resident: a wrong ID number is caught as she types, a phone number only the server
//      refuses comes back as a field error with everything typed kept, then the case is filed
//      and stays "only on this machine".
//   b. The township comes up; 立即同步 sends the case; the township clerk (desktop) finds it in
//      the inbox and gives a one-time notice of a missing material.
//   c. The village syncs, sees the notice, records the material and supplements.
//   d. The clerk accepts, decides (approve) and completes.
//   e. The village syncs, sees the case completed, records the resident's evaluation, and the
//      printable receipt shows the case with the ID number masked.
//
// Plain Node script: exit code 0 = pass. Env: DAIBAN_NODE_BIN, DAIBAN_HUB_BIN, DAIBAN_CONFIG
// (defaults: build/ and config/ of this checkout), CHROMIUM_BIN (default /usr/bin/chromium).
// Every process it starts is stopped at the end, on failure too; the whole run is bounded
// (harness.mjs, shared with dashboard.test.mjs).

import {
  TOWN_ID, PASSWORD, log, redact, check, until, tmp, base, setupCity, startNode,
  launchBrowser, newPage, pageErrors, runTest,
} from './harness.mjs';
import path from 'node:path';

const ITEM = 'MZ-003';
const NAME = '王芳';
const BAD_ID = '110105194912310021';   // check digit wrong: caught in the browser
const GOOD_ID = '11010519491231002X';
const MASKED_ID = '110105********002X';
const SERVER_BAD_PHONE = '12000138000'; // passes the page's check (1 + 10 digits), the server wants 13-19
const PHONE = '13800138000';

// ---- Page helpers ----

async function login(page, base, user) {
  await page.goto(`${base}/`);
  await page.locator('#login-form').waitFor(); // not signed in: the page sends us to #/login
  await page.fill('#login-user', user);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-submit');
  await page.locator('#app-header').waitFor({ state: 'visible' });
  const who = await page.textContent('#user-info');
  check(who.includes(user), `#user-info shows "${who}", expected ${user}`);
}

/** The case detail as the API gives it to this page's user (for status labels). */
const apiCase = (page, id) => page.evaluate(async (caseId) => {
  const r = await fetch(`/api/cases/${encodeURIComponent(caseId)}`, { credentials: 'same-origin' });
  return (await r.json()).case;
}, id);

/** Clicks 刷新 on the case page and waits for it to be drawn again. */
async function refreshCase(page) {
  await page.click('#case-refresh');
  await page.locator('#case-page').waitFor();
}

const caseStatus = (page) => page.getAttribute('#case-status', 'data-status');
const caseSync = (page) => page.getAttribute('#case-page .status-line .sync-state', 'data-sync');

/** Checks #case-status is `status` and shows the label the server gives it. */
async function expectStatus(page, id, status) {
  await page.locator(`#case-status[data-status="${status}"]`).waitFor();
  const c = await apiCase(page, id);
  check(c.status === status, `API status is ${c.status}, the page shows ${status}`);
  const shown = (await page.textContent('#case-status')).trim();
  check(shown === c.status_label, `#case-status shows "${shown}", the server's status_label is "${c.status_label}"`);
  return shown;
}

/** Clicks 立即同步 and checks the toast says the sync started. */
async function clickSyncNow(page) {
  await page.locator('#sync-now:not([disabled])').click();
  await page.locator('#toast:not([hidden])', { hasText: '已开始同步' }).waitFor();
}

/** Clicks 立即同步, then refreshes the case page until `done(page)`; clicks again every 3 s. */
async function syncUntil(page, what, done) {
  await clickSyncNow(page);
  let lastClick = Date.now();
  await until(what, async () => {
    if (Date.now() - lastClick > 3000) {
      await clickSyncNow(page);
      lastClick = Date.now();
    }
    await refreshCase(page);
    return done(page);
  });
}

async function dialogOk(page) {
  await page.click('#dialog-ok');
  await page.locator('#dialog').waitFor({ state: 'detached' });
}

// ---- The scenario ----

async function scenario() {
  const village = base('village');
  const town = base('town');
  await launchBrowser();

  // a. The township is down: the village works alone.
  await startNode('village');
  const agent = await newPage('agent', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await agent.goto(`${village}/`);
  await agent.locator('#login-form').waitFor();
  await agent.fill('#login-user', 'agent1');
  await agent.fill('#login-password', 'wrong-password');
  await agent.click('#login-submit');
  await agent.locator('#login-error:not([hidden])').waitFor();
  log('a. wrong password refused on the login page');
  await login(agent, village, 'agent1');
  log('a. agent1 signed in at the village (390x844)');

  await agent.click('#nav a[data-route="new"]');
  await agent.locator('#case-form').waitFor();
  await agent.selectOption('#item-select', ITEM);
  await agent.locator('#materials-box').waitFor({ state: 'visible' });
  await agent.fill('#applicant-name', NAME);
  await agent.fill('#applicant-id', BAD_ID);
  await agent.locator('#applicant-id').blur();
  const idError = agent.locator('.field-error[data-field="applicant_id"]');
  await idError.waitFor({ state: 'visible' });
  const idErrorText = await idError.textContent();
  check(idErrorText.includes('校验位'), `the ID number error says "${idErrorText}", expected a check-digit error`);
  log(`a. wrong ID number ${BAD_ID} caught while typing: ${idErrorText}`);

  await agent.fill('#applicant-phone', SERVER_BAD_PHONE);
  await agent.check(`.material-checkbox[value="申请书"]`);
  await agent.click('#submit-case');
  await idError.waitFor({ state: 'visible' });
  check((await agent.evaluate(() => location.hash)) === '#/new', 'submitting with a wrong ID number left the form');
  check(await agent.evaluate(() => document.activeElement && document.activeElement.id === 'applicant-id'),
    'the wrong ID number field does not have the focus after submitting');
  log('a. submit refused in the browser, focus on the ID number');

  await agent.fill('#applicant-id', GOOD_ID);
  await idError.waitFor({ state: 'hidden' });
  await agent.click('#submit-case');
  const phoneError = agent.locator('.field-error[data-field="applicant_phone"]');
  await phoneError.waitFor({ state: 'visible' });
  const phoneErrorText = await phoneError.textContent();
  check(phoneErrorText.includes('applicant_phone'), `the phone error says "${phoneErrorText}", expected the server's message`);
  check(!phoneErrorText.includes(SERVER_BAD_PHONE), 'the server error shows the whole phone number');
  check((await agent.evaluate(() => location.hash)) === '#/new', 'a refused case left the form');
  const kept = await agent.evaluate(() => ({
    item: document.querySelector('#item-select').value,
    name: document.querySelector('#applicant-name').value,
    id: document.querySelector('#applicant-id').value,
    phone: document.querySelector('#applicant-phone').value,
    materials: [...document.querySelectorAll('.material-checkbox')].filter((x) => x.checked).map((x) => x.value),
  }));
  check(kept.item === ITEM && kept.name === NAME && kept.id === GOOD_ID && kept.phone === SERVER_BAD_PHONE &&
    kept.materials.join() === '申请书', `the form lost what was typed after a server error: ${redact(JSON.stringify(kept))}`);
  log(`a. server-side error shown under the phone field, everything typed kept: ${phoneErrorText}`);

  await agent.fill('#applicant-phone', PHONE);
  await agent.click('#submit-case');
  await agent.locator('#case-page').waitFor();
  const id = await agent.getAttribute('#case-page', 'data-case-id');
  check(id && /^210921100202-/.test(id), `unexpected case id ${id}`);
  const submittedLabel = await expectStatus(agent, id, 'submitted');
  check(submittedLabel === '已提交', `submitted case shows "${submittedLabel}", expected 已提交`);
  check((await caseSync(agent)) === 'local', 'a new case at an offline village is not "local"');
  const syncText = (await agent.textContent('#case-page .status-line .sync-state')).trim();
  check(syncText === '仅在本机', `sync state shows "${syncText}", expected 仅在本机`);
  log(`a. case ${id} filed: ${submittedLabel}, ${syncText}`);

  // The status page says the township cannot be reached, and what is waiting.
  await agent.click('#nav a[data-route="status"]');
  await agent.locator(`tr.link-row[data-peer="${TOWN_ID}"] .bad-text`).waitFor({ timeout: 15_000 });
  const pending = Number(await agent.textContent('#status-pending'));
  check(pending > 0, `#status-pending is ${pending} with the township down`);
  log(`a. status page: township unreachable, ${pending} records waiting`);

  // The queue shows the case with the ID number masked.
  await agent.click('#nav a[data-route="queue"]');
  const row = agent.locator(`tr.case-row[data-case-id="${id}"]`);
  await row.waitFor();
  const rowText = await row.textContent();
  check(rowText.includes(MASKED_ID) && !rowText.includes(GOOD_ID), 'the queue row does not show the ID number masked');
  await row.locator('a.case-id').click();
  await agent.locator(`#case-page[data-case-id="${id}"]`).waitFor();

  // b. The link comes back; the clerk asks for a missing material once.
  await startNode('town');
  await syncUntil(agent, 'the case to reach the township', async (p) => (await caseSync(p)) !== 'local');
  log(`b. 立即同步 at the village: case now "${(await agent.textContent('#case-page .status-line .sync-state')).trim()}"`);

  const clerk = await newPage('clerk', { viewport: { width: 1280, height: 800 } });
  await login(clerk, town, 'clerk1');
  log('b. clerk1 signed in at the township (1280x800)');
  await clerk.click('#nav a[data-route="inbox"]');
  const inboxRow = clerk.locator(`tr.case-row[data-case-id="${id}"]`);
  await until('the case in the township inbox', async () => {
    if (await inboxRow.count()) return true;
    await clerk.click('#refresh-list');
    await clerk.locator('#list table.cases, #list-empty').first().waitFor();
    return (await inboxRow.count()) > 0;
  }, { timeout: 10_000 });
  const inboxText = await inboxRow.textContent();
  check(inboxText.includes(MASKED_ID) && !inboxText.includes(GOOD_ID), 'the inbox row does not show the ID number masked');
  log('b. case in the 待办箱 with the ID number masked');
  await inboxRow.locator('a.case-id').click();
  await clerk.locator(`#case-page[data-case-id="${id}"]`).waitFor();
  await expectStatus(clerk, id, 'submitted');

  await clerk.click('#case-actions button[data-action="request_supplement"]');
  await clerk.locator('#dialog').waitFor();
  for (const box of await clerk.locator('.dialog-material').all()) {
    const m = await box.getAttribute('value');
    if (m === '居民身份证') await box.check();
    else await box.uncheck();
  }
  await clerk.fill('#dialog-reason', '请补交身份证复印件');
  await dialogOk(clerk);
  const supplementLabel = await expectStatus(clerk, id, 'supplement_requested');
  log(`b. one-time notice given: ${supplementLabel}, missing 居民身份证`);

  // c. The village learns of it, records the material and supplements.
  await syncUntil(agent, 'the supplement request at the village', async (p) => (await caseStatus(p)) === 'supplement_requested');
  await expectStatus(agent, id, 'supplement_requested');
  const missing = await agent.locator('#supplement-box #supplement-missing li').allTextContents();
  check(missing.join() === '居民身份证', `#supplement-missing lists ${JSON.stringify(missing)}, expected 居民身份证`);
  check((await agent.textContent('#supplement-box')).includes('请补交身份证复印件'), 'the supplement reason is not shown');
  log(`c. village shows ${supplementLabel} and what is missing: ${missing.join('、')}`);

  await agent.check('.add-material[value="居民身份证"]');
  await agent.click('#add-materials');
  await agent.locator('li.material[data-material="居民身份证"][data-received="true"]').waitFor();
  await agent.click('#case-actions button[data-action="supplement"]');
  const supplementedLabel = await expectStatus(agent, id, 'supplemented');
  log(`c. material recorded, 补正提交: ${supplementedLabel}`);

  // d. The clerk accepts, decides and completes.
  await clickSyncNow(agent);
  await until('the supplement at the township', async () => {
    await refreshCase(clerk);
    return (await caseStatus(clerk)) === 'supplemented';
  });
  log('d. township sees the supplement');
  await clerk.click('#case-actions button[data-action="accept"]');
  await expectStatus(clerk, id, 'accepted');
  const accepted = await apiCase(clerk, id);
  check(accepted.due_date, 'an accepted case has no due date');
  check((await clerk.textContent('#case-fields')).includes(accepted.due_date), 'the due date is not shown on the case page');
  // Personal numbers are masked on the page; the clerk may show the ID number whole (audited).
  check((await clerk.textContent('#case-fields')).includes(MASKED_ID), 'the case page does not show the masked ID number');
  await clerk.click('#reveal-applicant_id');
  await until('the whole ID number shown', async () => (await clerk.textContent('#reveal-value-applicant_id')) === GOOD_ID);
  log(`d. the clerk showed the whole ID number with the button (${MASKED_ID} in this log)`);
  await clerk.click('#case-actions button[data-action="decide"]');
  await clerk.locator('#dialog').waitFor();
  await clerk.check('#decide-approve');
  await clerk.fill('#dialog-reason', '符合临时救助条件');
  await dialogOk(clerk);
  await expectStatus(clerk, id, 'decided');
  await clerk.locator('#decision-box', { hasText: '准予' }).waitFor();
  await clerk.click('#case-actions button[data-action="complete"]');
  const completedLabel = await expectStatus(clerk, id, 'completed');
  log(`d. accepted (due ${accepted.due_date}), approved, ${completedLabel}`);
  await clickSyncNow(clerk); // up to the hub, as the C++ scenario does

  // e. The village sees it completed; the resident's evaluation; the receipt.
  await syncUntil(agent, 'the completed case at the village', async (p) => (await caseStatus(p)) === 'completed');
  await expectStatus(agent, id, 'completed');
  await agent.locator('#decision-box', { hasText: '准予' }).waitFor();
  log(`e. village shows ${completedLabel} with the decision`);
  await agent.click('#case-actions button[data-action="evaluate"]');
  await agent.locator('#dialog').waitFor();
  await agent.selectOption('select#evaluation', '5');
  await dialogOk(agent);
  const evaluatedLabel = await expectStatus(agent, id, 'evaluated');
  check((await agent.textContent('#case-fields')).includes('非常满意'), 'the evaluation is not shown on the case page');
  log(`e. evaluation recorded: ${evaluatedLabel} (非常满意)`);

  const [receipt] = await Promise.all([agent.context().waitForEvent('page'), agent.click('#print-receipt')]);
  await receipt.waitForLoadState();
  const html = await receipt.content();
  check(html.includes(id), 'the receipt does not show the case id');
  check(html.includes(MASKED_ID), 'the receipt does not show the masked ID number');
  check(!html.includes(GOOD_ID), 'the receipt shows the whole ID number');
  check(!html.includes(PHONE), 'the receipt shows the whole phone number');
  await receipt.close();
  log('e. receipt shows the case with the ID number masked');

  const shot = path.join(tmp, 'agent-case.png');
  await agent.evaluate(() => { document.querySelector('#toast').hidden = true; });
  await agent.screenshot({ path: shot, fullPage: true });
  log(`screenshot of the agent's case page: ${shot}`);
  check(pageErrors.length === 0, `uncaught errors in the pages:\n${pageErrors.join('\n')}`);
}

// ---- Main: bounded, and always cleans up (harness.mjs) ----

await runTest({
  timeoutMs: 120_000,
  passLine: 'browser scenario (file offline, supplement, accept, decide, complete, evaluate, receipt)',
  body: async () => {
    await setupCity();
    await scenario();
  },
});
