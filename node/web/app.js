/*
 * Daiban node web UI (代办). Plain ES2020: no framework, no build step, no outside resources.
 * Talks only to the node's JSON API (docs/API.md), signed in by the session cookie.
 *
 * Routes: #/login  #/queue (default)  #/new  #/case/<id>  #/inbox  #/warnings  #/conflicts  #/status
 *
 * Safety: server text reaches the page only as text nodes / attribute values (see h());
 * nothing here assigns innerHTML.
 *
 * Stable selectors for browser tests:
 *   Header   #app-header #node-info #user-info #sync-now #logout #toast
 *            #nav a[data-route="new|inbox|queue|warnings|conflicts|status"] (a.active = current)
 *   Login    #login-form #login-user #login-password #login-submit #login-error
 *   Lists    #list table.cases tr.case-row[data-case-id] (cards on narrow screens: same rows)
 *            .warning-badge[data-warning="none|yellow|red"] .sync-state[data-sync] #list-empty
 *            #refresh-list; queue only: #search-form #search-q #filter-status #search-submit
 *   New case #case-form #item-select #item-info #materials-box .material-checkbox (value = material)
 *            #applicant-name #applicant-id #applicant-phone #note #save-draft #submit-case
 *            .field-error[data-field="item|applicant_name|applicant_id|applicant_phone|materials|note"]
 *            #form-error (errors without a field)
 *   Case     #case-page[data-case-id] #case-status[data-status] (text = status_label)
 *            #case-notice #case-error #case-refresh #print-receipt #case-fields
 *            #reveal-applicant_id #reveal-applicant_phone (显示完整号码, for roles that may)
 *            #reveal-value-applicant_id #reveal-value-applicant_phone (the masked, then whole value)
 *            #case-actions button[data-action="submit|supplement|accept|request_supplement|forward|
 *              decide|complete|deliver|evaluate|reject|withdraw"]
 *            #supplement-box #decision-box #case-conflicts .conflict[data-field]
 *            button.settle-btn[data-field][data-index]
 *            #materials li.material[data-material][data-received="true|false"] #missing-list
 *            .add-material (value = material) #add-materials
 *            #comments li.comment #comment-text #comment-submit #superseded #history li.history-item
 *   Dialog   #dialog #dialog-title #dialog-reason .dialog-material (value = material)
 *            #decide-approve #decide-deny select#evaluation #dialog-error #dialog-ok #dialog-cancel
 *   Status   #status-box #status-pending #status-quarantined #sync-running #sync-progress (<progress>)
 *            #sync-progress-text #sync-idle tr.link-row[data-peer]
 */
'use strict';

// ---- Words shown to people ----

const TIER = { village: '村', township: '乡镇', county: '县', city: '市' };
const ROLE = { agent: '代办员', clerk: '窗口人员', supervisor: '监察人员', admin: '管理员' };
const STATUS = {
  draft: '草稿', submitted: '已提交', supplement_requested: '待补正', supplemented: '已补正',
  accepted: '已受理', rejected: '不予受理', forwarded: '已上报', decided: '已决定',
  completed: '已办结', delivered: '已送达', evaluated: '已评价', withdrawn: '已撤件',
};
const FINAL = ['rejected', 'withdrawn', 'evaluated'];
const EVALUATIONS = [[5, '非常满意'], [4, '满意'], [3, '基本满意'], [2, '不满意'], [1, '非常不满意']];
const EVALUATION_NAMES = { very_satisfied: 5, satisfied: 4, basically_satisfied: 3, dissatisfied: 2, very_dissatisfied: 1 };
const FIELD = { applicant_id: '身份证号', applicant_name: '申请人姓名', applicant_phone: '联系电话', note: '备注' };
const KIND = { 'case.create': '建立办件', 'case.edit': '修改信息', 'case.materials': '补收材料', 'case.comment': '留言' };

// Case steps in button order; `dialog` names what the step asks for before it is sent.
const ACTIONS = {
  submit: { label: '提交' },
  supplement: { label: '补正提交' },
  accept: { label: '受理', cls: 'btn-primary' },
  request_supplement: { label: '一次性告知补正', dialog: 'supplement' },
  forward: { label: '上报' },
  decide: { label: '作出决定', dialog: 'decide', cls: 'btn-primary' },
  complete: { label: '办结', cls: 'btn-primary' },
  deliver: { label: '送达' },
  evaluate: { label: '评价', dialog: 'evaluate' },
  reject: { label: '不予受理', dialog: 'reason', cls: 'btn-danger' },
  withdraw: { label: '撤回', dialog: 'reason', cls: 'btn-danger' },
};

const NAV = { new: '新建办件', inbox: '待办箱', queue: '办件队列', warnings: '预警', conflicts: '冲突', status: '同步状态' };
const LISTS = {
  queue: ['办件队列', '本节点及下级的全部办件，最新的在前。'],
  inbox: ['待办箱', '等待本级办理的办件。'],
  warnings: ['预警', '快到期（黄牌）和已超期（红牌）的办件，最早到期的在前。'],
  conflicts: ['冲突', '两处同时改了同一项信息，需要窗口人员确认。'],
};

// Plain words for the error code that starts a link's last_error ("unavailable: …").
const SYNC_ERRORS = {
  unavailable: '连不上上级（网络不通或对方没开机），恢复后会自动重试。',
  unauthenticated: '上级不认本节点的身份（证书或凭据有问题），请联系管理员。',
  permission_denied: '上级拒绝了本节点，请联系管理员。',
  failed_precondition: '上级的设置与本节点对不上，请联系管理员。',
  resource_exhausted: '一次发送的数据太多，被上级拒收。',
};

// ---- DOM helpers: h() is how every element is made ----

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/**
 * h('tag.class#id', props?, ...children) makes an element. props (a plain object, optional):
 * "class" adds classes, "on<event>" adds a listener (functions only, so data can never become a
 * handler), "value" and true booleans set properties, anything else is an attribute.
 * Children: nodes, strings and numbers (inserted as text), arrays, null/false/undefined.
 */
