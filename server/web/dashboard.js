/*
 * Daiban city hub: the supervisor dashboard (政务服务监察看板). Plain ES2020, no framework, no
 * build step, no outside resources; charts are SVG drawn here. Talks only to the hub's JSON API
 * (docs/API.md, "The city hub"), signed in by the session cookie.
 *
 * State lives in the hash: #region=<12 digits>&from=YYYY-MM-DD&to=YYYY-MM-DD[&department=…]
 * (missing parts: the user's city, 1 January of this year to today, all departments).
 * Drilling down pushes a history entry, so Back goes up again.
 *
 * Safety: server text reaches the page only as text nodes or attribute values (h(), svg());
 * nothing here assigns innerHTML. No inline scripts or styles (CSP default-src 'self').
 *
 * Stable selectors for browser tests:
 *   Login     #login-view #login-form #login-user #login-password #login-submit #login-error
 *   Header    #app-header #city-name #user-info #logout
 *   Controls  #controls #from #to button.quick-range[data-range="month|quarter|year"]
 *             #filter-department #refresh #print
 *   Page      #dashboard[data-state="loading|ready|error"] #breadcrumb a[data-region] (ancestors)
 *             #breadcrumb [aria-current="page"] #error-line #region-title #scope #updated
 *   Figures   #headline .tile[data-metric] .tile-value
 *   Charts    #trend svg  #children-chart svg g.cbar[data-region]  #evaluations g.eval-row[data-eval]
 *   Tables    #children-table tr.region-row[data-region] tr.total-row
 *             #warnings tr.warning-row[data-case] .badge[data-warning="red|yellow"]
 *             #nodes tr.node-row[data-node] .freshness[data-freshness="green|yellow|red"]
 *             a.csv-link[data-csv="trend|children|warnings|nodes"]
 */
'use strict';

// ---- Words shown to people ----

const LEVEL = { city: '市', county: '县（区）', township: '乡镇（街道）', village: '村（社区）' };
const CHILD_LEVEL = { city: '县（区）', county: '乡镇（街道）', township: '村（社区）' };
const TIER = { village: '村', township: '乡镇', county: '县', city: '市' };
const ROLE = { supervisor: '监察人员', admin: '管理员' };
const FRESH = { green: '正常', yellow: '滞后', red: '失联' };
const WARN = { red: '超期', yellow: '临期' };
const EVALS = [[5, '非常满意'], [4, '满意'], [3, '基本满意'], [2, '不满意'], [1, '非常不满意']];
const WARNING_LIMIT = 100;

const n0 = (v) => (v == null || v === '' || !Number.isFinite(Number(v)) ? '—' : Number(v).toLocaleString('zh-CN'));
const pct = (v) => (v == null || !Number.isFinite(Number(v)) ? '—' : `${(Number(v) * 100).toFixed(1)}%`);
const dec1 = (v) => (v == null || !Number.isFinite(Number(v)) ? '—' : Number(v).toFixed(1));

// Headline tiles: [metric, label, format, note(stats) or ''].
const HEADLINE = [
  ['received', '收件', n0, () => '提交的办件'],
  ['accepted', '受理', n0, () => ''],
  ['completed', '办结', n0, () => ''],
  ['on_time_rate', '按期办结率', pct, (s) => `按期 ${n0(s.completed_on_time)} / 办结 ${n0(s.completed)}`],
  ['overdue_now', '当前超期', n0, () => '未办结且已过期限'],
  ['on_the_spot_share', '即办件比例', pct, (s) => `即办 ${n0(s.on_the_spot)} / 收件 ${n0(s.received)}`],
  ['avg_days_to_complete', '平均办结工作日', dec1, () => '个工作日'],
  ['satisfaction_rate', '满意率', pct, (s) => `满意 ${n0(s.satisfied)} / 评价 ${n0(s.evaluated)}`],
  ['supplement_requested', '补正', n0, () => '一次性告知补正'],
  ['rejected', '不予受理', n0, () => ''],
  ['proxy', '代办件', n0, () => '村代办员代为提交'],
];

// Drill-down table columns: [metric, header, format].
const COLUMNS = [
  ['received', '收件', n0], ['accepted', '受理', n0], ['completed', '办结', n0],
  ['on_time_rate', '按期办结率', pct], ['overdue_now', '当前超期', n0], ['on_the_spot_share', '即办件比例', pct],
  ['avg_days_to_complete', '平均办结工作日', dec1], ['satisfaction_rate', '满意率', pct], ['proxy', '代办件', n0],
];

// ---- DOM helpers: every element is made by h() or svg() ----

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const SVG_NS = 'http://www.w3.org/2000/svg';

