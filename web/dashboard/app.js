// tidemark dashboard: reads the gateway's /api/v1 (JSON + the SSE stream) and shows the devices,
// a uPlot chart per aggregate, the recent final windows and the state panel. Plain JS, no build.
// Times from the API are RFC 3339 UTC strings; everything is shown in UTC.
'use strict';

(() => {
  const API = '/api/v1';
  const POLL_MS = 5000;           // /state and /devices
  const RESYNC_MS = 30000;        // windows again: open windows are stored only at checkpoints,
                                  // so one the stream never updated again shows up this way
  const MAX_WINDOW_PAGES = 10;    // x 1000 windows per pipeline load
  const MAX_DEVICE_PAGES = 10;
  const MAX_SERIES = 10;          // devices drawn at once when "all devices" is selected
  const FINAL_ROWS = 50;
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c',
                  '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];

  const $ = (id) => document.getElementById(id);
  // Device names in natural order: dev2 before dev10.
  const byName = new Intl.Collator('en', { numeric: true }).compare;

  // --- auth: ?token=... is kept for this tab only and taken out of the address bar ------------
  const token = (() => {
    const url = new URL(location.href);
    let t = url.searchParams.get('token');
    try {
      if (t) sessionStorage.setItem('tidemark.token', t);
      else t = sessionStorage.getItem('tidemark.token');
    } catch (_) { /* storage disabled: the URL token still works for this load */ }
    if (url.searchParams.has('token')) {
      url.searchParams.delete('token');
      history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
    return t || '';
  })();

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, params) {
    const url = new URL(API + path, location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
    }
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 15000);
    let res;
    try {
      res = await fetch(url, { headers, signal: ctl.signal, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, e.name === 'AbortError' ? 'request timed out' : 'gateway unreachable');
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) {
      let msg = res.status + ' ' + res.statusText;
      try {
        const p = await res.json();  // application/problem+json
        msg = [p.title, p.detail].filter(Boolean).join(': ') || msg;
      } catch (_) { /* not JSON */ }
      if (res.status === 401) msg += token ? ' (is the token right?)' : ' (open the page with ?token=…)';
      throw new ApiError(res.status, `${path}: ${msg}`);
    }
    return res.json();
  }

  // Follows next_page_token; returns [items, complete].
  async function apiPages(path, params, key, maxPages) {
    const out = [];
    let pageToken;
    for (let i = 0; i < maxPages; i++) {
      const body = await api(path, { ...params, page_token: pageToken });
      out.push(...(body[key] || []));
      pageToken = body.next_page_token;
      if (!pageToken) return [out, true];
    }
    return [out, false];
  }

  // --- formatting -------------------------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, '0');
  function parseTime(s) {
    if (!s) return null;
    const ms = Date.parse(s);
    return Number.isFinite(ms) ? ms : null;
  }
  function fmtTime(s, withDate = true, withMs = true) {
    const ms = typeof s === 'number' ? s : parseTime(s);
    if (ms === null) return '—';
    const d = new Date(ms);
    const secs = d.getUTCSeconds() || d.getUTCMilliseconds()
      ? ':' + pad(d.getUTCSeconds()) + (withMs && d.getUTCMilliseconds() ? '.' + String(d.getUTCMilliseconds()).padStart(3, '0') : '')
      : '';
    const time = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + secs;
    if (!withDate) return time;
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${time}`;
  }
  // A time as a node whose date part phones hide (the full time stays in the tooltip).
  function timeNode(s, withMs = true) {
    const text = fmtTime(s, true, withMs);
    const m = /^(\d{4}-\d\d-\d\d) (.*)$/.exec(text);
    if (!m) return document.createTextNode(text);
    return el('span', { title: text + ' UTC' }, el('span', { class: 'date' }, m[1] + ' '), m[2]);
  }
  function windowNode(w) {
    const text = fmtWindow(w);
    const m = /^(\d{4}-\d\d-\d\d) (.*)$/.exec(text);
    if (!m) return document.createTextNode(text);
    return el('span', { title: text + ' UTC' }, el('span', { class: 'date' }, m[1] + ' '), m[2]);
  }
  function fmtWindow(w) {
    const s = parseTime(w.start), e = parseTime(w.end);
    if (s === null || e === null) return `${w.start} – ${w.end}`;
    const sameDay = new Date(s).toISOString().slice(0, 10) === new Date(e).toISOString().slice(0, 10);
    return `${fmtTime(s)} – ${fmtTime(e, !sameDay)}`;
  }
  function fmtValue(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'number') {
      if (Number.isInteger(v)) return String(v);
      const abs = Math.abs(v);
      return String(abs >= 1e6 || abs < 1e-3 ? Number(v.toPrecision(6)) : Number(v.toFixed(4)));
    }
    return String(v);
  }
  function fmtCount(n) { return n === null || n === undefined ? '—' : String(n); }
  function fmtBytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0, v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[i];
  }
  function fmtMs(ms) {
    return ms < 1 ? ms.toFixed(3) + ' ms' : ms < 100 ? ms.toFixed(1) + ' ms' : fmtDuration(ms);
  }
  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return '—';
    const a = Math.abs(ms), sign = ms < 0 ? '-' : '';
    if (a < 1000) return sign + Math.round(a) + ' ms';
    if (a < 60000) return sign + (a / 1000).toFixed(1) + ' s';
    if (a < 3600000) return sign + (a / 60000).toFixed(1) + ' min';
    if (a < 86400000) return sign + (a / 3600000).toFixed(1) + ' h';
    return sign + (a / 86400000).toFixed(1) + ' d';
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  function setEmpty(id, text) {
    const e = $(id);
    e.textContent = text || '';
    e.hidden = !text;
  }

  // --- state ------------------------------------------------------------------------------------
  // The selected pipeline's windows by `${device}\u0000${start}`, indexed by device, and the
  // newest window end seen (it anchors the time range), so a stream event costs O(1).
  class WindowStore extends Map {
    constructor() {
      super();
      this.byDevice = new Map();
      this.newest = null;
    }
    set(key, w) {
      super.set(key, w);
      let keys = this.byDevice.get(w.device);
      if (!keys) this.byDevice.set(w.device, (keys = new Set()));
      keys.add(key);
      const t = parseTime(w.end);
      if (t !== null && (this.newest === null || t > this.newest)) this.newest = t;
      return this;
    }
    delete(key) {
      const w = super.get(key);
      if (w) this.byDevice.get(w.device)?.delete(key);
      return super.delete(key);
    }
    clear() {
      super.clear();
      this.byDevice.clear();
      this.newest = null;
    }
    ofDevice(device) { return [...(this.byDevice.get(device) || [])]; }
  }

  const st = {
    pipelines: [],                 // from /pipelines
    pipeline: '',                  // selected name
    device: '',                    // '' = all
    rangeMs: 86400000,             // '' (null) = all
    windows: new WindowStore(),    // the selected pipeline's windows
    windowsComplete: true,
    devices: [],                   // from /devices
    devicesNewest: null,           // their newest last_event_time (ms)
    state: null,                   // from /state
    loadSeq: 0,                    // guards against out-of-order window loads
    loading: false,                // a window load is in flight
    streamedDuringLoad: [],        // stream windows that arrived meanwhile
    errors: new Map(),             // source -> message
  };

  function setError(source, msg) {
    if (msg) st.errors.set(source, msg); else st.errors.delete(source);
    const banner = $('error');
    banner.textContent = [...st.errors.values()].join(' · ');
    banner.hidden = st.errors.size === 0;
  }

  function readHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    return { pipeline: h.get('pipeline') || '', device: h.get('device') || '', range: h.get('range') };
  }
  function writeHash() {
    const h = new URLSearchParams();
    if (st.pipeline) h.set('pipeline', st.pipeline);
    if (st.device) h.set('device', st.device);
    h.set('range', st.rangeMs === null ? 'all' : String(st.rangeMs));
    history.replaceState(null, '', location.pathname + location.search + '#' + h.toString());
  }

  function currentPipeline() { return st.pipelines.find((p) => p.name === st.pipeline) || null; }
  function aliases() {
    const p = currentPipeline();
    if (p && p.aggregates) return Object.keys(p.aggregates);
    const seen = new Set();
    for (const w of st.windows.values()) for (const k of Object.keys(w.values || {})) seen.add(k);
    return [...seen];
  }
  const winKey = (w) => `${w.device}\u0000${w.start}`;

  // Order-independent merge: a final window is never replaced by an open one, and an open
  // window only by one that has seen at least as many records (SSE may beat a slower fetch).
  // `live`: from the stream (or kept from it), where a merged-away session may linger.
  function mergeWindow(w, live = false) {
    const key = winKey(w);
    const old = st.windows.get(key);
    if (old) {
      if (old.status === 'final' && w.status !== 'final') return false;
      if (old.status === w.status && (w.records ?? 0) < (old.records ?? 0)) return false;
    }
    st.windows.set(key, w);
    // Sessions merge: an open session that the new one overlaps was absorbed into it (its start
    // may have moved), so it is gone. Tumbling and sliding windows never move.
    const p = currentPipeline();
    if (live && p && p.window && p.window.type === 'session') {
      const s = parseTime(w.start), e = parseTime(w.end);
      for (const k of st.windows.ofDevice(w.device)) {
        const o = st.windows.get(k);
        if (k === key || o.status !== 'open') continue;
        if (parseTime(o.start) < e && s < parseTime(o.end)) st.windows.delete(k);
      }
    }
    return true;
  }

  function windowMatches(w) {
    if (w.pipeline !== st.pipeline) return false;
    if (st.device && w.device !== st.device) return false;
    const from = rangeFrom();
    if (from !== null) {
      const s = parseTime(w.start);
      if (s !== null && s < from) return false;
    }
    return true;
  }

  // The range is anchored at the newest event time seen (devices may be hours behind the clock).
  function rangeFrom() {
    if (st.rangeMs === null) return null;
    const a = st.devicesNewest, b = st.windows.newest;
    const newest = a === null ? b : b === null ? a : Math.max(a, b);
    return (newest === null ? Date.now() : newest) - st.rangeMs;
  }

  // --- loading ----------------------------------------------------------------------------------
  async function loadPipelines() {
    const body = await api('/pipelines');
    st.pipelines = body.pipelines || [];
    const sel = $('pipeline');
    sel.replaceChildren(...st.pipelines.map((p) => el('option', { value: p.name }, p.name)));
    if (!st.pipelines.some((p) => p.name === st.pipeline)) st.pipeline = st.pipelines[0]?.name || '';
    sel.value = st.pipeline;
    if (st.pipelines.length === 0) sel.append(el('option', { value: '' }, 'no pipelines'));
    showPipelineInfo();
  }

  function showPipelineInfo() {
    const p = currentPipeline();
    const info = $('pipeline-info');
    if (!p) { info.textContent = ''; return; }
    const w = p.window || {};
    const parts = [];
    if (w.type) parts.push(w.type);
    for (const k of ['size', 'slide', 'gap', 'offset']) if (w[k] !== undefined) parts.push(`${k} ${w[k]}`);
    if (p.watermark !== undefined) parts.push(`watermark ${typeof p.watermark === 'object' ? JSON.stringify(p.watermark) : p.watermark}`);
    const aggs = Object.entries(p.aggregates || {}).map(([k, v]) => `${k} = ${v}`).join(', ');
    info.textContent = `${parts.join(' · ')}${aggs ? ' — ' + aggs : ''}`;
  }

  async function loadWindows() {
    const seq = ++st.loadSeq;
    st.streamedDuringLoad = [];
    st.loading = true;
    if (!st.pipeline) {
      st.loading = false;
      st.windows.clear();
      render();
      return;
    }
    const from = rangeFrom();
    const params = { pipeline: st.pipeline, page_size: 1000 };
    if (st.device) params.device = st.device;
    if (from !== null) params.from = new Date(from).toISOString().replace('.000Z', 'Z');
    try {
      const [items, complete] = await apiPages('/windows', params, 'windows', MAX_WINDOW_PAGES);
      if (seq !== st.loadSeq) return;  // the selection changed meanwhile
      const old = st.windows;
      st.windows = new WindowStore();
      for (const w of items) mergeWindow(w);
      // Open windows are stored at checkpoints, so what the stream said before may be newer
      // (or not stored yet). Sessions are left out: an old one may have been merged away.
      const p = currentPipeline();
      const sessions = p && p.window && p.window.type === 'session';
      for (const [k, o] of old) {
        if (o.status !== 'open' || !windowMatches(o)) continue;
        const n = st.windows.get(k);
        if (n ? n.status === 'open' && (o.records ?? 0) > (n.records ?? 0) : !sessions) st.windows.set(k, o);
      }
      // What the stream delivered while the request was in flight may be newer.
      for (const w of st.streamedDuringLoad) if (windowMatches(w)) mergeWindow(w, true);
      st.streamedDuringLoad = [];
      st.loading = false;
      st.windowsComplete = complete;
      setError('windows', null);
    } catch (e) {
      if (seq !== st.loadSeq) return;
      st.loading = false;
      st.streamedDuringLoad = [];
      setError('windows', e.message);
    }
    render();
  }

  async function pollDevices() {
    try {
      const [items] = await apiPages('/devices', {}, 'devices', MAX_DEVICE_PAGES);
      st.devices = items;
      st.devicesNewest = null;
      for (const d of items) {
        const t = parseTime(d.last_event_time);
        if (t !== null && (st.devicesNewest === null || t > st.devicesNewest)) st.devicesNewest = t;
      }
      setError('devices', null);
    } catch (e) {
      setError('devices', e.message);
    }
    renderDevices();
    renderDeviceSelect();
  }

  async function pollState() {
    try {
      st.state = await api('/state');
      setError('state', null);
      $('updated').textContent = 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
    } catch (e) {
      setError('state', e.message);
    }
    renderState();
  }

  // --- the SSE stream ---------------------------------------------------------------------------
  let source = null;
  let retryMs = 1000;
  let retryTimer = null;
  let everOpened = false;

  function setStreamStatus(kind, text) {
    const b = $('stream-status');
    b.className = 'badge badge-' + kind;
    b.textContent = text;
  }

  function connectStream() {
    if (source) source.close();
    clearTimeout(retryTimer);
    const url = API + '/stream' + (token ? '?access_token=' + encodeURIComponent(token) : '');
    setStreamStatus('wait', everOpened ? 'stream reconnecting…' : 'connecting…');
    source = new EventSource(url);
    source.addEventListener('open', () => {
      retryMs = 1000;
      setStreamStatus('ok', 'live');
      setError('stream', null);
      // Anything published while we were away: load the selection again.
      if (everOpened) loadWindows();
      everOpened = true;
    });
    source.addEventListener('window', (ev) => {
      let w;
      try { w = JSON.parse(ev.data); } catch (_) { return; }
      onStreamWindow(w);
    });
    source.addEventListener('error', () => {
      setStreamStatus('bad', 'stream disconnected, retrying');
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. an HTTP error): retry ourselves, backing off to 30 s.
        setError('stream', 'live stream disconnected, retrying in ' + Math.round(retryMs / 1000) + ' s');
        retryTimer = setTimeout(connectStream, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    });
  }

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    setTimeout(() => { renderQueued = false; render(); }, 250);
  }

  const flashKeys = new Set();
  function onStreamWindow(w) {
    if (!w || !w.pipeline || !w.device || !w.start) return;
    if (!st.devices.some((d) => d.device === w.device)) {
      // A new device: show it in the selector now; /devices fills the rest on the next poll.
      st.devices.push({ device: w.device, last_event_time: null, pipelines: {} });
      renderDeviceSelect();
    }
    if (!windowMatches(w)) return;
    if (st.loading) st.streamedDuringLoad.push(w);
    if (mergeWindow(w, true)) {
      if (w.status === 'final') flashKeys.add(winKey(w));
      scheduleRender();
    }
  }

  // --- rendering --------------------------------------------------------------------------------
  function render() {
    renderCharts();
    renderFinals();
  }

  function renderDeviceSelect() {
    const sel = $('device');
    const names = [...new Set(st.devices.map((d) => d.device))].sort(byName);
    if (st.device && !names.includes(st.device)) names.push(st.device);
    const want = ['', ...names].join('\u0000');
    const have = [...sel.options].map((o) => o.value).join('\u0000');
    if (want !== have) {
      sel.replaceChildren(el('option', { value: '' }, 'all devices'),
                          ...names.map((n) => el('option', { value: n }, n)));
    }
    sel.value = st.device;
  }

  // Series per device, aligned on the union of window starts (uPlot wants one x array).
  function chartData(alias, devices) {
    const xs = new Set();
    const byDevice = new Map(devices.map((d) => [d, new Map()]));
    for (const w of st.windows.values()) {
      const m = byDevice.get(w.device);
      if (!m) continue;
      const x = parseTime(w.start) / 1000;
      xs.add(x);
      const v = w.values ? w.values[alias] : null;
      m.set(x, typeof v === 'number' ? v : null);
    }
    const x = [...xs].sort((a, b) => a - b);
    return [x, ...devices.map((d) => x.map((t) => (byDevice.get(d).has(t) ? byDevice.get(d).get(t) : null)))];
  }

  const charts = new Map();  // alias -> { uplot, box, key }
  let chartWidth = 0;

  function chartSize(box) {
    const w = Math.max(240, Math.floor(box.clientWidth || document.body.clientWidth - 40));
    return { width: w, height: w < 600 ? 200 : 240 };
  }

  function renderCharts() {
    const container = $('charts');
    const list = aliases();
    const devices = [...st.windows.byDevice.keys()].filter((d) => st.windows.byDevice.get(d).size > 0).sort(byName);
    const shown = devices.slice(0, MAX_SERIES);
    const note = $('charts-note');
    const notes = [];
    if (devices.length > shown.length) notes.push(`showing ${shown.length} of ${devices.length} devices; pick a device to see the others`);
    if (!st.windowsComplete) notes.push('more windows than one load holds: narrow the range');
    note.textContent = notes.join(' · ');
    note.hidden = notes.length === 0;

    if (!st.pipeline) setEmpty('charts-empty', 'no pipelines configured');
    else if (st.windows.size === 0) setEmpty('charts-empty', st.errors.has('windows') ? 'windows could not be loaded' : 'no windows yet');
    else setEmpty('charts-empty', '');

    if (st.windows.size === 0 || typeof uPlot === 'undefined') {
      for (const c of charts.values()) c.uplot.destroy();
      charts.clear();
      container.replaceChildren();
      if (typeof uPlot === 'undefined') setEmpty('charts-empty', 'chart library failed to load');
      return;
    }
    // Rebuild a chart when its alias or device set changes; otherwise just set new data.
    for (const [alias, c] of charts) {
      if (!list.includes(alias)) { c.uplot.destroy(); c.box.remove(); charts.delete(alias); }
    }
    const seriesKey = shown.join('\u0000');
    for (const alias of list) {
      const data = chartData(alias, shown);
      let c = charts.get(alias);
      if (c && c.key !== seriesKey) { c.uplot.destroy(); c.box.remove(); charts.delete(alias); c = null; }
      if (!c) {
        const box = el('div', { class: 'chart', 'data-alias': alias });
        box.append(el('h3', {}, alias, ' ', el('span', { class: 'muted small' }, aggregateExpr(alias))));
        const plot = el('div', { class: 'plot' });
        box.append(plot);
        container.append(box);
        const size = chartSize(container);
        const opts = {
          ...size,
          tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
          cursor: { drag: { x: true, y: false } },
          // One window start alone would get a range of years: give it an hour around it.
          scales: { x: { time: true, range: (u, min, max) => (min === max ? [min - 1800, max + 1800] : [min, max]) } },
          axes: [
            { space: 64, values: xTickLabels },
            { size: 55, values: (u, vals) => vals.map(fmtValue) },
          ],
          series: [
            { label: 'window start', value: (u, v) => (v === null ? '—' : fmtTime(v * 1000)) },
            ...shown.map((d, i) => ({
              label: d,
              stroke: COLORS[i % COLORS.length],
              width: 2,
              spanGaps: true,
              points: { size: 6 },  // uPlot hides them when the line is dense
              value: (u, v) => fmtValue(v),
            })),
          ],
        };
        c = { uplot: new uPlot(opts, data, plot), box, key: seriesKey };
        box.uplot = c.uplot;  // for the browser test and the devtools console
        charts.set(alias, c);
      } else {
        c.uplot.setData(data);
      }
    }
    // Keep the DOM order the aggregate order.
    for (const alias of list) container.append(charts.get(alias).box);
  }

  // HH:MM (UTC) ticks; the date under the first tick and wherever the day changes.
  function xTickLabels(u, splits) {
    let lastDay = '';
    return splits.map((ts) => {
      const d = new Date(ts * 1000);
      const day = d.toISOString().slice(0, 10);
      const time = fmtTime(ts * 1000, false);
      const label = day !== lastDay ? time + '\n' + day : time;
      lastDay = day;
      return label;
    });
  }

  function aggregateExpr(alias) {
    const p = currentPipeline();
    return p && p.aggregates && p.aggregates[alias] ? p.aggregates[alias] : '';
  }

  function resizeCharts() {
    const container = $('charts');
    const size = chartSize(container);
    if (size.width === chartWidth) return;
    chartWidth = size.width;
    for (const c of charts.values()) c.uplot.setSize(size);
  }

  function renderFinals() {
    const table = $('finals');
    const list = aliases();
    table.tHead.replaceChildren(el('tr', {},
      el('th', { class: 'key' }, 'Device'), el('th', {}, 'Window (UTC)'),
      ...list.map((a) => el('th', { class: 'num', title: aggregateExpr(a) }, a)),
      el('th', { class: 'num' }, 'Records'),
      el('th', {}, 'Closed by'), el('th', {}, 'Closed at (UTC)')));
    const finals = [...st.windows.values()].filter((w) => w.status === 'final');
    // Most recently closed first; then by window end.
    finals.sort((a, b) => (parseTime(b.closed_at) ?? 0) - (parseTime(a.closed_at) ?? 0) ||
                          (parseTime(b.end) ?? 0) - (parseTime(a.end) ?? 0) ||
                          byName(a.device, b.device));
    const rows = finals.slice(0, FINAL_ROWS).map((w) => {
      const tr = el('tr', { 'data-device': w.device, 'data-start': w.start },
        el('td', { class: 'key' }, w.device), el('td', {}, windowNode(w)),
        ...list.map((a) => el('td', { class: 'num', 'data-alias': a }, fmtValue(w.values ? w.values[a] : null))),
        el('td', { class: 'num' }, fmtCount(w.records)),
        el('td', {}, w.closed_by || '—'), el('td', {}, timeNode(w.closed_at, false)));
      if (flashKeys.has(winKey(w))) tr.classList.add('flash');
      return tr;
    });
    flashKeys.clear();
    table.tBodies[0].replaceChildren(...rows);
    if (!st.pipeline) setEmpty('finals-empty', 'no pipelines configured');
    else if (rows.length === 0) setEmpty('finals-empty', st.windows.size ? 'no final windows yet (windows close when the watermark passes their end)' : 'no windows yet');
    else setEmpty('finals-empty', finals.length > FINAL_ROWS ? `latest ${FINAL_ROWS} of ${finals.length}` : '');
  }

  function renderDevices() {
    const tbody = $('devices').tBodies[0];
    const list = [...st.devices].filter((d) => d.records !== undefined)
      .sort((a, b) => byName(a.device, b.device));
    tbody.replaceChildren(...list.map((d) => {
      const p = d.pipelines && d.pipelines[st.pipeline];
      const tr = el('tr', { class: 'selectable' + (d.device === st.device ? ' selected' : ''), 'data-device': d.device,
                            title: d.device === st.device ? 'show all devices' : 'show only this device', tabIndex: 0 },
        el('td', { class: 'key' }, d.device),
        el('td', { class: 'num', 'data-col': 'lag' }, fmtDuration(d.lag_ms)),
        el('td', { class: 'num' + (d.late > 0 ? ' warn' : ''), 'data-col': 'late' }, fmtCount(d.late)),
        el('td', { class: 'num' + (d.rejected > 0 ? ' warn' : ''), 'data-col': 'rejected' }, fmtCount(d.rejected)),
        el('td', { class: 'num', 'data-col': 'records' }, fmtCount(d.records)),
        el('td', { 'data-col': 'last_event_time' }, timeNode(d.last_event_time)),
        el('td', { 'data-col': 'watermark' }, p ? timeNode(p.watermark) : '—'));
      const toggle = () => selectDevice(d.device === st.device ? '' : d.device);
      tr.addEventListener('click', toggle);
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } });
      return tr;
    }));
    setEmpty('devices-empty', list.length ? '' : (st.errors.has('devices') ? 'devices could not be loaded' : 'no devices yet'));
  }

  function kv(target, pairs) {
    target.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  }

  function renderState() {
    const s = st.state;
    const tiles = $('state-pipelines');
    if (!s) {
      tiles.replaceChildren();
      setEmpty('state-empty', st.errors.has('state') ? 'state could not be loaded' : 'loading…');
      return;
    }
    tiles.replaceChildren(...(s.pipelines || []).map((p) => {
      const dl = el('dl', { class: 'kv' });
      kv(dl, [
        ['watermark', fmtTime(p.watermark)],
        ['open windows', fmtCount(p.open_windows)],
        ['final windows', fmtCount(p.final_windows)],
        ['state', fmtBytes(p.state_bytes)],
        ['records', fmtCount(p.records)],
        ['late', fmtCount(p.late)],
        ['duplicates', fmtCount(p.duplicates)],
        ['evicted', fmtCount(p.evicted)],
      ]);
      return el('div', { class: 'tile' + (p.name === st.pipeline ? ' current' : ''), 'data-pipeline': p.name },
        el('h3', {}, p.name), dl);
    }));
    setEmpty('state-empty', (s.pipelines || []).length ? '' : 'no pipelines');
    const rejected = Object.entries(s.rejected || {});
    const total = rejected.reduce((n, [, v]) => n + (typeof v === 'number' ? v : 0), 0);
    // Only the reasons that happened; the total always.
    kv($('state-rejected'), [['total', String(total)],
      ...rejected.filter(([, v]) => v !== 0).map(([k, v]) => [k.replace(/_/g, ' '), fmtCount(v)])]);
    const storage = s.storage || {};
    const pairs = [];
    for (const [k, v] of Object.entries(storage)) {
      if (k.endsWith('_bytes')) pairs.push([k.replace(/_bytes$/, '').replace(/_/g, ' '), fmtBytes(v)]);
      else if (typeof v === 'string' && parseTime(v) !== null && /\d{4}-\d\d-\d\dT/.test(v)) pairs.push([k.replace(/_/g, ' '), fmtTime(v, true, false)]);
      else if (v === null && /(_at|_commit|_time)$/.test(k)) pairs.push([k.replace(/_/g, ' '), '—']);
      else if (typeof v === 'boolean') pairs.push([k.replace(/_/g, ' '), v ? 'yes' : 'no']);
      else if (k.endsWith('_ms') && v && typeof v === 'object') {
        // e.g. commit_latency_ms: { mean, p50, p99 }
        for (const [sub, x] of Object.entries(v)) {
          pairs.push([`${k.replace(/_ms$/, '').replace(/_/g, ' ')} ${sub}`, typeof x === 'number' ? fmtMs(x) : '—']);
        }
      }
      else if (typeof v !== 'object' || v === null) pairs.push([k.replace(/_/g, ' '), fmtCount(v)]);
    }
    for (const k of ['messages', 'redeliveries']) if (typeof s[k] === 'number') pairs.push([k, String(s[k])]);
    kv($('state-storage'), pairs);
    const mqtt = $('mqtt-status');
    const connected = s.mqtt && s.mqtt.connected;
    mqtt.className = 'badge ' + (connected ? 'badge-ok' : 'badge-bad');
    mqtt.textContent = connected ? 'MQTT connected' : 'MQTT disconnected';
  }

  // --- selection --------------------------------------------------------------------------------
  function selectDevice(d) {
    st.device = d;
    $('device').value = d;
    writeHash();
    renderDevices();
    st.windows.clear();
    render();
    loadWindows();
  }

  function bindControls() {
    $('pipeline').addEventListener('change', (e) => {
      st.pipeline = e.target.value;
      writeHash();
      showPipelineInfo();
      st.windows.clear();
      render();
      renderDevices();
      renderState();
      loadWindows();
    });
    $('device').addEventListener('change', (e) => selectDevice(e.target.value));
    $('range').addEventListener('change', (e) => {
      st.rangeMs = e.target.value ? Number(e.target.value) : null;
      writeHash();
      st.windows.clear();
      render();
      loadWindows();
    });
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(resizeCharts).observe($('charts'));
    else window.addEventListener('resize', resizeCharts);
  }

  async function start() {
    const h = readHash();
    st.pipeline = h.pipeline;
    st.device = h.device;
    if (h.range === 'all') st.rangeMs = null;
    else if (h.range && [...$('range').options].some((o) => o.value === h.range)) st.rangeMs = Number(h.range);
    $('range').value = st.rangeMs === null ? '' : String(st.rangeMs);
    bindControls();
    connectStream();  // first, so nothing published during the loads below is missed
    for (;;) {
      try {
        await loadPipelines();
        setError('pipelines', null);
        break;
      } catch (e) {
        setError('pipelines', e.message + ' — retrying');
        setEmpty('charts-empty', 'waiting for the gateway…');
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    writeHash();
    await Promise.all([pollDevices(), pollState()]);  // devices first: they anchor the range
    await loadWindows();
    // A hidden tab stops polling (the stream stays open) and catches up when shown again.
    setInterval(() => { if (!document.hidden) { pollDevices(); pollState(); } }, POLL_MS);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) { pollDevices(); pollState(); }
    });
    setInterval(() => { if (!document.hidden && !st.loading) loadWindows(); }, RESYNC_MS);
  }

  start();
})();