function h(spec, props, ...kids) {
  const [tag, ...parts] = spec.split(/(?=[.#])/);
  const el = document.createElement(tag);
  for (const p of parts) {
    if (p[0] === '#') el.id = p.slice(1);
    else el.classList.add(p.slice(1));
  }
  if (props && props.constructor === Object) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = `${el.className} ${v}`.trim();
      else if (k.startsWith('on')) { if (typeof v === 'function') el.addEventListener(k.slice(2), v); }
      else if (k === 'value' || (v === true && k in el)) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  } else {
    kids.unshift(props);
  }
  add(el, kids);
  return el;
}

function add(el, kids) {
  for (const c of kids) {
    if (Array.isArray(c)) add(el, c);
    else if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const clear = (el) => { el.replaceChildren(); return el; };
const hint = (text) => h('p.hint', text);
const loading = () => h('p.loading', '正在加载…');
const errorLine = (spec, field) => h(`p.${spec}`, { 'data-field': field, role: 'alert', hidden: true });

/** Replaces the main view's content; returns the view element. */
function setView(...nodes) {
  window.scrollTo(0, 0);
  return add(clear($('#view')), nodes);
}

function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

// ---- Formatting ----

const pad = (n) => String(n).padStart(2, '0');

/**
 * A time as local "YYYY-MM-DD HH:MM:SS" ('' for none). Takes Unix ms, a hybrid logical clock
 * value (ms << 16 | counter; number or digit string), an ISO string, or any other string as is.
 */
function fmtTime(t) {
  if (t == null || t === '' || t === 0) return '';
  if (typeof t === 'string' && /^\d{4}-\d\d-\d\dT/.test(t)) t = Date.parse(t.split('/')[0]) || t;
  if (typeof t === 'string' && !/^\d+$/.test(t)) return t;
  let ms = Number(t);
  if (ms > 1e14) ms = Number(BigInt(typeof t === 'number' ? Math.round(t) : t) >> 16n);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s} 秒`;
  if (s < 3600) return `${Math.floor(s / 60)} 分 ${s % 60} 秒`;
  return `${Math.floor(s / 3600)} 小时 ${Math.floor((s % 3600) / 60)} 分`;
}

/** "210921100202-20250124-0a1b2c3d4e5f-1" → "0a1b2c-1" for lists (full id in the title). */
function shortId(id) {
  const p = String(id).split('-');
  return p.length >= 4 ? `${p[2].slice(0, 6)}-${p[p.length - 1]}` : String(id);
}

const tierText = (t) => TIER[t] || t || '';
const actionText = (a) => (ACTIONS[a] ? ACTIONS[a].label : a);
const caseHref = (id) => `#/case/${encodeURIComponent(id)}`;

function evaluationText(v) {
  if (v == null || v === '') return '';
  const n = EVALUATION_NAMES[v] || Number(v);
  const found = EVALUATIONS.find(([k]) => k === n);
  return found ? found[1] : String(v);
}

/** How far this node's changes to a case have got, in words for this node's tier. */
function syncBadge(sync) {
  const words = { local: '仅在本机', parent: me && me.tier === 'village' ? '已到乡镇' : '已到上级', hub: '已到市中心' };
  return h('span.sync-state', { class: `sync-${sync}`, 'data-sync': sync || '' }, words[sync] || sync || '');
}

function warningBadge(w) {
  if (w === 'yellow') return h('span.badge.badge-yellow.warning-badge', { 'data-warning': w }, '黄牌');
  if (w === 'red') return h('span.badge.badge-red.warning-badge', { 'data-warning': w }, '红牌');
  return h('span.muted.warning-badge', { 'data-warning': 'none' }, '—');
}

const statusBadge = (c, id) => h('span.badge', { id, class: `status-${c.status}`, 'data-status': c.status || '' }, c.status_label || STATUS[c.status] || c.status);

// ---- API client ----

class ApiError extends Error {
  constructor(status, code, field, message) {
    super(message);
    Object.assign(this, { status, code, field, handled: false });  // handled: the client already reacted (401)
  }
}

const DEFAULT_ERROR = {
  400: '填写的内容有误。', 403: '没有权限做这件事。', 404: '找不到要找的内容。', 409: '办件当前的状态不允许这样做。',
  413: '数据太大。', 500: '系统内部错误。', 503: '服务暂时不可用，请稍后再试。',
};

/** Calls the JSON API; resolves to the parsed body, rejects with ApiError. A 401 goes to login. */
async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json', 'X-Daiban-Request': '1' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch {
    throw new ApiError(0, 'unavailable', '', '连不上本机服务，请检查网络或程序是否在运行。');
  }
  let data = null;
  try { data = JSON.parse(await res.text()); } catch { /* empty or not JSON */ }
  if (res.ok) return data || {};
  const err = (data && data.error) || {};
  const e = new ApiError(res.status, err.code, err.field, err.message || DEFAULT_ERROR[res.status] || `请求失败（${res.status}）。`);
  if (res.status === 401 && path !== '/api/login') {
    e.handled = true;
    goLogin();
  }
  throw e;
}

/** An error for people: a Chinese lead-in by status, the server's words, the allowed steps in Chinese. */
function errorText(e) {
  const lead = { 403: '没有权限：', 404: '找不到：', 409: '现在不能这样做：', 500: '系统内部错误：', 503: '服务暂时不可用：' }[e.status] || '';
  let msg = e.message || '';
  const m = /allowed from here:\s*([a-z_, ]+)/.exec(msg);  // the state machine's 409 message
  if (m) {
    const names = m[1].split(',').map((s) => s.trim()).filter((s) => s && s !== 'nothing');
    msg += names.length ? `（现在可以：${names.map(actionText).join('、')}）` : '（现在没有可做的步骤）';
  }
  return msg.startsWith(lead) ? msg : lead + msg;
}

/** Shows an error (ApiError, Error or string) in `el`, unless the client already handled it. */
function showError(el, e) {
  if (e && e.handled) return;
  el.textContent = e instanceof ApiError ? errorText(e) : String((e && e.message) || e);
  el.hidden = false;
}

// ---- State and routing ----

let me = null;            // GET /api/me of the signed-in user
let afterLogin = '';      // where to go after signing in
let routeToken = 0;       // bumped on every route change; late async work checks stale(token)
let pollTimer = 0;        // status page polling
let statusRefresh = null; // refreshes the status page now (set while it is shown)
let catalogCache = {};    // catalog URL → items, for this session
const filter = { q: '', status: '' };  // queue search; kept in memory, not the URL (ID numbers)

const stale = (token) => token !== routeToken;

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  return { name: parts[0] || '', arg: parts.slice(1).join('/') };
}

/** Navigates to `hash`, re-rendering even when it is already the current one. */
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function goLogin() {
  me = null;
  if (!location.hash.startsWith('#/login')) afterLogin = location.hash;
  go('#/login');
}

const VIEWS = {
  queue: viewList, inbox: viewList, warnings: viewList, conflicts: viewList,
  new: viewNew, case: viewCase, status: viewStatus,
};

async function route() {
  const token = ++routeToken;
  clearTimeout(pollTimer);
  statusRefresh = null;
  closeDialog();
  const r = parseRoute();
  if (r.name === 'login') {
    renderHeader('login');
    viewLogin();
    return;
  }
  if (!me) {
    setView(loading());
    try {
      me = await api('GET', '/api/me');
    } catch (e) {
      if (!stale(token)) showError(setView(h('p.form-error')).firstChild, e);
      return;
    }
    if (stale(token)) return;
  }
  if (!VIEWS[r.name] || (r.name === 'case' && !r.arg)) {
    location.replace('#/queue');
    return;
  }
  renderHeader(r.name);
  VIEWS[r.name](r, token);
}

function navFor(role) {
  if (role === 'agent') return ['new', 'queue', 'status'];
  if (role === 'clerk') return ['inbox', 'queue', 'warnings', 'conflicts', 'status', 'new'];
  return ['queue', 'warnings', 'conflicts', 'status'];
}

function renderHeader(active) {
  const header = $('#app-header');
  header.hidden = !me || active === 'login';
  if (header.hidden) return;
  $('#node-info').textContent = `${me.region_name || me.region || me.node_id || ''}（${tierText(me.tier)}）`;
  $('#user-info').textContent = `${me.user} · ${ROLE[me.role] || me.role}`;
  clear($('#nav')).append(...navFor(me.role).map((name) => h('a', {
    href: `#/${name}`, 'data-route': name, class: name === active && 'active', 'aria-current': name === active && 'page',
  }, NAV[name])));
}

async function logout() {
  try { await api('POST', '/api/logout', {}); } catch { /* signed out either way */ }
  me = null;
  catalogCache = {};
  Object.assign(filter, { q: '', status: '' });
  afterLogin = '';
  go('#/login');
}

/** The 立即同步 button: start a sync, then show fresh status. */
async function syncNow() {
  const btn = $('#sync-now');
  btn.disabled = true;
  try {
    await api('POST', '/api/sync', {});
    if (statusRefresh) {
      statusRefresh();
      toast('已开始同步。');
    } else {
      const s = await api('GET', '/api/status');
      toast(`已开始同步。本机待上传 ${s.pending ?? 0} 条记录。`);
    }
  } catch (e) {
    if (!e.handled) toast(`同步没有开始：${errorText(e)}`);
  }
  btn.disabled = false;
}

// ---- Form rows: label, control, hint, and an error line ----

/** A form row with `.field-error[data-field=name]` under the control. */
function field(label, control, name, hintText) {
  return h('div.field', h('label', { for: control.id }, label), control, hintText && hint(hintText), errorLine('field-error', name));
}

/** Sets (or with '' clears) the error under field `name`; false if the form has no such field. */
function setFieldError(form, name, message) {
  const el = $$('.field-error', form).find((x) => x.dataset.field === name);
  if (!el) return false;
  el.textContent = message || '';
  el.hidden = !message;
  const control = el.parentElement.querySelector('input, select, textarea');
  if (control) control.setAttribute('aria-invalid', message ? 'true' : 'false');
  return true;
}

// ---- Login ----

function viewLogin() {
  const user = h('input#login-user', { name: 'user', autocomplete: 'username', autocapitalize: 'off', spellcheck: 'false' });
  const password = h('input#login-password', { name: 'password', type: 'password', autocomplete: 'current-password' });
  const error = h('p#login-error.form-error', { role: 'alert', hidden: true });
  const submit = h('button#login-submit.btn.btn-primary.btn-wide', { type: 'submit' }, '登录');
  const form = h('form#login-form.card.login-form', { novalidate: true },
    h('h1', '登录代办系统'), hint('请输入本节点分配给您的用户名和密码。'),
    field('用户名', user, 'user'), field('密码', password, 'password'), error, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    if (!user.value.trim() || !password.value) {
      showError(error, '请输入用户名和密码。');
      return;
    }
    submit.disabled = true;
    try {
      await api('POST', '/api/login', { user: user.value.trim(), password: password.value });
      me = await api('GET', '/api/me');
      catalogCache = {};
      const next = afterLogin || '#/queue';
      afterLogin = '';
      go(next);
    } catch (e) {
      showError(error, e.status === 401 ? '用户名或密码不正确。' : e);
      password.select();
    }
    submit.disabled = false;
  });
  setView(form);
  user.focus();
}