function setProps(el, props) {
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.setAttribute('class', `${el.getAttribute('class') || ''} ${v}`.trim());
    else if (k.startsWith('on')) { if (typeof v === 'function') el.addEventListener(k.slice(2), v); }
    else if (k === 'value' || (v === true && k in el)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function add(el, kids) {
  for (const c of kids) {
    if (Array.isArray(c)) add(el, c);
    else if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** h('tag.class#id', props?, ...children): props "class", "on<event>" (functions only), attributes. */
function h(spec, props, ...kids) {
  const [tag, ...parts] = spec.split(/(?=[.#])/);
  const el = document.createElement(tag);
  for (const p of parts) {
    if (p[0] === '#') el.id = p.slice(1);
    else el.classList.add(p.slice(1));
  }
  if (props && props.constructor === Object) setProps(el, props);
  else kids.unshift(props);
  return add(el, kids);
}

/** svg('tag', attrs, ...children): an SVG element; text children become text nodes. */
function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) setProps(el, attrs);
  return add(el, kids);
}

const clear = (el) => { el.replaceChildren(); return el; };
const show = (el, on) => { el.hidden = !on; return el; };
const empty = (text) => h('p.empty', text);

// ---- Dates ----

const pad = (n) => String(n).padStart(2, '0');
const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const isDate = (s) => typeof s === 'string' && /^\d{4}-\d\d-\d\d$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
const today = () => ymd(new Date());

function rangeFor(kind) {
  const d = new Date();
  const start = kind === 'month' ? new Date(d.getFullYear(), d.getMonth(), 1)
    : kind === 'quarter' ? new Date(d.getFullYear(), Math.floor(d.getMonth() / 3) * 3, 1)
      : new Date(d.getFullYear(), 0, 1);
  return { from: ymd(start), to: ymd(d) };
}

/** Every date from `from` to `to` inclusive (UTC arithmetic, at most `cap`). */
function datesBetween(from, to, cap = 2000) {
  const out = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && out.length < cap; t += 86400000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** A time as local "YYYY-MM-DD HH:MM" ('' for none): Unix ms or s, hybrid clock (ms << 16), ISO text. */
function fmtTime(t) {
  if (t == null || t === '' || t === 0 || t === '0') return '';
  let ms;
  if (typeof t === 'string' && !/^\d+$/.test(t)) {
    ms = Date.parse(t);
    if (Number.isNaN(ms)) return t;
  } else {
    ms = Number(t);
    if (ms > 1e14) ms = Number(BigInt(typeof t === 'number' ? Math.round(t) : t) >> 16n);
    else if (ms < 1e11) ms *= 1000;  // seconds
  }
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(t);
  const ago = Math.round((Date.now() - ms) / 60000);
  let rel = '';
  if (ago >= 0 && ago < 1) rel = '刚刚';
  else if (ago >= 1 && ago < 60) rel = `${ago} 分钟前`;
  else if (ago >= 60 && ago < 48 * 60) rel = `${Math.floor(ago / 60)} 小时前`;
  else if (ago >= 48 * 60) rel = `${Math.floor(ago / 1440)} 天前`;
  const text = `${ymd(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return rel ? `${text}（${rel}）` : text;
}

// ---- Regions: 12-digit codes, city 4 + county 2 + township 3 + village 3 digits ----

const PREFIX_LEN = { city: 4, county: 6, township: 9, village: 12 };

function levelOf(code) {
  if (!/^\d{12}$/.test(code || '')) return '';
  if (code.slice(4) === '00000000') return 'city';
  if (code.slice(6) === '000000') return 'county';
  if (code.slice(9) === '000') return 'township';
  return 'village';
}
const prefixOf = (code) => code.slice(0, PREFIX_LEN[levelOf(code)] || 12);
const within = (code, root) => levelOf(code) !== '' && code.startsWith(prefixOf(root));

/** The regions from `root` down to the parent of `code` (root first). */
function ancestorsOf(code, root) {
  const out = [];
  const rootLen = PREFIX_LEN[levelOf(root)] || 4;
  const ownLen = PREFIX_LEN[levelOf(code)] || 12;
  for (const len of [4, 6, 9]) {
    if (len >= rootLen && len < ownLen) out.push(code.slice(0, len).padEnd(12, '0'));
  }
  return out;
}

// ---- API client ----

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    Object.assign(this, { status, code, handled: false });  // handled: already reacted (401)
  }
}

const DEFAULT_ERROR = {
  400: '请求的条件有误。', 403: '没有权限查看。', 404: '找不到要找的内容。', 500: '系统内部错误。', 503: '服务暂时不可用，请稍后再试。',
};

/** Calls the JSON API; resolves to the parsed body, rejects with ApiError. A 401 shows the login form. */
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
    throw new ApiError(0, 'unavailable', '连不上市级中心服务，请检查网络或服务是否在运行。');
  }
  let data = null;
  try { data = JSON.parse(await res.text()); } catch { /* empty or not JSON */ }
  if (res.ok) return data || {};
  const err = (data && data.error) || {};
  const e = new ApiError(res.status, err.code, err.message || DEFAULT_ERROR[res.status] || `请求失败（${res.status}）。`);
  if (res.status === 401 && path !== '/api/login') {
    e.handled = true;
    showLogin();
  }
  throw e;
}

const errorText = (e) => (e instanceof ApiError ? e.message : String((e && e.message) || e));

/** path?query with empty values left out. */
function url(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
/** The list in an answer: body[key] (as documented), or the body itself if it is an array. */
const listOf = (body, key) => (Array.isArray(body) ? body : body && Array.isArray(body[key]) ? body[key] : []);
const csvUrl = (u) => `${u}${u.includes('?') ? '&' : '?'}format=csv`;

// ---- State ----

let me = null;               // GET /api/me
let state = null;            // {region, from, to, department} of the page shown
let loadToken = 0;           // bumped on every load; late answers of older loads are dropped
let last = null;             // the data shown, for redrawing charts on resize
const names = new Map();     // region code → name, learnt from answers
const departments = new Set(); // department names seen in warnings (for the filter)

function readState() {
  const p = new URLSearchParams(location.hash.replace(/^#\/?/, ''));
  const def = rangeFor('year');
  let region = p.get('region') || '';
  if (!within(region, me.region)) region = me.region;
  let from = p.get('from');
  let to = p.get('to');
  if (!isDate(from) || !isDate(to)) ({ from, to } = def);
  return { region, from, to, department: p.get('department') || '' };
}

function toHash(s) {
  const p = new URLSearchParams();
  p.set('region', s.region);
  p.set('from', s.from);
  p.set('to', s.to);
  if (s.department) p.set('department', s.department);
  return `#${p.toString()}`;
}

/** Shows the page for `next` (merged into the current state); push = a new history entry. */
function navigate(next, push) {
  const s = { ...state, ...next };
  const hash = toHash(s);
  if (location.hash !== hash) history[push ? 'pushState' : 'replaceState'](null, '', hash);
  load();
}

// ---- Views: boot, login, dashboard ----

function showOnly(id) {
  for (const v of ['boot', 'login-view', 'dashboard']) show($(`#${v}`), v === id);
  show($('#app-header'), id === 'dashboard');
}

function showLogin() {
  me = null;
  loadToken++;
  showOnly('login-view');
  show($('#login-error'), false);
  $('#login-password').value = '';
  $('#login-user').focus();
}

async function boot() {
  showOnly('boot');
  $('#boot-text').textContent = '正在加载…';
  show($('#boot-retry'), false);
  try {
    me = await api('GET', '/api/me');
  } catch (e) {
    if (e.handled) return;
    $('#boot-text').textContent = `无法打开看板：${errorText(e)}`;
    show($('#boot-retry'), true);
    return;
  }
  enter();
}

function enter() {
  if (me.region && me.region_name) names.set(me.region, me.region_name);
  $('#city-name').textContent = me.region_name || me.region || '';
  $('#user-info').textContent = `${me.user || ''} · ${ROLE[me.role] || me.role || ''}`;
  document.title = `${me.region_name || ''} · 政务服务监察看板`;
  showOnly('dashboard');
  load();
}

async function login(ev) {
  ev.preventDefault();
  const user = $('#login-user');
  const password = $('#login-password');
  const error = $('#login-error');
  const submit = $('#login-submit');
  show(error, false);
  if (!user.value.trim() || !password.value) {
    error.textContent = '请输入用户名和密码。';
    show(error, true);
    return;
  }
  submit.disabled = true;
  try {
    await api('POST', '/api/login', { user: user.value.trim(), password: password.value });
    me = await api('GET', '/api/me');
    password.value = '';
    enter();
  } catch (e) {
    if (!e.handled) {
      error.textContent = e.status === 401 ? '用户名或密码不正确。' : errorText(e);
      show(error, true);
      password.select();
    }
  }
  submit.disabled = false;
}

async function logout() {
  try { await api('POST', '/api/logout', {}); } catch { /* signed out either way */ }
  names.clear();
  departments.clear();
  last = null;
  showLogin();
}

// ---- Loading the dashboard ----

function syncControls(s) {
  $('#from').value = s.from;
  $('#to').value = s.to;
  for (const b of $$('.quick-range')) {
    const r = rangeFor(b.dataset.range);
    b.setAttribute('aria-pressed', String(r.from === s.from && r.to === s.to));
  }
  if (s.department) departments.add(s.department);
  fillDepartments(s.department);
}

function fillDepartments(selected) {
  const sel = $('#filter-department');
  const list = Array.from(departments).sort((a, b) => a.localeCompare(b, 'zh-CN'));
  clear(sel).append(h('option', { value: '' }, '全部部门'), ...list.map((d) => h('option', { value: d }, d)));
  sel.value = selected || '';
}

function regionName(code) {
  return names.get(code) || code;
}

function renderBreadcrumb(s) {
  const nav = clear($('#breadcrumb'));
  const list = h('ol');
  for (const code of ancestorsOf(s.region, me.region)) {
    list.append(h('li', h('a', {
      href: toHash({ ...s, region: code }), 'data-region': code,
      onclick: (ev) => { ev.preventDefault(); navigate({ region: code }, true); },
    }, regionName(code))));
  }
  list.append(h('li', h('span', { 'aria-current': 'page', 'data-current': s.region }, regionName(s.region))));
  nav.append(h('span.crumb-label', '当前位置：'), list);
}

async function load() {
  if (!me) return;
  const token = ++loadToken;
  const s = readState();
  state = s;
  const level = levelOf(s.region);
  syncControls(s);
  renderBreadcrumb(s);
  const dash = $('#dashboard');
  const errLine = $('#error-line');
  show(errLine, false);
  if (s.from > s.to) {
    errLine.textContent = '开始日期不能晚于结束日期，请重新选择。';
    show(errLine, true);
    dash.dataset.state = 'error';
    return;
  }
  dash.dataset.state = 'loading';
  dash.setAttribute('aria-busy', 'true');

  // A village has totals only: its figures are not split by department (the API refuses).
  const dept = level === 'village' ? '' : s.department;
  const base = { region: s.region, from: s.from, to: s.to };
  const urls = {
    stats: url('/api/stats', { ...base, department: dept }),
    children: url('/api/stats/children', { ...base, department: dept }),
    trend: url('/api/stats/trend', base),
    warnings: url('/api/warnings', { region: s.region, department: s.department, limit: WARNING_LIMIT }),
    nodes: '/api/nodes',
  };
  setCsvLinks(s, urls);

  const missing = ancestorsOf(s.region, me.region).filter((c) => !names.has(c));
  const calls = [
    api('GET', urls.stats), level === 'village' ? Promise.resolve({ rows: [] }) : api('GET', urls.children),
    api('GET', urls.trend), api('GET', urls.warnings), api('GET', urls.nodes),
    ...missing.map((c) => api('GET', url('/api/stats', { region: c, from: s.from, to: s.to }))),
  ];
  const got = await Promise.allSettled(calls);
  if (token !== loadToken) return;
  if (got.some((g) => g.status === 'rejected' && g.reason && g.reason.handled)) return;  // signed out
  const val = (i) => (got[i].status === 'fulfilled' ? got[i].value : null);
  const err = (i) => (got[i].status === 'rejected' ? got[i].reason : null);

  const stats = val(0);
  const rows = listOf(val(1), 'rows');
  for (const r of [stats, ...rows, ...missing.map((_, i) => val(5 + i))]) {
    if (r && r.region && r.name) names.set(r.region, r.name);
  }
  const warnings = err(3) ? null : listOf(val(3), 'cases');
  if (warnings && !s.department) {
    const before = departments.size;
    for (const c of warnings) if (c.department) departments.add(c.department);
    if (departments.size !== before) fillDepartments(s.department);
  }

  last = { s, level, stats, statsErr: err(0), rows, rowsErr: err(1), trend: val(2), trendErr: err(2) };
  renderBreadcrumb(s);
  renderTitle(s, level, stats);
  renderHeadline($('#headline'), stats, err(0));
  renderCharts();
  renderChildrenTable($('#children-table'), s, level, stats, rows, err(1));
  renderWarnings($('#warnings-body'), s, warnings, err(3));
  renderNodes($('#nodes-body'), s, val(4), err(4));

  const firstErr = err(0);
  if (firstErr) {
    errLine.textContent = `统计数据没有取到：${errorText(firstErr)}`;
    show(errLine, true);
  }
  dash.removeAttribute('aria-busy');
  dash.dataset.state = firstErr ? 'error' : 'ready';
}

function setCsvLinks(s, urls) {
  const tag = `${regionName(s.region)}_${s.from}_${s.to}`;
  const links = {
    trend: [urls.trend, `每日趋势_${tag}.csv`],
    children: [urls.children, `下级地区_${tag}.csv`],
    warnings: [urls.warnings, `预警办件_${regionName(s.region)}.csv`],
    nodes: [urls.nodes, '节点同步状况.csv'],
  };
  for (const a of $$('a.csv-link')) {
    const [u, file] = links[a.dataset.csv] || [];
    if (!u) continue;
    a.href = csvUrl(u);
    a.setAttribute('download', file);
  }
  show($('#children .csv-link'), levelOf(s.region) !== 'village');
}

function renderTitle(s, level, stats) {
  const name = (stats && stats.name) || regionName(s.region);
  $('#region-title').textContent = `${name} · 总体情况`;
  const parts = [`${LEVEL[level] || ''}级`, `${s.from} 至 ${s.to}`];
  if (s.department) parts.push(level === 'village' ? `${s.department}（村级不分部门，以下为本村全部事项）` : s.department);
  else parts.push('全部部门');
  const now = new Date();
  add(clear($('#scope')), [parts.join(' · '), ' · ',
    h('span#updated', `数据更新于 ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`)]);
  const note = $('#trend-note');
  note.textContent = s.department ? '趋势图为本地区全部事项，不按部门筛选。' : '';
  show(note, !!s.department);
  $('#children-heading').textContent = level === 'village' ? '本村明细' : `下级${CHILD_LEVEL[level] || '地区'}明细`;
  $('#children-chart-heading').textContent = `下级${CHILD_LEVEL[level] || '地区'}按期办结率`;
  // Per-department figures stop at townships: a township's villages come back as totals.
  const mixed = level === 'township' && !!s.department;
  $('#children-hint').textContent = `点击一行查看该地区的${level === 'township' ? '本村数字' : '下级'}。${
    mixed ? `村级不分部门：各村为全部事项，合计行为本乡镇“${s.department}”的数字。` : ''}`;
  show($('#children-hint'), level !== 'village');
  show($('#children-chart-card'), level !== 'village');
  $('#chart-row').classList.toggle('single', level === 'village');
}

function sectionError(el, e) {
  clear(el).append(h('p.form-error', { role: 'alert' }, `没有取到数据：${errorText(e)}`));
}

// ---- Headline tiles ----

function renderHeadline(el, s, e) {
  if (!s) { sectionError(el, e || '没有数据'); return; }
  clear(el);
  for (const [metric, label, fmt, note] of HEADLINE) {
    const v = s[metric];
    const bad = metric === 'overdue_now' && Number(v) > 0;
    el.append(h('div.tile', { 'data-metric': metric, class: bad && 'tile-bad' },
      h('span.tile-label', label),
      h('span.tile-value', fmt(v)),
      h('span.tile-note', note(s) || '\u00a0')));
  }
}

// ---- Charts ----

function renderCharts() {
  if (!last) return;
  const { s, level, stats, rows } = last;
  if (last.trendErr) sectionError($('#trend'), last.trendErr);
  else drawTrend($('#trend'), listOf(last.trend, 'days'), s, stats);
  if (last.rowsErr) sectionError($('#children-chart'), last.rowsErr);
  else drawChildrenChart($('#children-chart'), rows, level, stats);
  if (stats) drawEvaluations($('#evaluations'), stats);
  else sectionError($('#evaluations'), last.statsErr || '没有数据');
}

/** A round number ≥ v with its tick step, for axes. */
function niceScale(v, maxTicks = 5) {
  const max = Math.max(1, v);
  const raw = max / maxTicks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw) || mag * 10);
  return { max: Math.ceil(max / step) * step, step };
}

function chartWidth(box, most = 4000) {
  return Math.min(most, Math.max(280, Math.floor(box.clientWidth || 600)));
}

let chartSeq = 0;

function drawTrend(box, days, s, stats) {
  clear(box);
  const byDay = new Map(days.map((d) => [d.day, d]));
  const series = datesBetween(s.from, s.to).map((day) => {
    const d = byDay.get(day) || {};
    return { day, r: Number(d.received) || 0, c: Number(d.completed) || 0 };
  });
  const totalR = series.reduce((a, x) => a + x.r, 0);
  const totalC = series.reduce((a, x) => a + x.c, 0);
  if (!series.length || (totalR === 0 && totalC === 0)) {
    box.append(empty('所选期间没有收件或办结记录。'));
    return;
  }
  const W = chartWidth(box);
  const H = W < 560 ? 210 : 260;
  const m = { l: 44, r: 12, t: 14, b: 30 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const { max, step } = niceScale(Math.max(...series.map((x) => Math.max(x.r, x.c))));
  const n = series.length;
  const slot = pw / n;
  const bw = Math.max(1, Math.min(24, slot * 0.72));
  const x = (i) => m.l + slot * i + slot / 2;
  const y = (v) => m.t + ph - (v / max) * ph;
  const id = `trend-${++chartSeq}`;
  const peak = series.reduce((a, x) => (x.r > a.r ? x : a), series[0]);
  const name = (stats && stats.name) || regionName(s.region);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'trend-svg',
  },
  svg('title', { id: `${id}-t` }, `${name}每日收件与办结（${s.from} 至 ${s.to}）`),
  svg('desc', { id: `${id}-d` },
    `期间共收件 ${totalR} 件、办结 ${totalC} 件；收件最多的一天是 ${peak.day}，${peak.r} 件。柱为收件，折线为办结。`));

  const axis = svg('g', { class: 'axis' });
  for (let v = 0; v <= max; v += step) {
    axis.append(svg('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: v === 0 ? 'axis-line' : 'grid-line' }),
      svg('text', { x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  const multiYear = s.from.slice(0, 4) !== s.to.slice(0, 4);
  const labels = Math.max(2, Math.min(10, Math.floor(pw / (multiYear ? 96 : 64)), n));
  const shown = new Set();
  for (let k = 0; k < labels; k++) {
    const i = labels === 1 ? 0 : Math.round((k * (n - 1)) / (labels - 1));
    if (shown.has(i)) continue;
    shown.add(i);
    const anchor = n > 1 && i === 0 ? 'start' : n > 1 && i === n - 1 ? 'end' : 'middle';
    const tx = anchor === 'start' ? m.l : anchor === 'end' ? W - m.r : x(i);
    axis.append(svg('line', { x1: x(i), x2: x(i), y1: m.t + ph, y2: m.t + ph + 4, class: 'axis-line' }),
      svg('text', { x: tx, y: H - 10, 'text-anchor': anchor }, multiYear ? series[i].day : series[i].day.slice(5)));
  }
  root.append(axis);

  const bars = svg('g', { class: 'bars' });
  series.forEach((d, i) => {
    if (d.r > 0) bars.append(svg('rect', { x: x(i) - bw / 2, y: y(d.r), width: bw, height: m.t + ph - y(d.r), class: 'bar-received' }));
  });
  root.append(bars);
  root.append(svg('polyline', {
    points: series.map((d, i) => `${x(i).toFixed(1)},${y(d.c).toFixed(1)}`).join(' '), class: 'line-completed',
  }));
  if (n <= 62) {
    const dots = svg('g', { class: 'dots' });
    series.forEach((d, i) => { if (d.c > 0) dots.append(svg('circle', { cx: x(i), cy: y(d.c), r: 2.6, class: 'dot-completed' })); });
    root.append(dots);
  }
  // Hover targets: one transparent column per day with its numbers as a tooltip.
  const hits = svg('g', { class: 'hits' });
  series.forEach((d, i) => {
    hits.append(svg('rect', { x: m.l + slot * i, y: m.t, width: Math.max(slot, 0.5), height: ph, class: 'hit' },
      svg('title', null, `${d.day}  收件 ${d.r}，办结 ${d.c}`)));
  });
  root.append(hits);
  box.append(root);
}

/** Short enough for a label column: longer names end in "…" (the full name is the tooltip). */
const shorten = (t, max) => (t.length > max ? `${t.slice(0, max - 1)}…` : t);

function drawChildrenChart(box, rows, level, stats) {
  clear(box);
  if (level === 'village') {
    box.append(empty('村（社区）没有下级地区；本村的数字见上方总体情况。'));
    return;
  }
  if (!rows.length) {
    box.append(empty('没有下级地区。'));
    return;
  }
  const sorted = rows.slice().sort((a, b) => (b.on_time_rate ?? -1) - (a.on_time_rate ?? -1));
  const W = chartWidth(box);
  const labelW = Math.min(140, Math.round(W * 0.34));
  const valueW = 56;
  const barX = labelW + 8;
  const barW = Math.max(60, W - barX - valueW);
  const rowH = 26;
  const top = 22;
  const H = top + sorted.length * rowH + 6;
  const id = `children-${++chartSeq}`;
  const withRate = sorted.filter((r) => r.on_time_rate != null);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'bar-svg',
  },
  svg('title', { id: `${id}-t` }, `下级${CHILD_LEVEL[level] || '地区'}按期办结率`),
  svg('desc', { id: `${id}-d` }, withRate.length
    ? `由高到低：${withRate.map((r) => `${r.name || r.region} ${pct(r.on_time_rate)}`).join('，')}。没有办结件的地区不画柱。`
    : '所选期间各下级地区都没有办结件。'));
  const axis = svg('g', { class: 'axis' });
  for (const v of [0, 0.5, 1]) {
    const ax = barX + v * barW;
    axis.append(svg('line', { x1: ax, x2: ax, y1: top - 4, y2: H - 6, class: v === 0 ? 'axis-line' : 'grid-line' }),
      svg('text', { x: ax, y: top - 8, 'text-anchor': v === 0 ? 'start' : v === 1 ? 'end' : 'middle' }, `${v * 100}%`));
  }
  root.append(axis);
  sorted.forEach((r, i) => {
    const name = r.name || r.region || '';
    const y0 = top + i * rowH;
    const rate = r.on_time_rate == null ? null : Math.max(0, Math.min(1, Number(r.on_time_rate)));
    const g = svg('g', {
      class: 'cbar', 'data-region': r.region || '', tabindex: 0, role: 'link',
      'aria-label': `${name}，按期办结率 ${pct(r.on_time_rate)}，查看下级`,
    },
    svg('title', null, `${name}：按期办结率 ${pct(r.on_time_rate)}（按期 ${n0(r.completed_on_time)} / 办结 ${n0(r.completed)}）`),
    svg('text', { x: labelW, y: y0 + rowH / 2 + 4, 'text-anchor': 'end', class: 'cbar-label' }, shorten(name, Math.max(4, Math.floor(labelW / 14)))),
    svg('rect', { x: barX, y: y0 + 5, width: barW, height: rowH - 10, class: 'track' }),
    rate == null ? null : svg('rect', { x: barX, y: y0 + 5, width: Math.max(rate > 0 ? 1 : 0, rate * barW), height: rowH - 10, class: 'bar-rate' }),
    svg('text', { x: W - 2, y: y0 + rowH / 2 + 4, 'text-anchor': 'end', class: rate == null ? 'cbar-value muted-fill' : 'cbar-value' }, pct(r.on_time_rate)));
    const go = () => { if (r.region) navigate({ region: r.region }, true); };
    g.addEventListener('click', go);
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); go(); } });
    root.append(g);
  });
  // The region's own rate as a dashed reference line.
  if (stats && stats.on_time_rate != null) {
    const ax = barX + Math.max(0, Math.min(1, Number(stats.on_time_rate))) * barW;
    root.append(svg('line', { x1: ax, x2: ax, y1: top - 2, y2: H - 6, class: 'ref-line' },
      svg('title', null, `${stats.name || '本级'}整体 ${pct(stats.on_time_rate)}`)));
  }
  box.append(root);
  if (stats && stats.on_time_rate != null) {
    const what = stats.department ? `“${stats.department}”` : '整体';
    const note = stats.department && level === 'township' ? '各村的柱为全部事项（村级不分部门）。' : '';
    box.append(h('p.hint', `虚线为${stats.name || '本级'}${what}按期办结率 ${pct(stats.on_time_rate)}。${note}`));
  }
}

function drawEvaluations(box, s) {
  clear(box);
  const counts = EVALS.map(([k, label]) => ({ k, label, n: Number(s[`eval_${k}`]) || 0 }));
  const total = Number(s.evaluated) || counts.reduce((a, c) => a + c.n, 0);
  const most = Math.max(1, ...counts.map((c) => c.n));
  const W = chartWidth(box, 760);
  const labelW = 84;
  const valueW = 134;
  const barX = labelW + 8;
  const barW = Math.max(60, W - barX - valueW);
  const rowH = 30;
  const H = counts.length * rowH + 4;
  const id = `eval-${++chartSeq}`;
  const share = (c) => (total > 0 ? `${((c.n / total) * 100).toFixed(1)}%` : '—');
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'bar-svg',
  },
  svg('title', { id: `${id}-t` }, '满意度评价分布'),
  svg('desc', { id: `${id}-d` }, `共 ${total} 条评价：${counts.map((c) => `${c.label} ${c.n} 条`).join('，')}。`));
  counts.forEach((c, i) => {
    const y0 = i * rowH;
    root.append(svg('g', { class: 'eval-row', 'data-eval': c.k },
      svg('text', { x: labelW, y: y0 + rowH / 2 + 5, 'text-anchor': 'end', class: 'cbar-label' }, c.label),
      svg('rect', { x: barX, y: y0 + 6, width: barW, height: rowH - 12, class: 'track' }),
      c.n > 0 ? svg('rect', { x: barX, y: y0 + 6, width: Math.max(2, (c.n / most) * barW), height: rowH - 12, class: `bar-eval eval-${c.k}` }) : null,
      svg('text', { x: W - 2, y: y0 + rowH / 2 + 5, 'text-anchor': 'end', class: 'cbar-value' }, `${n0(c.n)} 条 · ${share(c)}`)));
  });
  box.append(root);
  box.append(h('p.hint', total > 0
    ? `共 ${n0(total)} 条评价，满意率 ${pct(s.satisfaction_rate)}（基本满意及以上）。`
    : '所选期间没有评价。'));
}

