// The dashboard in a real browser: starts `dagminer poolsim` and `dagminer run` (CPU backend,
// a second pool that is down), opens the page in Debian's chromium through playwright-core and
// checks that the page shows what the API says, that the chart has points, that the controls
// need the token, and that the console stays clean. Screenshots go to --out.
//
// node dashboard_test.cjs --dagminer BIN --modules NODE_MODULES --out DIR --cache LIGHT_CACHE_DIR
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const chromiumPath = '/usr/bin/chromium';
const skipStatus = 77;  // ctest's SKIP_RETURN_CODE
const token = 'browser-test-token-0123456789';

function options() {
  const o = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i + 1 < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const key of ['dagminer', 'modules', 'out', 'cache'])
    if (!o[key]) throw new Error('missing --' + key + ' (usage: --dagminer BIN --modules DIR --out DIR --cache DIR)');
  return o;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(what, test, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await test();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await sleep(250);
  }
  throw new Error('timed out after ' + timeoutMs + ' ms waiting for ' + what + (last ? ' (last: ' + last + ')' : ''));
}

// Starts a process and resolves with the first match of `pattern` in its output.
function start(name, command, args, pattern, logFile) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(logFile);
  let text = '';
  const found = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(name + ' printed no ' + pattern + ' in 60 s; see ' + logFile)), 60000);
    const onData = (chunk) => {
      log.write(chunk);
      text += chunk;
      const m = text.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(name + ' exited with ' + code + '; see ' + logFile)));
  });
  return { child, found };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10000).then(() => child.kill('SIGKILL'))]);
}

// A loopback port nothing listens on: the pool that stays down.
function closedPort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// "12.3 kH/s" -> 12300
function parseHashrate(text) {
  const m = text.match(/^([0-9.]+) (|k|M|G|T)H\/s$/);
  assert.ok(m, 'hashrate text "' + text + '"');
  return Number(m[1]) * { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]];
}

function assertSameRate(text, rate, what) {
  const shown = parseHashrate(text);
  assert.ok(Math.abs(shown - rate) <= rate * 0.005 + 1e-9, what + ': page shows ' + text + ', the API says ' + rate + ' H/s');
}

const ars = (s) => s.accepted + '/' + s.rejected + '/' + s.stale;