// ---- Case lists: queue, inbox, warnings, conflicts ----

async function viewList(r, token) {
  const [title, hintText] = LISTS[r.name];
  const isQueue = r.name === 'queue';
  const box = h('div#list', loading());
  setView(
    h('div.title-row', h('h1', title), h('button#refresh-list.btn.btn-small.btn-plain', { type: 'button', onclick: () => route() }, '刷新')),
    hint(hintText), isQueue && searchForm(), box);
  const params = new URLSearchParams({ view: r.name });
  if (isQueue && filter.q) params.set('q', filter.q);
  if (isQueue && filter.status) params.set('status', filter.status);
  try {
    const data = await api('GET', `/api/cases?${params}`);
    if (!stale(token)) clear(box).append(caseTable(data.cases || []));
  } catch (e) {
    if (!stale(token)) showError(clear(box).appendChild(h('p.form-error')), e);
  }
}

function searchForm() {
  const q = h('input#search-q', { type: 'search', value: filter.q, placeholder: '办件编号、姓名或身份证号', 'aria-label': '搜索办件' });
  const status = h('select#filter-status', { 'aria-label': '按状态筛选' }, h('option', { value: '' }, '全部状态'),
    Object.entries(STATUS).map(([k, v]) => h('option', { value: k }, v)));
  status.value = filter.status;
  return h('form#search-form.search-form', {
    role: 'search',
    onsubmit: (ev) => {
      ev.preventDefault();
      Object.assign(filter, { q: q.value.trim(), status: status.value });
      route();
    },
  }, q, status, h('button#search-submit.btn', { type: 'submit' }, '查询'));
}