// ---- Tables (cards on narrow screens: each cell carries its header as data-label) ----

function table(heads, rows, foot) {
  return [
    h('thead', h('tr', heads.map((t, i) => h('th', { scope: 'col', class: i > 0 && t.num && 'num' }, t.text || t)))),
    h('tbody', rows),
    foot ? h('tfoot', foot) : null,
  ];
}

function cells(heads, values) {
  return values.map((v, i) => h('td', { 'data-label': heads[i].text || heads[i], class: heads[i].num && 'num' }, v));
}

/** The figure cells of a row (COLUMNS); the first cell, the region's name, is the caller's. */
function figureCells(heads, r) {
  return cells(heads, [null, ...COLUMNS.map(([metric, , fmt]) => {
    const text = fmt(r[metric]);
    if (metric === 'overdue_now' && Number(r[metric]) > 0) return h('span.bad-text', text);
    return text;
  })]).slice(1);
}

function renderChildrenTable(el, s, level, stats, rows, e) {
  clear(el);
  const heads = [{ text: level === 'village' ? '地区' : (CHILD_LEVEL[level] || '地区') },
    ...COLUMNS.map(([, text]) => ({ text, num: true }))];
  if (e) {
    el.append(h('caption.form-error', `没有取到数据：${errorText(e)}`));
    return;
  }
  const body = rows.map((r) => {
    const name = r.name || r.region || '';
    const href = toHash({ ...s, region: r.region });
    const tr = h('tr.region-row', { 'data-region': r.region || '' },
      h('td', { 'data-label': heads[0].text, class: 'name' },
        h('a.drill', { href, onclick: (ev) => ev.preventDefault() }, name)),
      figureCells(heads, r));
    tr.addEventListener('click', () => { if (r.region) navigate({ region: r.region }, true); });
    return tr;
  });
  if (!body.length) {
    body.push(h('tr.empty-row', h('td', { colspan: heads.length, class: 'empty' },
      level === 'village' ? '村（社区）是最小一级，没有下级地区；下面是本村自己的数字。' : '没有下级地区。')));
  }
  const foot = stats
    ? h('tr.total-row', { 'data-region': stats.region || s.region },
      h('th', { scope: 'row', 'data-label': heads[0].text }, level === 'village' ? (stats.name || regionName(s.region)) : `合计（${stats.name || regionName(s.region)}）`),
      figureCells(heads, stats))
    : null;
  add(el, table(heads, body, foot));
}

