// Real-browser test of the dashboard: a real mosquitto on a free loopback port, the real tidemark
// binary, records published with mosquitto_pub -q 1, and Debian's headless Chromium (driven by
// playwright-core) loading the page the gateway serves. Asserts that the devices table, the
// uPlot chart and the final-windows table show the published data, that a record published after
// the page loaded appears without a reload (SSE), and that the page fits a 390 px wide screen.
// Screenshots go to --out.
//
//   node dashboard_browser_test.mjs --gateway build/gateway/tidemark --deps DIR --out DIR
//     --deps: the folder holding node_modules/playwright-core (npm ci in the build tree)
//
// Every wait is bounded; every process started here is ended on exit; exit code 1 on failure.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const TOTAL_TIMEOUT_MS = 180_000;
const WAIT_MS = 20_000;  // one condition
const CHROMIUM = process.env.TIDEMARK_CHROMIUM || '/usr/bin/chromium';

// --- arguments --------------------------------------------------------------------------------
function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  console.error(`usage: node dashboard_browser_test.mjs --gateway BIN --deps DIR --out DIR (missing --${name})`);
  process.exit(2);
}
const gatewayBin = path.resolve(arg('gateway'));
const depsDir = path.resolve(arg('deps'));
const outDir = path.resolve(arg('out'));

// --- bookkeeping ------------------------------------------------------------------------------
const children = [];   // { name, proc, log }
let browserContext = null;
let currentPage = null;  // for a screenshot when the test fails
let tmpDir = null;
let failed = false;
let checks = 0;