function caseTable(cases) {
  if (!cases.length) return h('p#list-empty.empty', '没有办件。');
  const heads = ['编号', '事项', '申请人', '身份证号', '状态', '办结期限', '预警', '同步'];
  return h('table.cases', h('thead', h('tr', heads.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', cases.map(caseRow)));
}

/** One list row; on narrow screens CSS shows it as a card, td[data-label] naming each value. */
function caseRow(c) {
  const href = caseHref(c.id);
  const cells = [
    ['编号', h('a.case-id.mono', { href, title: c.id }, shortId(c.id))],
    ['事项', c.item_name || c.item],
    ['申请人', c.applicant_name],
    ['身份证号', h('span.mono', c.applicant_id)],
    ['状态', [statusBadge(c), c.conflicts > 0 && h('span.badge.badge-conflict', `冲突 ${c.conflicts}`)]],
    ['办结期限', c.due_date || '—'],
    ['预警', warningBadge(c.warning)],
    ['同步', syncBadge(c.sync)],
  ];
  return h('tr.case-row', { 'data-case-id': c.id, onclick: (ev) => { if (!ev.target.closest('a')) go(href); } },
    cells.map(([label, v]) => h('td', { 'data-label': label }, v)));
}

// ---- Checks as the user types: ID number (GB 11643) and phone ----

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/**
 * '' when `id` is a valid 18-character resident ID number, else what is wrong.
 * partial: the user is still typing, so only say what is already wrong.
 */
function checkIdNumber(id, partial) {
  if (!id) return partial ? '' : '请填写身份证号。';
  if (!/^\d{0,17}[\dX]?$/.test(id) && id.length <= 18) return /[^\dX]/.test(id) ? '身份证号只能是数字，最后一位可以是 X。' : '只有第18位可以是 X。';
  if (id.length !== 18) return partial && id.length < 18 ? '' : `身份证号应为18位，现在是${id.length}位。`;
  if (id < '11' || id > '92') return '前6位地区码不正确，请核对。';  // province code 11-91
  if (!validBirthDate(id.slice(6, 14))) return '第7-14位出生日期不正确（如 19800101），请核对。';
  const sum = ID_WEIGHTS.reduce((s, w, i) => s + w * Number(id[i]), 0);
  return '10X98765432'[sum % 11] === id[17] ? '' : '身份证号校验位不正确，请逐位核对。';
}

/** True for a real date "YYYYMMDD" from 1900 up to today. */
function validBirthDate(s) {
  const [y, m, d] = [s.slice(0, 4), s.slice(4, 6), s.slice(6)].map(Number);
  const date = new Date(y, m - 1, d);
  return y >= 1900 && date.getFullYear() === y && date.getMonth() === m - 1 && date.getDate() === d && date <= new Date();
}

/** A mobile number (11 digits starting with 1) or a landline like 0418-2812345. Empty is fine. */
function checkPhone(phone, partial) {
  if (!/^[\d-]*$/.test(phone)) return '电话号码只能是数字。';
  if (!phone || partial || /^1\d{10}$/.test(phone) || /^0[1-9]\d{1,2}-?\d{7,8}$/.test(phone)) return '';
  return '请填写11位手机号（以1开头），或带区号的固定电话。';
}

// ---- New case ----

async function viewNew(r, token) {
  setView(h('h1', '新建办件'), loading());
  const url = me.role === 'agent' ? '/api/catalog?proxy=1' : '/api/catalog';
  try {
    if (!catalogCache[url]) catalogCache[url] = (await api('GET', url)).items || [];
  } catch (e) {
    if (!stale(token)) showError(setView(h('h1', '新建办件'), h('p.form-error')).lastChild, e);
    return;
  }
  if (!stale(token)) setView(h('h1', '新建办件'), caseForm(catalogCache[url]));
}

/** The filing form. An error never clears anything typed. */
function caseForm(items) {
  const byCode = new Map(items.map((it) => [it.code, it]));
  const select = h('select#item-select', { name: 'item' }, h('option', { value: '' }, '— 请选择办理事项 —'), itemOptions(items));
  const info = h('div#item-info.item-info', { hidden: true });
  const checks = h('div.checks');
  const materials = h('fieldset#materials-box', { hidden: true },
    h('legend', '已收材料（勾选已经收到的）'), checks, errorLine('field-error', 'materials'));
  const name = h('input#applicant-name', { name: 'applicant_name', autocomplete: 'off', maxlength: 50 });
  const idNo = h('input#applicant-id.mono', { name: 'applicant_id', autocomplete: 'off', maxlength: 18, spellcheck: 'false' });
  const phone = h('input#applicant-phone', { name: 'applicant_phone', type: 'tel', autocomplete: 'off', maxlength: 13 });
  const note = h('textarea#note', { name: 'note', rows: 3, maxlength: 500 });
  const draft = h('button#save-draft.btn', { type: 'button' }, '保存草稿');
  const submit = h('button#submit-case.btn.btn-primary', { type: 'submit' }, me.tier === 'village' ? '提交到乡镇' : '提交受理');
  const form = h('form#case-form.card.form', { novalidate: true },
    h('div#form-error.form-error', { role: 'alert', hidden: true }),
    field('办理事项', select, 'item'), info, materials,
    field('申请人姓名', name, 'applicant_name'),
    field('身份证号', idNo, 'applicant_id', '18位，最后一位可能是 X'),
    field('联系电话', phone, 'applicant_phone', '11位手机号'),
    field('备注', note, 'note'),
    h('div.buttons', draft, submit));

  select.addEventListener('change', () => {
    showItem(byCode.get(select.value), info, materials, checks);
    setFieldError(form, 'item', '');
  });
  watchField(form, idNo, 'applicant_id', checkIdNumber, (v) => v.replace(/\s+/g, '').toUpperCase());
  watchField(form, phone, 'applicant_phone', checkPhone, (v) => v.replace(/\s+/g, ''));
  watchField(form, name, 'applicant_name', (v, partial) => (v || partial ? '' : '请填写申请人姓名。'), (v) => v);
  draft.addEventListener('click', () => sendCase(form, false, [draft, submit]));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendCase(form, true, [draft, submit]);
  });
  return form;
}

/** Catalog items as <option>s grouped by department. */
function itemOptions(items) {
  const groups = new Map();
  for (const it of items) groups.set(it.department, (groups.get(it.department) || []).concat(it));
  return Array.from(groups, ([dept, list]) => h('optgroup', { label: dept || '其他' },
    list.map((it) => h('option', { value: it.code }, `${it.name}（${it.code}）`))));
}

/** Shows the chosen item's time limits and department, and its materials as checkboxes. */
function showItem(item, info, materials, checks) {
  info.hidden = materials.hidden = !item;
  clear(info);
  clear(checks);
  if (!item) return;
  info.append(h('dl.facts',
    fact('承诺时限', Number(item.promised_days) ? `${item.promised_days} 个工作日` : '即办（当场办结）', 'item-promised-days'),
    fact('法定时限', item.legal_days != null && `${item.legal_days} 个工作日`),
    fact('办理部门', item.department, 'item-department'),
    fact('事项类型', item.kind),
    fact('受理 / 决定', `${tierText(item.accept_level)}级受理，${tierText(item.decide_level)}级决定`),
    fact('收费', Number(item.fee_yuan) > 0 ? `${item.fee_yuan} 元` : '不收费')));
  checks.append(...(item.materials || []).map((m) => checkbox('material-checkbox', m)));
}

/** A <dt>/<dd> pair, or nothing for an empty value. */
function fact(label, value, id) {
  if (value == null || value === '' || value === false) return null;
  const shown = value instanceof Node || typeof value !== 'object' ? value : JSON.stringify(value);
  return [h('dt', label), h('dd', { id }, shown)];
}

const checkbox = (cls, value, checked) => h('label.check', h('input', { type: 'checkbox', class: cls, value, checked }), h('span', value));
const checkedValues = (root, cls) => $$(`.${cls}`, root).filter((x) => x.checked).map((x) => x.value);

/** Checks a field as the user types (only what is already wrong) and fully on leaving it. */
function watchField(form, input, name, check, normalise) {
  let left = false;
  input.addEventListener('input', () => {
    const v = normalise(input.value);
    if (v !== input.value) input.value = v;
    setFieldError(form, name, check(v, !left));
  });
  input.addEventListener('blur', () => {
    left = left || input.value !== '';
    if (left) setFieldError(form, name, check(normalise(input.value), false));
  });
}

/** Client checks before sending; a draft may leave the name and ID number empty. */
function validateCase(b) {
  const errors = {
    item: !b.item && '请选择办理事项。',
    applicant_name: b.submit && !b.applicant_name && '请填写申请人姓名。',
    applicant_id: (b.submit || b.applicant_id) && checkIdNumber(b.applicant_id, false),
    applicant_phone: checkPhone(b.applicant_phone, false),
  };
  return Object.entries(errors).filter(([, msg]) => msg);
}

async function sendCase(form, submitNow, buttons) {
  for (const el of $$('.field-error', form)) setFieldError(form, el.dataset.field, '');
  $('#form-error', form).hidden = true;
  const body = {
    item: $('#item-select', form).value,
    applicant_name: $('#applicant-name', form).value.trim(),
    applicant_id: $('#applicant-id', form).value.replace(/\s+/g, '').toUpperCase(),
    applicant_phone: $('#applicant-phone', form).value.replace(/\s+/g, ''),
    materials: checkedValues(form, 'material-checkbox'),
    note: $('#note', form).value.trim(),
    submit: submitNow,
  };
  const errors = validateCase(body);
  if (errors.length) {
    errors.forEach(([name, msg]) => setFieldError(form, name, msg));
    const first = $('[aria-invalid="true"]', form);
    if (first) first.focus();
    return;
  }
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const data = await api('POST', '/api/cases', body);
    toast(submitNow ? '已提交。' : '草稿已保存。');
    go(caseHref(data.case.id));
  } catch (e) {
    const message = e instanceof ApiError && e.status !== 400 ? errorText(e) : e.message;
    if (!e.handled && !(e.field && setFieldError(form, e.field, message))) {
      showError($('#form-error', form), message);
      window.scrollTo(0, 0);
    }
  }
  buttons.forEach((b) => { b.disabled = false; });
}