function renderWarnings(box, s, cases, e) {
  clear(box);
  if (e) { sectionError(box, e); return; }
  const red = cases.filter((c) => c.warning === 'red').length;
  const yellow = cases.filter((c) => c.warning === 'yellow').length;
  box.append(h('p.summary', { id: 'warnings-summary' },
    h('span.badge', { class: red && 'badge-red' }, `超期 ${red} 件`), h('span.badge', { class: yellow && 'badge-yellow' }, `临期 ${yellow} 件`),
    cases.length >= WARNING_LIMIT ? h('span.muted', `只列出最早到期的 ${WARNING_LIMIT} 件，全部请导出 CSV。`) : null,
    s.department ? h('span.muted', `部门：${s.department}`) : null));
  if (!cases.length) { box.append(empty('当前没有临期或超期的办件。')); return; }
  const heads = ['办件编号', '地区', '事项', '部门', '到期日', '预警'];
  box.append(h('div.table-wrap.scroll', h('table.data.warnings-table', table(heads, cases.map((c) => h('tr.warning-row', {
    'data-case': c.case || '', 'data-warning': c.warning || '',
  }, cells(heads, [
    h('span.mono', c.case || ''),
    c.region_name || regionName(c.region || ''),
    c.item_name || c.item || '',
    c.department || '',
    c.due_date || '',
    WARN[c.warning] ? h('span.badge', { class: `badge-${c.warning}`, 'data-warning': c.warning }, WARN[c.warning]) : (c.warning || ''),
  ])))))));
}