function log(msg) { console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`); }
function check(cond, msg) {
  checks++;
  if (!cond) throw new Error('check failed: ' + msg);
  log('ok: ' + msg);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = WAIT_MS, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? ` (last error: ${last.message})` : ''));
    }
    await sleep(everyMs);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
    s.on('timeout', () => { s.destroy(); resolve(false); });
  });
}

function findProgram(name, extra) {
  for (const dir of [...(process.env.PATH || '').split(':'), ...extra]) {
    const p = path.join(dir, name);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch (_) { /* next */ }
  }
  throw new Error(`${name} not found (PATH and ${extra.join(', ')})`);
}

function start(name, cmd, args) {
  const logPath = path.join(tmpDir, name + '.log');
  const fd = fs.openSync(logPath, 'a');
  const proc = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: false });
  fs.closeSync(fd);
  const child = { name, proc, logPath, exited: false };
  proc.on('exit', () => { child.exited = true; });
  children.push(child);
  return child;
}

async function stop(child) {
  if (child.exited) return;
  child.proc.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (!child.exited && Date.now() < deadline) await sleep(50);
  if (!child.exited) {
    log(`${child.name} ignored SIGTERM; SIGKILL`);
    child.proc.kill('SIGKILL');
    const d2 = Date.now() + 5_000;
    while (!child.exited && Date.now() < d2) await sleep(50);
  }
}

function readLog(child) {
  try { return fs.readFileSync(child.logPath, 'utf8'); } catch (_) { return ''; }
}

async function cleanup() {
  if (failed && currentPage) {
    const shot = path.join(outDir, 'dashboard-failure.png');
    try {
      await Promise.race([currentPage.screenshot({ path: shot, fullPage: true }), sleep(10_000)]);
      console.log('screenshot of the failure: ' + shot);
    } catch (_) { /* no screenshot then */ }
  }
  if (browserContext) {
    try { await Promise.race([browserContext.close(), sleep(10_000)]); } catch (_) { /* closing anyway */ }
    browserContext = null;
  }
  for (const c of [...children].reverse()) await stop(c);
  if (failed) {
    for (const c of children) {
      const text = readLog(c);
      console.log(`----- ${c.name} log (last 60 lines) -----`);
      console.log(text.split('\n').slice(-60).join('\n'));
    }
  }
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}

// --- the scenario -----------------------------------------------------------------------------
const MIN = 60_000;
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
// Windows three hours back, aligned to 10 minutes: in the past (max_future_skew), well inside
// the default retention, and in the page's default "last 24 hours" of event time.
const BASE = Math.floor((Date.now() - 3 * 60 * MIN) / (10 * MIN)) * (10 * MIN);

function publish(brokerPort, device, records) {
  // One connection per device, one message per line (-l), QoS 1.
  const payload = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const res = spawnSync('mosquitto_pub',
    ['-h', '127.0.0.1', '-p', String(brokerPort), '-q', '1', '-i', `webtest-pub-${device}-${Date.now()}`,
     '-t', `devices/${device}/telemetry`, '-l'],
    { input: payload, timeout: 15_000, encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    throw new Error(`mosquitto_pub for ${device} failed: ${res.error ? res.error.message : 'exit ' + res.status} ${res.stderr || ''}`);
  }
}
const rec = (device, minute, temperature) =>
  ({ deviceId: device, eventTime: iso(BASE + minute * MIN), temperature });

// The gateway runs with a bearer token, so the page's ?token= path is exercised too.
const TOKEN = 'webtest-' + Math.random().toString(36).slice(2);

async function getJson(httpPort, p) {
  const res = await fetch(`http://127.0.0.1:${httpPort}${p}`,
    { headers: { Authorization: 'Bearer ' + TOKEN }, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

// Text of the final-windows table's cell for (device, window start, alias), or null.
function finalCell(page, device, startIso, alias) {
  return page.evaluate(([d, s, a]) => {
    for (const tr of document.querySelectorAll('#finals tbody tr')) {
      if (tr.dataset.device === d && tr.dataset.start === s) {
        const td = tr.querySelector(`td[data-alias="${a}"]`);
        return td ? td.textContent : null;
      }
    }
    return null;
  }, [device, startIso, alias]);
}

function deviceRow(page, device) {
  return page.evaluate((d) => {
    const tr = [...document.querySelectorAll('#devices tbody tr')].find((r) => r.dataset.device === d);
    if (!tr) return null;
    const out = {};
    for (const td of tr.querySelectorAll('td[data-col]')) out[td.dataset.col] = td.textContent;
    return out;
  }, device);
}

// The chart's own data: { label: { windowStartIso: value } } for each series.
function chartSeries(page, alias) {
  return page.evaluate((a) => {
    const u = document.querySelector(`.chart[data-alias="${a}"]`)?.uplot;
    if (!u) return null;
    const out = {};
    u.series.forEach((s, i) => {
      if (i === 0) return;
      out[s.label] = {};
      u.data[0].forEach((x, j) => {
        if (u.data[i][j] !== null && u.data[i][j] !== undefined) {
          out[s.label][new Date(x * 1000).toISOString().replace('.000Z', 'Z')] = u.data[i][j];
        }
      });
    });
    return out;
  }, alias);
}

function legendLabels(page, alias) {
  return page.evaluate((a) => [...document.querySelectorAll(`.chart[data-alias="${a}"] .u-legend .u-series .u-label`)]
    .map((e) => e.textContent).slice(1), alias);
}

// How many pixels of the chart's canvas are painted in a series colour (not white, grey or clear).
function coloredPixels(page, alias) {
  return page.evaluate((a) => {
    const c = document.querySelector(`.chart[data-alias="${a}"] canvas`);
    if (!c) return -1;
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, al] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      if (al > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
    }
    return n;
  }, alias);
}

async function main() {
  const watchdog = setTimeout(() => {
    console.error(`FAIL: the whole test took longer than ${TOTAL_TIMEOUT_MS} ms`);
    failed = true;
    cleanup().finally(() => process.exit(1));
  }, TOTAL_TIMEOUT_MS);
  watchdog.unref();

  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (.ci/install-deps)`);
  if (!fs.existsSync(gatewayBin)) throw new Error(`gateway binary ${gatewayBin} not found`);
  const require = createRequire(path.join(depsDir, 'package.json'));
  const { chromium } = require('playwright-core');
  const mosquittoBin = findProgram('mosquitto', ['/usr/sbin', '/usr/local/sbin']);
  findProgram('mosquitto_pub', ['/usr/bin']);

  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-webtest-'));
  fs.mkdirSync(outDir, { recursive: true });

  // The broker.
  const brokerPort = await freePort();
  const user = os.userInfo().username;
  fs.writeFileSync(path.join(tmpDir, 'mosquitto.conf'),
    `listener ${brokerPort} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n` +
    `max_queued_messages 0\nlog_dest stdout\nuser ${user}\n`);
  const broker = start('mosquitto', mosquittoBin, ['-c', path.join(tmpDir, 'mosquitto.conf')]);
  await waitFor('mosquitto to listen', () => !broker.exited && portOpen(brokerPort), 10_000);
  log(`mosquitto on 127.0.0.1:${brokerPort}`);

  // The gateway.
  const httpPort = await freePort();
  const config = path.join(tmpDir, 'tidemark.toml');
  fs.writeFileSync(path.join(tmpDir, 'token'), TOKEN + '\n', { mode: 0o600 });
  fs.writeFileSync(config, `
[mqtt]
broker = "tcp://127.0.0.1:${brokerPort}"
client_id = "tidemark-webtest"

[storage]
path = "${path.join(tmpDir, 'tidemark.db')}"
checkpoint_interval = "1s"

[http]
listen = "127.0.0.1:${httpPort}"
token_file = "${path.join(tmpDir, 'token')}"

[[pipeline]]
name = "temp_10m"
window = "10 minutes"
watermark = "0s"
aggregates = { avg_temp = "avg(temperature)", readings = "count()" }
`);
  const startGateway = async (name) => {
    const g = start(name, gatewayBin, ['--config', config]);
    await waitFor(`${name} to subscribe`, () => {
      if (g.exited) throw new Error(`${name} exited: ` + readLog(g).slice(-2000));
      return /mqtt: subscribed/.test(readLog(g));
    }, WAIT_MS);
    await waitFor(`${name}'s HTTP API`, () => getJson(httpPort, '/api/v1/state'), WAIT_MS);
    log(`${name} on 127.0.0.1:${httpPort}`);
    return g;
  };
  let gateway = await startGateway('tidemark');

  // The browser.
  const userDataDir = path.join(tmpDir, 'chromium-profile');
  browserContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
  });
  const page = browserContext.pages()[0] || await browserContext.newPage();
  currentPage = page;
  page.setDefaultTimeout(WAIT_MS);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push('console: ' + m.text()); });
  const offsite = [];
  page.on('request', (r) => { if (!r.url().startsWith(`http://127.0.0.1:${httpPort}/`) && !r.url().startsWith('data:')) offsite.push(r.url()); });

  // Without the token: the page loads (static files are public) and says what is wrong.
  const url = `http://127.0.0.1:${httpPort}/`;
  await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
  const banner = await waitFor('the 401 banner', async () => {
    const b = page.locator('#error');
    return (await b.isVisible()) ? b.textContent() : null;
  });
  check(/401|token/i.test(banner), `without a token the page shows the error (${banner})`);
  check(/disconnected|connecting|reconnecting/.test(await page.locator('#stream-status').textContent()), 'stream badge is not live without a token');
  pageErrors.length = 0;  // the 401s above are expected console errors

  await page.goto(url + '?token=' + encodeURIComponent(TOKEN), { waitUntil: 'load', timeout: WAIT_MS });
  check(!page.url().includes(TOKEN), `the token is taken out of the address bar (${page.url()})`);

  // An empty gateway: the page says so instead of drawing nothing.
  await waitFor('the empty states', async () => {
    const [charts, finals, devices] = await Promise.all(['#charts-empty', '#finals-empty', '#devices-empty']
      .map((sel) => page.locator(sel).textContent()));
    return charts === 'no windows yet' && finals === 'no windows yet' && devices === 'no devices yet';
  });
  check(true, 'empty gateway: "no windows yet" for the chart and the final windows, "no devices yet"');
  await waitFor('the stream badge to say live', async () => (await page.locator('#stream-status').textContent()) === 'live');
  check(true, 'stream badge says live with the token');

  // The data. D1: window [0,10) = 21.5, 23 -> avg 22.25, 2 records; closed by the
  // record at minute 12; window [10,20) open with 20, 24; then a late record for minute 5.
  // D2: window [0,10) = 18, 19, 20 -> avg 19, 3 records, closed by minute 25; plus one record
  // whose temperature is not a number (rejected as bad_value).
  publish(brokerPort, 'D1', [rec('D1', 4, 21.5), rec('D1', 6, 23.0), rec('D1', 12, 20.0), rec('D1', 15, 24.0)]);
  publish(brokerPort, 'D2', [rec('D2', 1, 18), rec('D2', 2, 19), rec('D2', 3, 20), rec('D2', 25, 30),
                             { deviceId: 'D2', eventTime: iso(BASE + 26 * MIN), temperature: 'hot' }]);
  publish(brokerPort, 'D1', [rec('D1', 5, 99.0)]);  // late: D1's [0,10) is final by now
  // Open windows are stored at checkpoints (every second here): wait until the API has them all.
  await waitFor('the API to list 2 final and 2 open windows', async () => {
    const body = await getJson(httpPort, '/api/v1/windows?pipeline=temp_10m');
    const n = (status) => body.windows.filter((w) => w.status === status).length;
    return n('final') === 2 && n('open') === 2;
  }, WAIT_MS, 300);
  await waitFor('the API to count the late record', async () => {
    const body = await getJson(httpPort, '/api/v1/devices');
    const d1 = body.devices.find((d) => d.device === 'D1');
    return d1 && d1.late === 1;
  }, WAIT_MS, 300);

  // A reload: the token comes from the tab's session storage now.
  await page.reload({ waitUntil: 'load', timeout: WAIT_MS });
  await page.evaluate(() => { window.__notReloaded = true; });
  log('page loaded');

  // Devices table.
  const d1 = await waitFor('D1 in the devices table', async () => {
    const r = await deviceRow(page, 'D1');
    return r && r.late === '1' ? r : null;
  });
  check(d1.records !== undefined, `devices table lists D1 (late ${d1.late}, lag ${d1.lag}, last event ${d1.last_event_time})`);
  const apiD1 = (await getJson(httpPort, '/api/v1/devices')).devices.find((d) => d.device === 'D1');
  const wantHm = new Date(apiD1.last_event_time).toISOString().slice(11, 16);
  check(d1.last_event_time.includes(wantHm), `D1's last event time is the API's ${apiD1.last_event_time} (${d1.last_event_time})`);
  const d2 = await waitFor('D2 with its rejected record in the devices table', async () => {
    const r = await deviceRow(page, 'D2');
    return r && r.rejected === '1' ? r : null;
  });
  check(d2.rejected === '1', `devices table shows D2's rejected record (${d2.rejected})`);
  check(d2.late === '0', 'D2 has no late records');

  // Final windows table: the exact aggregates of what was published.
  const s0 = iso(BASE);
  await waitFor('D1 window 0 in the final-windows table', async () => (await finalCell(page, 'D1', s0, 'avg_temp')) !== null);
  check(await finalCell(page, 'D1', s0, 'avg_temp') === '22.25', 'D1 [0,10) avg_temp = 22.25');
  check(await finalCell(page, 'D1', s0, 'readings') === '2', 'D1 [0,10) readings = 2 (the late record is not counted)');
  check(await finalCell(page, 'D2', s0, 'avg_temp') === '19', 'D2 [0,10) avg_temp = 19');
  check(await finalCell(page, 'D2', s0, 'readings') === '3', 'D2 [0,10) readings = 3 (the rejected record is not counted)');
  check(await finalCell(page, 'D1', iso(BASE + 10 * MIN), 'avg_temp') === null, 'D1 [10,20) is not final yet');

  // The chart: a uPlot canvas per aggregate with a series per device, and painted lines.
  for (const alias of ['avg_temp', 'readings']) {
    await waitFor(`the ${alias} chart`, async () => (await page.locator(`.chart[data-alias="${alias}"] canvas`).count()) > 0);
    const labels = await legendLabels(page, alias);
    check(labels.includes('D1') && labels.includes('D2'), `${alias} chart has series D1 and D2 (${labels.join(', ')})`);
    const px = await waitFor(`the ${alias} chart to draw its series`, async () => {
      const n = await coloredPixels(page, alias);
      return n > 100 ? n : null;
    }, 5000);
    check(px > 100, `${alias} chart canvas has drawn series (${px} coloured pixels)`);
  }
  // What the chart plots: every window, final and open, at its start.
  const s1 = iso(BASE + 10 * MIN), s2 = iso(BASE + 20 * MIN);
  const want = { avg_temp: { D1: { [s0]: 22.25, [s1]: 22 }, D2: { [s0]: 19, [s2]: 30 } },
                 readings: { D1: { [s0]: 2, [s1]: 2 }, D2: { [s0]: 3, [s2]: 1 } } };
  for (const [alias, series] of Object.entries(want)) {
    const got = await chartSeries(page, alias);
    check(JSON.stringify(got) === JSON.stringify(series),
      `${alias} chart data is exactly the published windows: ${JSON.stringify(got)}`);
  }
  check(await page.locator('#stream-status').textContent() === 'live', 'stream badge says live');
  check(/MQTT connected/.test(await page.locator('#mqtt-status').textContent()), 'MQTT badge says connected');
  // The state panel polls every 5 s; the gateway's live snapshot may lag by a second.
  const tile = await waitFor('the state panel to show 2 open windows and 1 late', async () => {
    const t = await page.locator('#state-pipelines .tile[data-pipeline="temp_10m"]').textContent();
    return /open windows\s*2(?!\d)/.test(t) && /late\s*1(?!\d)/.test(t) ? t : null;
  });
  check(true, `state panel: ${tile.replace(/\s+/g, ' ')}`);
  const rejected = await waitFor('the state panel to count the bad_value rejection', async () => {
    const t = await page.locator('#state-rejected').textContent();
    return /bad value\s*1(?!\d)/.test(t) ? t : null;
  });
  check(true, `state panel counts the bad_value rejection (${rejected.replace(/\s+/g, ' ')})`);

  const desktopWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  check(desktopWidth <= 1280, `no horizontal page scroll at 1280 px (document ${desktopWidth} px wide)`);
  await page.screenshot({ path: path.join(outDir, 'dashboard-desktop.png'), fullPage: true });
  log('screenshot ' + path.join(outDir, 'dashboard-desktop.png'));

  // Live: published after the page loaded; no reload. D1 minute 35 closes [10,20) (20, 24 ->
  // avg 22, 2 records); a new device D3 appears in the chart from the stream alone.
  publish(brokerPort, 'D1', [rec('D1', 35, 26.0)]);
  publish(brokerPort, 'D3', [rec('D3', 7, 17.5)]);
  await waitFor('D1 [10,20) in the final-windows table via SSE', async () => (await finalCell(page, 'D1', s1, 'avg_temp')) === '22');
  check(await finalCell(page, 'D1', s1, 'readings') === '2', 'SSE: D1 [10,20) final with avg_temp 22, readings 2');
  await waitFor('D3 in the chart legend via SSE', async () => (await legendLabels(page, 'avg_temp')).includes('D3'));
  check(true, 'SSE: D3 drawn as a new series');
  await waitFor('D3 in the devices table (polled)', () => deviceRow(page, 'D3'));
  check(true, 'devices table picked up D3');
  check(await page.evaluate(() => window.__notReloaded === true), 'the page was not reloaded');

  // The gateway restarts under the open page: the page says the stream is down, then recovers
  // by itself, with what was published meanwhile (the broker kept it for the gateway's session).
  await stop(gateway);
  await waitFor('the page to notice the stream is down', async () =>
    /disconnected, retrying|reconnecting/.test(await page.locator('#stream-status').textContent()));
  check(true, `stream badge while the gateway is down: "${await page.locator('#stream-status').textContent()}"`);
  publish(brokerPort, 'D1', [rec('D1', 45, 28.0)]);  // closes D1 [30,40) = 26 -> avg 26, 1 record
  gateway = await startGateway('tidemark-restarted');
  await waitFor('the stream to be live again', async () => (await page.locator('#stream-status').textContent()) === 'live', 30_000);
  check(true, 'stream badge live again after the restart');
  const s3 = iso(BASE + 30 * MIN);
  await waitFor('D1 [30,40) in the final-windows table after the restart', async () => (await finalCell(page, 'D1', s3, 'avg_temp')) === '26', 30_000);
  check(await finalCell(page, 'D1', s3, 'readings') === '1', 'after the restart: D1 [30,40) final with avg_temp 26, readings 1');
  await waitFor('the error banner to clear', () => page.locator('#error').isHidden(), 15_000);
  check(await page.evaluate(() => window.__notReloaded === true), 'still the same page (no reload)');
  pageErrors.length = 0;  // failed requests while the gateway was down are expected

  // Phone width: usable, nothing wider than the screen except inside the scrolling tables.
  await page.setViewportSize({ width: 390, height: 844 });
  await waitFor('the chart to fit 390 px', () => page.evaluate(() => {
    const c = document.querySelector('.chart canvas');
    return c && c.getBoundingClientRect().right <= 390;
  }));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 390, `no horizontal page scroll at 390 px (document ${overflow} px wide)`);
  const selectWidth = await page.evaluate(() => document.getElementById('pipeline').getBoundingClientRect().right);
  check(selectWidth <= 390, 'pipeline selector on screen at 390 px');
  await page.screenshot({ path: path.join(outDir, 'dashboard-phone.png'), fullPage: true });
  log('screenshot ' + path.join(outDir, 'dashboard-phone.png'));

  // Device selector: only D1's series and rows.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.selectOption('#device', 'D1');
  await waitFor('the chart to show D1 only', async () => {
    const labels = await legendLabels(page, 'avg_temp');
    return labels.length === 1 && labels[0] === 'D1';
  });
  check(await finalCell(page, 'D2', s0, 'avg_temp') === null, 'device filter hides D2 rows');
  check(await finalCell(page, 'D1', s0, 'avg_temp') === '22.25', 'device filter keeps D1 rows');

  check(offsite.length === 0, `every request went to the gateway (${offsite.join(', ') || 'none elsewhere'})`);
  check(pageErrors.length === 0, `no page errors (${pageErrors.join(' | ') || 'none'})`);
}

let exitCode = 0;
try {
  await main();
  log(`PASS: ${checks} checks`);
} catch (e) {
  failed = true;
  exitCode = 1;
  console.error('FAIL: ' + (e && e.stack ? e.stack : e));
}
await cleanup();
process.exit(exitCode);