// ---- Case page ----

async function viewCase(r, token) {
  setView(loading());
  try {
    const data = await api('GET', `/api/cases/${encodeURIComponent(r.arg)}`);
    if (!stale(token)) renderCase(data.case, token);
  } catch (e) {
    if (!stale(token)) showError(setView(h('p.form-error')).firstChild, e);
  }
}

/** Renders a case detail; `notice` is a short success message for the top. */
function renderCase(c, token, notice) {
  const draft = $('#comment-text') ? $('#comment-text').value : '';  // a half-written comment survives
  setView(h('article#case-page', { 'data-case-id': c.id },
    h('div.title-row.no-print',
      h('a', { href: '#/queue' }, '← 办件队列'), h('span.spacer'),
      h('button#case-refresh.btn.btn-small.btn-plain', { type: 'button', onclick: () => route() }, '刷新'),
      h('a#print-receipt.btn.btn-small', { href: `/receipt/${encodeURIComponent(c.id)}`, target: '_blank', rel: 'noopener' }, '打印回执')),
    h('h1', c.item_name || c.item || '办件'),
    h('p.muted', '办件编号 ', h('span.mono', c.id)),
    h('p.status-line', statusBadge(c, 'case-status'), warningBadge(c.warning), syncBadge(c.sync)),
    h('div#case-notice.notice', { role: 'status', hidden: !notice }, notice),
    h('div#case-error.form-error', { role: 'alert', hidden: true }),
    actionBar(c, token),
    outcomeBoxes(c),
    conflictsSection(c, token),
    caseFields(c),
    materialsSection(c, token),
    commentsSection(c, token, draft),
    supersededSection(c),
    historySection(c)));
}

/**
 * POSTs to /api/cases/{id}{path} (which answers {case}), re-renders with the answer and `notice`,
 * or shows the error in errorEl. Resolves to true on success; never rejects.
 */
async function caseCall(c, token, path, body, notice, errorEl) {
  try {
    const data = await api('POST', `/api/cases/${encodeURIComponent(c.id)}${path}`, body);
    if (!stale(token)) renderCase(data.case, token, notice);
    return true;
  } catch (e) {
    if (!stale(token)) showError(errorEl, e);
    return false;
  }
}