function renderNodes(box, s, data, e) {
  clear(box);
  if (e) { sectionError(box, e); return; }
  const all = listOf(data, 'nodes');
  const inScope = levelOf(s.region) === 'city' ? all : all.filter((x) => typeof x.region === 'string' && x.region.startsWith(prefixOf(s.region)));
  // Problems first: out of touch, then lagging, then fine; retired nodes last (stable otherwise).
  const rank = (x) => (x.retired ? 3 : ({ red: 0, yellow: 1, green: 2 }[x.freshness] ?? 0));
  const scoped = inScope.slice().sort((a, b) => rank(a) - rank(b));
  const count = (f) => scoped.filter((x) => x.freshness === f && !x.retired).length;
  box.append(h('p.summary', { id: 'nodes-summary' },
    ['green', 'yellow', 'red'].map((f) => h('span.freshness', { 'data-freshness': f }, h('span.dot', { class: `dot-${f}`, 'aria-hidden': 'true' }), `${FRESH[f]} ${count(f)} 个`)),
    levelOf(s.region) === 'city' ? null : h('span.muted', `只列出${regionName(s.region)}及下级的节点（共 ${all.length} 个）。`)));
  if (!scoped.length) { box.append(empty('没有登记的节点。')); return; }
  const heads = ['节点', '地区', '层级', '软件版本', '最近联系', '待同步', '状态'];
  box.append(h('div.table-wrap.scroll', h('table.data.nodes-table', table(heads, scoped.map((x) => h('tr.node-row', {
    'data-node': x.node_id || '', class: x.retired && 'retired',
  }, cells(heads, [
    h('span.mono', x.node_id || ''),
    x.region_name || regionName(x.region || ''),
    TIER[x.tier] || x.tier || '',
    x.software ? `${x.software}（协议 ${x.protocol ?? '—'}）` : '—',
    fmtTime(x.last_seen) || '从未',
    x.pending == null ? '—' : n0(x.pending),
    [h('span.freshness', { 'data-freshness': x.freshness || '' },
      h('span.dot', { class: `dot-${x.freshness}`, 'aria-hidden': 'true' }), FRESH[x.freshness] || x.freshness || ''),
    x.retired ? h('span.badge.retired-badge', '已停用') : null],
  ])))))));
}

// ---- Start ----

let resizeTimer = 0;
let lastWidth = window.innerWidth;
window.addEventListener('resize', () => {
  if (window.innerWidth === lastWidth) return;
  lastWidth = window.innerWidth;
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(renderCharts, 150);
});
window.addEventListener('popstate', () => { if (me) load(); });

$('#login-form').addEventListener('submit', login);
$('#logout').addEventListener('click', logout);
$('#boot-retry').addEventListener('click', boot);
$('#controls').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const from = $('#from').value;
  const to = $('#to').value;
  if (!isDate(from) || !isDate(to)) {
    $('#error-line').textContent = '请选择完整的开始日期和结束日期。';
    show($('#error-line'), true);
    return;
  }
  navigate({ from, to, department: $('#filter-department').value }, false);
});
for (const id of ['#from', '#to', '#filter-department']) {
  $(id).addEventListener('change', () => $('#controls').requestSubmit());
}
for (const b of $$('.quick-range')) {
  b.addEventListener('click', () => navigate(rangeFor(b.dataset.range), false));
}
$('#print').addEventListener('click', () => window.print());
boot();
