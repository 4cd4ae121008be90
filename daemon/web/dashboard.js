// The dashboard: reads the daemon's API every few seconds and renders it. Text from the daemon
// (pool names, reasons) only ever goes in through textContent, never as HTML.
'use strict';

const refreshMs = 5000;
const historySpan = 3600;  // seconds the chart covers; the daemon keeps as much
const tokenKey = 'dagminer-token';  // sessionStorage: gone with the tab, never sent as a cookie

const $ = (id) => document.getElementById(id);

function formatHashrate(h) {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s'];
  let i = 0;
  while (Math.abs(h) >= 1000 && i < units.length - 1) { h /= 1000; i++; }
  return (h === 0 ? '0' : h.toPrecision(3)) + ' ' + units[i];
}

function formatBytes(b) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return (i === 0 ? String(b) : b.toFixed(1)) + ' ' + units[i];
}

function formatDuration(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d > 0) return d + 'd ' + h + 'h';
  if (h > 0) return h + 'h ' + m + 'm';
  if (m > 0) return m + 'm ' + (s % 60) + 's';
  return s + 's';
}

function clock(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleTimeString([], { hour12: false });
}

const orDash = (v, f) => (v === null || v === undefined ? '—' : f(v));
const ars = (s) => s.accepted + '/' + s.rejected + '/' + s.stale;

// <td> with text, an optional class and an optional second line.
function cell(text, className, sub) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  if (sub) {
    const span = document.createElement('span');
    span.className = 'sub';
    span.textContent = sub;
    td.append(span);
  }
  return td;
}

function row(cells) {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

function emptyRow(columns, text) {
  const td = document.createElement('td');
  td.colSpan = columns;
  td.textContent = text;
  const tr = row([td]);
  tr.className = 'empty';
  return tr;
}

function fill(tableId, rows, columns, emptyText) {
  $(tableId).tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(columns, emptyText)]));
}

function renderSummary(s) {
  $('version').textContent = s.version;
  $('uptime').textContent = formatDuration(s.uptime_seconds);
  const state = $('state');
  const [label, tone] = !s.healthy ? ['unhealthy', 'bad'] : s.paused ? ['paused', 'warn']
    : s.mining ? ['mining', 'good'] : ['idle', 'warn'];
  state.textContent = label;
  state.className = 'badge ' + tone;
  $('total-hashrate').textContent = formatHashrate(s.hashrate);
  $('total-hashrate').dataset.value = s.hashrate;
  $('total-shares').textContent = ars(s.shares);
  $('total-shares-detail').textContent =
    'timed out ' + s.shares.timed_out + ', pending ' + s.shares.pending + ', hw errors ' + s.shares.hardware_errors;
  $('pools-up').textContent = s.pools.up + ' of ' + s.pools.total;
  $('pools-up').className = 'big' + (s.pools.up === 0 ? ' bad' : '');
  $('device-count').textContent = String(s.devices);
  document.body.classList.toggle('is-paused', s.paused);
}

function temperatureCell(t) {
  if (!t || t.temperature_c === null) return cell('—');
  return cell(t.temperature_c + ' °C', '', t.memory_temperature_c === null ? '' : 'memory ' + t.memory_temperature_c + ' °C');
}

function powerCell(t) {
  if (!t || t.power_w === null) return cell('—');
  return cell(t.power_w.toFixed(0) + ' W', '', t.power_limit_w === null ? '' : 'limit ' + t.power_limit_w.toFixed(0) + ' W');
}

function deviceState(d) {
  if (d.fault) return cell('fault', 'bad wrap', d.fault);
  if (d.protection && d.protection.paused) return cell('protected', 'warn wrap', d.protection.reason || '');
  return cell('ok', 'good');
}

function renderDevices(devices) {
  fill('devices', devices.map((d) => {
    const m = d.gpu_memory;
    const used = m ? Object.values(m.in_use_bytes).reduce((a, b) => a + b, 0) : 0;
    const dags = m ? m.resident_dags.map((k) => k.algorithm + ' ' + k.epoch).join(', ') || 'none' : '—';
    const t = d.telemetry;
    const tr = row([
      cell(d.id, '', d.name),
      cell(formatHashrate(d.hashrate)),
      cell(ars(d.shares), '', d.shares.hardware_errors ? 'hw errors ' + d.shares.hardware_errors : ''),
      m ? cell(formatBytes(used), '', 'of ' + formatBytes(m.budget_bytes)) : cell('—'),
      cell(dags, '', m ? 'builds ' + m.dag_builds : ''),
      temperatureCell(t),
      powerCell(t),
      cell(orDash(t ? t.mh_per_j : null, (e) => e.toFixed(3))),
      deviceState(d),
    ]);
    tr.dataset.device = d.id;
    return tr;
  }), 9, 'no device');
}

function renderPools(pools) {
  const credited = pools.reduce((sum, p) => sum + p.shares.accepted_difficulty, 0);
  fill('pools', pools.map((p) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = p.enabled ? 'Disable' : 'Enable';
    button.addEventListener('click', () =>
      control('/api/v1/pools/' + encodeURIComponent(p.name) + (p.enabled ? '/disable' : '/enable')));
    const controlCell = cell('', 'control');
    controlCell.append(button);
    const part = credited > 0 ? (100 * p.shares.accepted_difficulty / credited).toFixed(1) + ' %' : '—';
    const tr = row([
      cell(p.name, '', p.url),
      !p.enabled ? cell('disabled', 'warn') : cell(p.up ? 'up' : 'down', p.up ? 'good' : 'bad'),
      cell(p.mining ? 'yes' : 'no'),
      cell(orDash(p.latency_ms, (l) => l + ' ms')),
      cell(ars(p.shares), '', p.shares.timed_out ? 'timed out ' + p.shares.timed_out : ''),
      cell(part),
      controlCell,
    ]);
    tr.dataset.pool = p.name;
    return tr;
  }), 7, 'no pool configured');
}