/** One button per step in `allowed` (names, or objects with an action name). */
function actionBar(c, token) {
  const allowed = (c.allowed || []).map((a) => (typeof a === 'string' ? a : a.action || a.name));
  const ordered = Object.keys(ACTIONS).filter((a) => allowed.includes(a)).concat(allowed.filter((a) => !ACTIONS[a]));
  if (!ordered.length) return h('p#case-actions.hint', '您现在对这件办件没有要做的步骤。');
  const bar = h('div#case-actions.actions.no-print');
  for (const a of ordered) {
    const spec = ACTIONS[a] || {};
    const label = a === 'submit' && me.tier === 'village' ? '提交到乡镇' : actionText(a);
    bar.append(h('button.btn', { type: 'button', class: spec.cls, 'data-action': a, onclick: () => runAction(c, a, token, bar) }, label));
  }
  return bar;
}

async function runAction(c, action, token, bar) {
  if ((ACTIONS[action] || {}).dialog) {
    openActionDialog(c, action, token);
    return;
  }
  const buttons = $$('button', bar);
  buttons.forEach((b) => { b.disabled = true; });
  $('#case-error').hidden = true;
  await caseCall(c, token, '/steps', { action }, `已完成：${actionText(action)}。`, $('#case-error'));
  buttons.forEach((b) => { b.disabled = false; });
}

/** Highlighted boxes: the supplement request, a rejection or withdrawal, the decision. */
function outcomeBoxes(c) {
  const box = (spec, title, ...kids) => h(`section.callout${spec}`, h('h2', title), ...kids);
  const d = c.decision && typeof c.decision === 'object' ? c.decision : null;
  const missing = c.supplement_missing || [];
  return [
    c.status === 'supplement_requested' && box('.callout-warn#supplement-box', '需要补正材料（一次性告知）',
      missing.length > 0 && h('ul#supplement-missing', missing.map((m) => h('li', m))),
      c.supplement_reason && h('p', '说明：', c.supplement_reason),
      hint('收齐后，先在「材料」里勾选并点「补收材料」，再点「补正提交」。')),
    c.status === 'rejected' && box('.callout-bad', '不予受理', h('p', c.rejected_reason || '')),
    c.status === 'withdrawn' && box('', '已撤件', h('p', c.withdrawn_reason || '')),
    d && box(d.approved ? '.callout-good#decision-box' : '.callout-bad#decision-box', d.approved ? '决定：准予' : '决定：不予批准',
      d.reason && h('p', d.reason), d.on && hint(`决定日期 ${d.on}`)),
  ];
}

/**
 * A personal field as the server sends it (masked), with a 显示完整号码 button for the roles
 * that may see it whole (c.revealable); the node records every showing.
 */
function personalValue(c, key, masked) {
  if (!masked || !(c.revealable || []).includes(key)) return masked;
  const text = h('span.mono', { id: `reveal-value-${key}` }, masked);
  const button = h('button.btn.btn-small.btn-plain', { type: 'button', id: `reveal-${key}` }, '显示完整号码');
  button.onclick = async () => {
    try {
      const r = await api('POST', `/api/cases/${encodeURIComponent(c.id)}/reveal`, { field: key });
      text.textContent = r.value;
      button.remove();
    } catch (e) {
      if (!e.handled) button.replaceWith(h('span.hint', errorText(e)));
    }
  };
  return h('span', text, ' ', button);
}

function caseFields(c) {
  const f = c.fields || {};
  const pick = (k) => (c[k] != null && c[k] !== '' ? c[k] : f[k]);
  const rows = [
    ['办理事项', c.item_name ? `${c.item_name}（${c.item || ''}）` : c.item],
    ['办理部门', c.department],
    ['事项类型', c.item_kind],
    ['承诺时限', c.promised_days != null && (Number(c.promised_days) ? `${c.promised_days} 个工作日` : '即办')],
    ['申请人', pick('applicant_name')],
    ['身份证号', personalValue(c, 'applicant_id', pick('applicant_id'))],
    ['联系电话', personalValue(c, 'applicant_phone', pick('applicant_phone'))],
    ['备注', pick('note')],
    ['地区代码', c.region],
    ['建档日期', c.filed],
    ['提交日期', c.submitted_on],
    ['受理日期', c.accepted_on],
    ['办结期限', c.due_date],
    ['当前办理层级', tierText(c.holder_tier)],
    ['受理 / 决定层级', c.accept_level && `${tierText(c.accept_level)} / ${tierText(c.decide_level)}`],
    ['办结日期', c.completed_on],
    ['送达日期', c.delivered_on],
    ['评价', evaluationText(c.evaluation)],
    ['尚不完整', c.incomplete],
  ];
  for (const [k, v] of Object.entries(f)) if (!FIELD[k]) rows.push([k, v]);  // fields added later
  return h('section.section', h('h2', '办件信息'), h('dl#case-fields.facts', rows.map(([label, v]) => fact(label, v))));
}

function materialsSection(c, token) {
  const required = c.materials_required || [];
  const received = new Set(c.materials || []);
  const missing = c.missing || required.filter((m) => !received.has(m));
  const all = required.concat(Array.from(received).filter((m) => !required.includes(m)));
  const section = h('section#materials.section', h('h2', '材料'),
    h('ul.materials', all.map((m) => {
      const got = received.has(m);
      return h('li.material', { class: got ? 'got' : 'missing', 'data-material': m, 'data-received': String(got) },
        h('span.mark', { 'aria-hidden': 'true' }, got ? '✓' : '✗'), h('span', m), !got && h('span.muted', '（未收）'));
    })),
    h('p#missing-list', { class: missing.length ? 'warn-text' : 'good-text' }, missing.length ? `尚缺材料：${missing.join('、')}` : '材料已收齐。'));
  if ((me.role === 'agent' || me.role === 'clerk') && missing.length && !FINAL.includes(c.status)) {
    const err = errorLine('field-error', 'add');
    const btn = h('button#add-materials.btn', { type: 'button' }, '补收材料');
    const box = h('fieldset.no-print', h('legend', '补收材料：勾选刚收到的'), h('div.checks', missing.map((m) => checkbox('add-material', m))), err, btn);
    btn.addEventListener('click', async () => {
      const add = checkedValues(box, 'add-material');
      if (!add.length) return showError(err, '请先勾选补收到的材料。');
      btn.disabled = true;
      await caseCall(c, token, '/materials', { add }, `已补收：${add.join('、')}。`, err);
      btn.disabled = false;
    });
    section.append(box);
  }
  return section;
}