async function main() {
  const o = options();
  if (!fs.existsSync(chromiumPath)) {
    console.log('skipped: ' + chromiumPath + ' is missing (scripts/setup installs the chromium package)');
    return skipStatus;
  }
  const { chromium } = require(path.resolve(o.modules, 'playwright-core'));
  fs.mkdirSync(o.out, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dagminer-browser-'));
  const processes = [];
  let context;
  try {
    const pool = start('poolsim', o.dagminer,
      ['poolsim', '--port', '0', '--difficulty', '1e-8', '--job-interval', '4s', '--cache-dir', o.cache],
      /listening on (\S+)/, path.join(o.out, 'poolsim.log'));
    processes.push(pool.child);
    const poolUrl = await pool.found;
    const config = path.join(work, 'dagminer.yaml');
    fs.writeFileSync(config, [
      'pools:',
      "  - {name: main, url: '" + poolUrl + "', user: testwallet, password: x, worker: rig}",
      "  - {name: backup, url: 'stratum+tcp://127.0.0.1:" + await closedPort() + "', user: testwallet, password: x}",
      'devices: cpu',
      'cpu_threads: 1',
      "light_cache_dir: '" + o.cache + "'",
      "api: {listen: '127.0.0.1:0', token: " + token + '}',
      '',
    ].join('\n'));
    const daemon = start('dagminer run', o.dagminer, ['run', '--config', config],
      /api: listening on (http:\/\/127\.0\.0\.1:\d+)/, path.join(o.out, 'daemon.log'));
    processes.push(daemon.child);
    const base = await daemon.found;
    // A new connection for each request, closed after it: the test's own requests must not take
    // the browser's connection slots (api.max_connections_per_address).
    const request = (method, p) => new Promise((resolve, reject) => {
      const req = http.request(base + p, { method, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    const api = async (p) => JSON.parse((await request('GET', p)).body);

    await eventually('accepted shares and two history samples', async () => {
      const [s, h] = await Promise.all([api('/api/v1/summary'), api('/api/v1/history')]);
      return s.shares.accepted >= 2 && h.samples.length >= 2;
    }, 90000);

    // The API itself refuses a control request without the token.
    const bare = await request('POST', '/api/v1/pause');
    assert.equal(bare.status, 401, 'POST /api/v1/pause without a token');
    assert.equal((await api('/api/v1/summary')).paused, false);

    const userData = fs.mkdtempSync(path.join(work, 'chromium-'));
    context = await chromium.launchPersistentContext(userData, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    const problems = [];
    const expectedErrors = [];  // console errors a step provokes on purpose, matched exactly once each
    const watch = (page) => {
      page.on('pageerror', (e) => problems.push('page error: ' + e.message));
      page.on('console', (m) => {
        if (m.type() !== 'error' && m.type() !== 'warning') return;
        const text = m.text() + ' at ' + m.location().url;
        const i = expectedErrors.findIndex((re) => re.test(text));
        if (i >= 0) expectedErrors.splice(i, 1);
        else problems.push('console ' + m.type() + ': ' + text);
      });
    };

    const page = context.pages()[0] || await context.newPage();
    watch(page);
    const bodies = {};  // path -> the bodies the page received, in order
    page.on('response', async (r) => {
      const p = new URL(r.url()).pathname;
      if (!p.startsWith('/api/v1/') || r.request().method() !== 'GET') return;
      (bodies[p] ||= []).push(r.json());
    });
    const response = await page.goto(base + '/');
    const csp = response.headers()['content-security-policy'] || '';
    assert.match(csp, /script-src 'self'/, 'Content-Security-Policy');
    assert.doesNotMatch(csp, /unsafe-inline/, 'Content-Security-Policy');

    // One complete render and the API answers it was made from: retried when a refresh started
    // in between.
    const rendered = async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const n = Number(await page.locator('body').getAttribute('data-refreshes')) || 0;
        const summaries = bodies['/api/v1/summary'] || [];
        if (n === 0 || summaries.length !== n) {
          await sleep(200);
          continue;
        }
        const take = async (p) => bodies[p][n - 1];
        const view = {
          summary: await take('/api/v1/summary'), pools: (await take('/api/v1/pools')).pools,
          devices: (await take('/api/v1/devices')).devices, history: await take('/api/v1/history'),
          shares: (await take('/api/v1/shares')).shares,
        };
        const dom = await page.evaluate(() => {
          const text = (sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent);
          const rowCells = (tr) => [...tr.cells].map((c) => c.childNodes[0] ? c.childNodes[0].textContent : '');
          return {
            refreshes: Number(document.body.dataset.refreshes),
            version: text('#version')[0], hashrate: text('#total-hashrate')[0], totalShares: text('#total-shares')[0],
            poolsUp: text('#pools-up')[0], deviceCount: text('#device-count')[0], state: text('#state')[0],
            chartPoints: Number(document.getElementById('chart').dataset.points),
            chartLine: (document.querySelector('#chart path.line') || { getAttribute: () => '' }).getAttribute('d'),
            devices: Object.fromEntries([...document.querySelectorAll('#devices tbody tr[data-device]')]
              .map((tr) => [tr.dataset.device, rowCells(tr)])),
            pools: Object.fromEntries([...document.querySelectorAll('#pools tbody tr[data-pool]')]
              .map((tr) => [tr.dataset.pool, rowCells(tr)])),
            shares: [...document.querySelectorAll('#shares tbody tr')].map(rowCells),
          };
        });
        if (dom.refreshes === n && bodies['/api/v1/summary'].length === n) return { view, dom };
      }
      throw new Error('no render was stable long enough to compare');
    };

    await eventually('a render with chart points', async () => {
      const n = Number(await page.locator('body').getAttribute('data-refreshes')) || 0;
      return n > 0 && Number(await page.locator('#chart').getAttribute('data-points')) >= 2;
    }, 30000);
    const { view, dom } = await rendered();
    const s = view.summary;
    assert.equal(dom.version, s.version);
    assertSameRate(dom.hashrate, s.hashrate, 'total hashrate');
    assert.equal(dom.totalShares, ars(s.shares), 'total shares A/R/S');
    assert.equal(dom.poolsUp, s.pools.up + ' of ' + s.pools.total);
    assert.equal(dom.poolsUp, '1 of 2', 'main up, backup down');
    assert.equal(dom.deviceCount, String(s.devices));
    assert.equal(dom.state, 'mining');
    for (const d of view.devices) {
      const cells = dom.devices[d.id];
      assert.ok(cells, 'a row for device ' + d.id);
      assertSameRate(cells[1], d.hashrate, 'device ' + d.id);
      assert.equal(cells[2], ars(d.shares), 'device ' + d.id + ' shares');
      assert.equal(d.telemetry ?? null, null, 'the CPU backend has no telemetry');
      assert.deepEqual(cells.slice(3, 8), ['—', '—', '—', '—', '—'], 'device ' + d.id + ' without GPU readings');
    }
    assert.equal(Object.keys(dom.devices).length, view.devices.length);
    for (const p of view.pools) {
      const cells = dom.pools[p.name];
      assert.ok(cells, 'a row for pool ' + p.name);
      assert.equal(cells[1], p.up ? 'up' : 'down', 'pool ' + p.name + ' up');
      assert.equal(cells[3], p.latency_ms === null ? '—' : p.latency_ms + ' ms', 'pool ' + p.name + ' latency');
      assert.equal(cells[4], ars(p.shares), 'pool ' + p.name + ' shares');
    }
    assert.equal(dom.pools.backup[1], 'down');
    assert.equal(dom.shares.length, view.shares.length, 'one row per recent share');
    assert.ok(view.shares.length >= 2 && view.shares.length <= 50, view.shares.length + ' recent shares');
    view.shares.forEach((share, i) => {
      assert.equal(dom.shares[i][1], share.outcome.replace('_', ' '), 'share ' + i + ' outcome');
      assert.equal(dom.shares[i][2], share.pool);
      assert.equal(dom.shares[i][3], share.device);
    });
    const inSpan = view.history.samples.filter((x) => x.time >= view.history.now - 3600).length;
    assert.ok(dom.chartPoints >= 2, 'chart points: ' + dom.chartPoints);
    assert.equal(dom.chartPoints, inSpan, 'a chart point per history sample');
    assert.equal(dom.chartLine.split('L').length, inSpan, 'the chart line goes through every sample');
    console.log('page equals the API: ' + dom.hashrate + ', shares ' + dom.totalShares + ', ' + dom.chartPoints +
                ' chart points, ' + dom.shares.length + ' recent shares');

    // Without a token the controls are hidden.
    assert.equal(await page.locator('#control-buttons').isVisible(), false, 'controls hidden without a token');
    assert.equal(await page.locator('#pools td.control').first().isVisible(), false, 'pool controls hidden');
    await page.screenshot({ path: path.join(o.out, 'dashboard-desktop.png'), fullPage: true });

    // A wrong token: the daemon refuses, the page says so, nothing changes.
    await page.fill('#token', 'not-the-token-0000000000');
    await page.click('#token-form button');
    await page.locator('#control-buttons').waitFor({ state: 'visible' });
    expectedErrors.push(/status of 403 .*at .*\/api\/v1\/pause$/);
    await page.click('#pause');
    await page.locator('#control-result', { hasText: 'refused (HTTP 403)' }).waitFor();
    assert.equal((await api('/api/v1/summary')).paused, false, 'a wrong token does not pause');
    assert.ok(await page.evaluate(() => document.cookie === ''), 'no cookie');

    // The right token: pause and resume, disable and enable a pool.
    await page.click('#forget-token');
    await page.fill('#token', token);
    await page.click('#token-form button');
    await page.click('#pause');
    await page.locator('#state', { hasText: 'paused' }).waitFor();
    assert.equal((await api('/api/v1/summary')).paused, true, 'paused through the page');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('dagminer-token')), token);
    await page.click('#pools tr[data-pool="backup"] td.control button');
    await eventually('pool backup disabled', async () => (await api('/api/v1/pools')).pools.find((p) => p.name === 'backup').enabled === false, 10000);
    await page.locator('#pools tr[data-pool="backup"] td', { hasText: 'disabled' }).waitFor();
    await page.screenshot({ path: path.join(o.out, 'dashboard-desktop-controls.png'), fullPage: true });
    await page.click('#pools tr[data-pool="backup"] td.control button');
    await eventually('pool backup enabled', async () => (await api('/api/v1/pools')).pools.find((p) => p.name === 'backup').enabled, 10000);
    await page.click('#resume');
    await page.locator('#state', { hasText: 'mining' }).waitFor();
    assert.equal((await api('/api/v1/summary')).paused, false, 'resumed through the page');

    // A phone's width: everything fits, nothing scrolls sideways but the tables' own boxes.
    const phone = await context.newPage();
    watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(base + '/');
    await eventually('a render on the narrow page', async () => Number(await phone.locator('body').getAttribute('data-refreshes')) > 0, 15000);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, 'the narrow page is ' + width + ' px wide');
    await phone.screenshot({ path: path.join(o.out, 'dashboard-narrow.png'), fullPage: true });

    // GPU readings (the CPU backend has none): the daemon's devices answer with two GPUs added,
    // one at work with every reading, one paused by its protection with some readings missing.
    const gpuPage = await context.newPage();
    watch(gpuPage);
    await gpuPage.route('**/api/v1/devices', async (route) => {
      const real = await (await route.fetch()).json();
      const gpu = (id, extra) => ({
        id, kind: 'cuda', name: 'NVIDIA H200', memory_bytes: 150e9, compute_capability: '9.0', hashrate: 4.87e8,
        hashes: 1e12, candidates: 10, candidates_dropped: 0, replaced_job_hashes: 0, job_switch: null, fault: '',
        shares: { found: 12, accepted: 10, rejected: 1, stale: 1, timed_out: 0, pending: 0, hardware_errors: 0, accepted_difficulty: 1e10 },
        gpu_memory: { budget_bytes: 130e9, in_use_bytes: { dag: 4689231488, light_cache: 75e6, staging: 4096, results: 8192 },
                      resident_dags: [{ algorithm: 'etchash', epoch: 431 }], dag_builds: 1, last_dag_build_seconds: 0.2,
                      total_dag_build_seconds: 0.2, evictions: 0 },
        protection: { paused: false, reason: null }, ...extra,
      });
      const readings = { temperature_c: 64, memory_temperature_c: 72, power_w: 699.6, power_limit_w: 700, energy_j: 5e6,
                         sm_clock_mhz: 1755, memory_clock_mhz: 3201, fan_percent: null, utilization_percent: 100,
                         ecc_corrected: 0, ecc_uncorrected: 0, pcie_generation: 5, pcie_width: 16, throttle_reasons: ['sw_power_cap'],
                         mh_per_j: 0.696 };
      real.devices.push(gpu('gpu0', { telemetry: readings }));
      real.devices.push(gpu('gpu1', { hashrate: 0, telemetry: { ...readings, memory_temperature_c: null, power_limit_w: null, mh_per_j: null, temperature_c: 91 },
                                       protection: { paused: true, reason: 'temperature 91 °C at its limit' } }));
      await route.fulfill({ json: real });
    });
    await gpuPage.goto(base + '/');
    await gpuPage.locator('#devices tr[data-device="gpu1"]').waitFor();
    const gpuCells = await gpuPage.evaluate(() => Object.fromEntries([...document.querySelectorAll('#devices tbody tr[data-device]')]
      .map((tr) => [tr.dataset.device, [...tr.cells].map((c) => c.textContent)])));
    assert.deepEqual(gpuCells.gpu0, ['gpu0NVIDIA H200', '487 MH/s', '10/1/1', '4.4 GiBof 121.1 GiB', 'etchash 431builds 1',
                                     '64 °Cmemory 72 °C', '700 Wlimit 700 W', '0.696', 'ok']);
    assert.deepEqual(gpuCells.gpu1.slice(5), ['91 °C', '700 W', '—', 'protectedtemperature 91 °C at its limit']);
    assert.deepEqual(gpuCells.cpu.slice(3, 8), ['—', '—', '—', '—', '—'], 'the CPU next to GPUs');
    await gpuPage.screenshot({ path: path.join(o.out, 'dashboard-gpu.png'), fullPage: true });

    assert.deepEqual(expectedErrors, [], 'the provoked console errors appeared');
    assert.deepEqual(problems, [], 'console errors');

    // The daemon gone: the page says so instead of showing stale figures as current (the
    // failed requests' console errors are expected from here on).
    await stop(daemon.child);
    await phone.locator('#problem', { hasText: "cannot read the daemon's API" }).waitFor({ timeout: 15000 });
    assert.equal(await phone.locator('#state').textContent(), 'unreachable');
    await phone.screenshot({ path: path.join(o.out, 'dashboard-daemon-down.png'), fullPage: true });
    console.log('ok: screenshots in ' + o.out);
    return 0;
  } finally {
    if (context) await context.close();
    for (const child of processes.reverse()) await stop(child);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then((status) => process.exit(status), (e) => {
  console.error('FAILED: ' + (e.stack || e));
  process.exit(1);
});