function renderShares(shares) {
  fill('shares', shares.map((s) => row([
    cell(clock(s.time)),
    cell(s.outcome.replace('_', ' '), s.outcome === 'accepted' ? 'good' : 'bad'),
    cell(s.pool),
    cell(s.device),
    cell(s.difficulty.toPrecision(4), '', 'of ' + s.job_difficulty.toPrecision(4)),
    cell(s.latency_ms + ' ms'),
    cell(s.reason || '', 'wrap'),
  ])), 7, 'no share yet');
}

const svgNs = 'http://www.w3.org/2000/svg';
function svg(name, attributes) {
  const e = document.createElementNS(svgNs, name);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  return e;
}

// The last hour, or since the first sample when the daemon has run for less.
function renderChart(history) {
  const chart = $('chart');
  const width = 800, height = 200;
  const samples = history.samples.filter((s) => s.time >= history.now - historySpan);
  const start = samples.length ? Math.min(samples[0].time, history.now - 60) : history.now - historySpan;
  const span = history.now - start;
  const peak = samples.reduce((m, s) => Math.max(m, s.hashrate), 0);
  const top = peak > 0 ? peak * 1.1 : 1;
  const x = (t) => ((t - start) / span * width).toFixed(1);
  const y = (h) => (height - h / top * height).toFixed(1);
  const parts = [1, 2, 3].map((k) => svg('line', { class: 'grid', x1: 0, x2: width, y1: height * k / 4, y2: height * k / 4 }));
  if (samples.length > 0) {
    const points = samples.map((s) => x(s.time) + ',' + y(s.hashrate));
    const line = 'M' + points.join(' L');
    const first = samples[0].time, last = samples[samples.length - 1].time;
    parts.push(svg('path', { class: 'area', d: line + ' L' + x(last) + ',' + height + ' L' + x(first) + ',' + height + ' Z' }));
    parts.push(svg('path', { class: 'line', d: line }));
  }
  chart.replaceChildren(...parts);
  chart.dataset.points = samples.length;
  $('chart-start').textContent = samples.length ? clock(start) : 'collecting samples';
  $('chart-peak').textContent = samples.length ? 'peak ' + formatHashrate(peak) : '';
}

function showProblem(text) {
  $('problem').textContent = text;
  $('problem').hidden = !text;
}

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(path + ': HTTP ' + response.status);
  return response.json();
}

let refreshing = false;
let refreshes = 0;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    // One after the other, so a tab holds one connection: the daemon serves few per client
    // address (api.max_connections_per_address).
    const answers = [];
    for (const path of ['/api/v1/summary', '/api/v1/pools', '/api/v1/devices', '/api/v1/history', '/api/v1/shares'])
      answers.push(await getJson(path));
    const [summary, pools, devices, history, shares] = answers;
    renderSummary(summary);
    renderPools(pools.pools);
    renderDevices(devices.devices);
    renderChart(history);
    renderShares(shares.shares);
    const problems = [];
    if (summary.health_problem) problems.push(summary.health_problem);
    if (summary.pools.total > 0 && summary.pools.up === 0) problems.push('no pool is up');
    showProblem(problems.join('; '));
    $('refreshed').textContent = 'read at ' + new Date().toLocaleTimeString([], { hour12: false });
  } catch (e) {
    // The figures below are the last ones read: say so rather than show them as current.
    showProblem('cannot read the daemon\'s API: ' + e.message);
    $('state').textContent = 'unreachable';
    $('state').className = 'badge bad';
  } finally {
    refreshing = false;
    document.body.dataset.refreshes = ++refreshes;  // lets a test wait for a complete render
  }
}

function token() { return sessionStorage.getItem(tokenKey) || ''; }

function showControls() {
  const on = token() !== '';
  $('control-buttons').hidden = !on;
  $('token-form').hidden = on;
  document.body.classList.toggle('controls-on', on);
}

function say(text, tone) {
  $('control-result').textContent = text;
  $('control-result').className = tone;
}

async function control(path) {
  try {
    const response = await fetch(path, { method: 'POST', headers: { Authorization: 'Bearer ' + token() } });
    const body = await response.json().catch(() => ({}));
    if (response.ok) say(path.replace('/api/v1/', '') + ': done', 'good');
    else say('refused (HTTP ' + response.status + '): ' + (body.error || response.statusText), 'bad');
  } catch (e) {
    say('cannot reach the daemon: ' + e.message, 'bad');
  }
  refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token').value.trim();
    $('token').value = '';
    if (value) sessionStorage.setItem(tokenKey, value);
    showControls();
  });
  $('forget-token').addEventListener('click', () => {
    sessionStorage.removeItem(tokenKey);
    say('', 'muted');
    showControls();
  });
  $('pause').addEventListener('click', () => control('/api/v1/pause'));
  $('resume').addEventListener('click', () => control('/api/v1/resume'));
  showControls();
  refresh();
  setInterval(refresh, refreshMs);
});