/** Field conflicts with every candidate; a clerk settles one by picking a value. */
function conflictsSection(c, token) {
  if (!Array.isArray(c.conflicts) || !c.conflicts.length) return null;
  const clerk = me.role === 'clerk';
  const err = h('p.form-error', { role: 'alert', hidden: true });
  const settle = async (btn, fieldName, value) => {
    btn.disabled = true;
    await caseCall(c, token, '/settle', { field: fieldName, value }, `已确认${FIELD[fieldName] || fieldName}。`, err);
    btn.disabled = false;
  };
  return h('section#case-conflicts.callout.callout-warn', h('h2', '信息冲突（需要确认）'),
    hint(clerk ? '两处同时改了同一项信息。请向申请人核实后点「采用此值」。' : '两处同时改了同一项信息，等待窗口人员确认；暂按「当前显示」的值。'),
    err,
    c.conflicts.map((cf) => h('div.conflict', { 'data-field': cf.field }, h('h3', FIELD[cf.field] || cf.field),
      h('ul.candidates', (cf.candidates || []).map((x, i) => h('li',
        h('span.mono.value', x.value === '' ? '（空）' : x.value),
        h('span.muted', `${x.user || ''}${x.origin ? `（${x.origin}）` : ''} ${fmtTime(x.time ?? x.hlc)}`),
        x.event && x.event === cf.winner && h('span.badge', '当前显示'),
        clerk && h('button.btn.btn-small.settle-btn', {
          type: 'button', 'data-field': cf.field, 'data-index': i, onclick: (ev) => settle(ev.currentTarget, cf.field, x.value),
        }, '采用此值')))))));
}

function commentsSection(c, token, draft) {
  const comments = c.comments || [];
  const text = h('textarea#comment-text', { rows: 2, maxlength: 1000, placeholder: '写给其他经办人的说明', 'aria-label': '留言' });
  text.value = draft;
  const err = errorLine('field-error', 'text');
  const btn = h('button#comment-submit.btn', { type: 'submit' }, '发表留言');
  const form = h('form.comment-form.no-print', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const value = text.value.trim();
      if (!value) return showError(err, '请先写留言内容。');
      btn.disabled = true;
      if (await caseCall(c, token, '/comments', { text: value }, '留言已发表。', err)) $('#comment-text').value = '';
      btn.disabled = false;
    },
  }, text, err, btn);
  return h('section#comments.section', h('h2', `留言（${comments.length}）`),
    h('ul.comments', comments.map((m) => h('li.comment',
      h('p.muted', `${m.user || m.who || ''} · ${fmtTime(m.time ?? m.hlc)}`), h('p.comment-text', m.text)))),
    (me.role === 'agent' || me.role === 'clerk') && form);
}

/** Steps that lost to a concurrent step elsewhere: kept and shown, never applied. */
function supersededSection(c) {
  const list = c.superseded || [];
  return list.length > 0 && h('section#superseded.section', h('h2', '未生效的操作'),
    hint('这些操作与别处同时做的操作冲突，按规则没有生效，仅作记录。'),
    h('ul', list.map((s) => h('li', h('strong', s.action === 'create' ? '重复建档' : actionText(s.action)), `：${s.reason || ''}`))));
}

/** The history timeline; entries are {time, who, what} or the fold's {hlc, user, tier, action, applied}. */
function historySection(c) {
  const list = c.history || c.steps || [];
  return h('section#history.section', h('h2', '办理记录'), list.length ? h('ol.timeline', list.map((e) => {
    let what = e.what ?? (e.action ? actionText(e.action) : KIND[e.kind] || e.kind || '');
    if (typeof what !== 'string') what = JSON.stringify(what);
    return h('li.history-item', { class: e.applied === false && 'not-applied' },
      h('span.muted', fmtTime(e.time ?? e.at ?? e.hlc)),
      h('span', (e.who || e.user || '') + (e.tier ? `（${tierText(e.tier)}）` : '')),
      h('span.what', what), e.applied === false && h('span.badge', '未生效'));
  })) : h('p.muted', '暂无记录。'));
}

// ---- Dialogs for steps that ask for something ----

function closeDialog() {
  const overlay = $('#dialog-overlay');
  if (overlay) overlay.remove();
}

/**
 * Shows a modal form. On 确定 it runs onOk(): an error (thrown or from the server) is shown in the
 * dialog, which stays open with everything typed; success closes it.
 */
function openDialog({ title, content, okText, cls, onOk }) {
  closeDialog();
  const err = h('p#dialog-error.form-error', { role: 'alert', hidden: true });
  const ok = h('button#dialog-ok.btn', { type: 'submit', class: cls || 'btn-primary' }, okText);
  const form = h('form#dialog.dialog', { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'dialog-title', novalidate: true },
    h('h2#dialog-title', title), content, err,
    h('div.buttons', h('button#dialog-cancel.btn.btn-plain', { type: 'button', onclick: closeDialog }, '取消'), ok));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    ok.disabled = true;
    try {
      await onOk();
      closeDialog();
    } catch (e) {
      showError(err, e);
    }
    ok.disabled = false;
  });
  document.body.append(h('div#dialog-overlay.overlay', { onkeydown: (ev) => { if (ev.key === 'Escape') closeDialog(); } }, form));
  ($('input, select, textarea', form) || ok).focus();
}

function reasonBox(label, required) {
  return h('div.field', h('label', { for: 'dialog-reason' }, `${label}（${required ? '必填' : '可不填'}）`),
    h('textarea#dialog-reason', { rows: 3, maxlength: 500 }));
}

const reasonValue = () => $('#dialog-reason').value.trim();

/** Opens the dialog for reject, withdraw, request_supplement, decide or evaluate. */
function openActionDialog(c, action, token) {
  const spec = ACTIONS[action];
  const send = async (body) => {
    const data = await api('POST', `/api/cases/${encodeURIComponent(c.id)}/steps`, { action, ...body });
    if (!stale(token)) renderCase(data.case, token, `已完成：${spec.label}。`);
  };
  const dialogs = {
    reason: () => ({
      content: [hint(action === 'reject' ? '理由会告知申请人。' : '撤回后这件办件不再办理。'),
        reasonBox(action === 'reject' ? '不予受理的理由' : '撤回的理由', true)],
      okText: `确定${spec.label}`,
      onOk: () => (reasonValue() ? send({ reason: reasonValue() }) : Promise.reject(new Error('请填写理由。'))),
    }),
    supplement: () => ({
      content: [hint('补正只能告知一次：请把缺少或不合格的材料一次勾选齐全。'),
        h('fieldset', h('legend', '需要补正的材料'), h('div.checks',
          (c.materials_required || []).map((m) => checkbox('dialog-material', m, (c.missing || []).includes(m))))),
        reasonBox('补正说明', false)],
      okText: '告知补正',
      onOk: () => {
        const missing = checkedValues($('#dialog'), 'dialog-material');
        if (!missing.length) throw new Error('请至少勾选一项需要补正的材料。');
        return send({ missing, reason: reasonValue() });
      },
    }),
    decide: () => ({
      content: [h('fieldset', h('legend', '办理决定'), h('div.checks',
        [['decide-approve', 'yes', '准予（批准）'], ['decide-deny', 'no', '不予批准']].map(([id, value, label]) =>
          h('label.check', h(`input#${id}`, { type: 'radio', name: 'approved', value }), h('span', label))))),
      reasonBox('决定理由', false)],
      okText: '确定',
      onOk: () => {
        const chosen = $('input[name="approved"]:checked');
        if (!chosen) throw new Error('请选择准予或不予批准。');
        return send({ approved: chosen.value === 'yes', reason: reasonValue() });
      },
    }),
    evaluate: () => ({
      content: [hint('请按申请人本人的意见选择。'), h('div.field', h('label', { for: 'evaluation' }, '申请人评价'),
        h('select#evaluation', h('option', { value: '' }, '— 请选择 —'), EVALUATIONS.map(([v, label]) => h('option', { value: v }, label))))],
      okText: '提交评价',
      onOk: () => {
        const v = Number($('#evaluation').value);
        if (!v) throw new Error('请选择评价。');
        return send({ evaluation: v });
      },
    }),
  };
  openDialog({ title: spec.label, cls: spec.cls, ...dialogs[spec.dialog]() });
}

// ---- Sync status page (polls every 2 s while shown) ----

function viewStatus(r, token) {
  const box = h('div#status-box', loading());
  setView(h('h1', '同步状态'), box);
  let seq = 0;  // only the newest request schedules the next one
  const tick = async () => {
    clearTimeout(pollTimer);
    const mine = ++seq;
    try {
      const s = await api('GET', '/api/status');
      if (!stale(token) && mine === seq) renderStatus(box, s);
    } catch (e) {
      if (!stale(token)) showError($('#status-error', box) || box.appendChild(h('p#status-error.form-error')), e);
    }
    if (!stale(token) && mine === seq) pollTimer = setTimeout(tick, 2000);
  };
  statusRefresh = tick;
  tick();
}

function renderStatus(box, s) {
  const stat = (id, n, cls, label, note) => h('div.stat', { class: n > 0 && cls },
    h(`span#${id}.stat-num`, String(n)), h('span', label), hint(note));
  const pending = Number(s.pending) || 0;
  const quarantined = Number(s.quarantined) || 0;
  clear(box).append(
    h('div.stats',
      stat('status-pending', pending, 'stat-warn', '条记录待上传', pending ? '这些记录还没有送到上级。' : '全部已送到上级。'),
      stat('status-quarantined', quarantined, 'stat-bad', '条记录被隔离', quarantined ? '被上级拒收，请联系管理员。' : '没有被拒收的记录。')),
    syncProgress(s.sync || {}),
    linksTable(s.links || []),
    h('p.muted.small', `本节点 ${s.node_id || ''}（${tierText(s.tier)}）· 每 2 秒自动刷新`));
}

function syncProgress(sync) {
  if (!sync.running) {
    return h('section#sync-idle.section', h('h2', '当前没有在同步'),
      sync.last_report && h('p#last-report', `上次同步：${reportText(sync.last_report)}`));
  }
  const done = Number(sync.done) || 0;
  const total = Number(sync.total) || 0;
  const bar = h('progress#sync-progress', { max: Math.max(total, 1) });
  if (total > 0) bar.value = Math.min(done, total);  // without a value the bar is indeterminate
  const parts = [total > 0 ? `已完成 ${done} / ${total} 条（${Math.floor((Math.min(done, total) / total) * 100)}%）` : `已完成 ${done} 条`];
  if (sync.rate) parts.push(`速度 ${Number(sync.rate).toFixed(1)} 条/秒`);
  if (sync.eta_s != null && total > 0) parts.push(`预计还需 ${fmtDuration(sync.eta_s)}`);
  return h('section#sync-running.section', h('h2', '正在同步…'), bar, h('p#sync-progress-text', parts.join(' · ')));
}

/** The last sync report in words (the replicator's counters, or a string). */
function reportText(rep) {
  if (typeof rep !== 'object') return String(rep);
  const parts = [fmtTime(rep.time ?? rep.at ?? rep.finished)];
  if (rep.pushed != null) parts.push(`上传 ${rep.pushed} 条`);
  if (rep.pulled != null) parts.push(`下载 ${rep.pulled} 条`);
  if (rep.refused) parts.push(`被拒收 ${rep.refused} 条`);
  if (rep.complete != null) parts.push(rep.complete ? '已全部同步' : '尚未同步完');
  if (rep.error) parts.push(plainSyncError(rep.error));
  return parts.filter(Boolean).join('，') || JSON.stringify(rep);
}

/** "unavailable: connect failed" → plain Chinese words. */
const plainSyncError = (raw) => SYNC_ERRORS[String(raw).split(':')[0].trim()] || '同步出错，请看技术细节或联系管理员。';

function linksTable(links) {
  if (!links.length) return h('p.muted', '本节点没有配置上级或下级连接。');
  const heads = ['对方节点', '最近一次成功', '最近联系', '状况'];
  return h('section.section', h('h2', '连接'), h('table.links',
    h('thead', h('tr', heads.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', links.map((l) => h('tr.link-row', { 'data-peer': l.peer || '' }, [
      h('span.mono', l.peer),
      fmtTime(l.last_ok) || '从未成功',
      fmtTime(l.last_seen) || '—',
      l.last_error
        ? [h('span.bad-text', plainSyncError(l.last_error)), h('br'), h('small.muted', `技术细节：${l.last_error}`)]
        : h('span.good-text', '正常'),
    ].map((v, i) => h('td', { 'data-label': heads[i] }, v)))))));
}

// ---- Start ----

$('#sync-now').addEventListener('click', syncNow);
$('#logout').addEventListener('click', logout);
window.addEventListener('hashchange', route);
route();
