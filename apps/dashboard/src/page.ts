/**
 * The dashboard page: one HTML document with its script, no build step and no assets. Everything
 * from the catalog or the queues is inserted as text (never as HTML): messages are user data.
 */
export const PAGE = (base: string, actions: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tessera</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center}
header h1{font-size:18px;margin:0} header .mode{opacity:.8}
main{padding:16px 20px;display:grid;gap:16px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 16px}
h2{font-size:16px;margin:0 0 8px} h3{font-size:14px;margin:12px 0 6px}
table{border-collapse:collapse;width:100%} td,th{padding:3px 8px;border-bottom:1px solid #eef0f3;text-align:left;vertical-align:top}
th{font-weight:600;color:#555} .num{text-align:right;font-variant-numeric:tabular-nums}
.bar{width:140px;height:10px;background:#eef0f3;border-radius:5px;overflow:hidden;display:inline-block}
.bar i{display:block;height:100%;background:#2f9e44} .bar i.err{background:#e03131;float:left}
.err{color:#c92a2a} .muted{color:#777} pre{white-space:pre-wrap;margin:0;font-size:12px}
button{font:inherit;padding:2px 8px;cursor:pointer} #notice{min-height:1em}
</style></head>
<body>
<header><h1>Tessera</h1><span class="mode" data-testid="mode">${actions ? 'actions need the token' : 'read-only'}</span>
${actions ? '<label>token <input id="token" type="password" data-testid="token" size="24"></label>' : ''}
<span id="notice" data-testid="notice"></span></header>
<main>
<section><h2>Pipelines</h2><div id="pipelines" data-testid="pipelines">loading…</div></section>
<section><h2>Details</h2><div id="details" data-testid="details" class="muted">choose Errors or Versions on a table</div></section>
<section><h2>Lineage</h2><div id="lineage" data-testid="lineage"></div></section>
<section><h2>Model usage and limiter</h2><div id="models" data-testid="models"></div></section>
<section><h2>Sources and schedules</h2><div id="sources" data-testid="sources"></div></section>
<section><h2>Rate limits (fleet-wide buckets, live)</h2><div id="limiter" data-testid="limiter"></div></section>
<section><h2>Queues</h2><div id="queues" data-testid="queues"></div></section>
</main>
<script>
const BASE = ${JSON.stringify(base)};
const ACTIONS = ${actions};
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.onclick = v; else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}
const get = async (path) => { const r = await fetch(BASE + path); const b = await r.json(); if (!r.ok) throw new Error(b.error); return b; };
async function act(path, body) {
  const token = ACTIONS ? $('token').value : '';
  const r = await fetch(BASE + '/api/' + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify(body) });
  const b = await r.json();
  $('notice').textContent = r.ok ? path + ': ' + JSON.stringify(b) : 'refused: ' + b.error;
  refresh();
  return r.ok;
}
const fmtEta = (s) => s == null ? '—' : s === 0 ? 'done' : s < 90 ? Math.round(s) + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : (s / 3600).toFixed(1) + ' h';
function bar(c) {
  const total = c.done + c.pending + c.failed || 1;
  return el('span', { class: 'bar', title: c.done + ' done, ' + c.pending + ' pending, ' + c.failed + ' failed' },
    el('i', { class: 'err', style: 'width:' + (100 * c.failed / total) + '%' }), el('i', { style: 'width:' + (100 * c.done / total) + '%' }));
}
function tableCard(p, t) {
  const id = p.name + '.' + t.name;
  const head = el('h3', { 'data-testid': 'table-' + id }, id + ' (' + t.kind + ') — ' + t.rows + ' rows, version ' + t.version,
    t.base ? el('span', { class: 'muted' }, ' · view of ' + t.base + ' by ' + t.iterator) : '');
  const rows = t.columns.filter((c) => c.computed).map((c) => el('tr', { 'data-testid': 'column-' + id + '.' + c.name },
    el('td', {}, c.name), el('td', { class: 'muted' }, c.kind), el('td', {}, bar(c)),
    el('td', { class: 'num' }, c.done), el('td', { class: 'num' }, c.pending), el('td', { class: 'num err' }, c.failed),
    el('td', { class: 'num' }, c.rate == null ? '—' : c.rate.toFixed(1) + '/s'), el('td', { class: 'num' }, fmtEta(c.etaSeconds)),
    el('td', { class: 'muted' }, c.udfs.join(', ') + (c.queue ? ' on ' + c.queue : ''))));
  const table = el('table', {}, el('tr', {}, ...['column', 'type', 'progress', 'done', 'pending', 'failed', 'rate', 'ETA', 'computed by'].map((h) => el('th', {}, h))), ...rows);
  const buttons = el('div', {},
    el('button', { 'data-testid': 'errors-' + id, onclick: () => showErrors(p.name, t.name) }, 'Errors'), ' ',
    el('button', { 'data-testid': 'versions-' + id, onclick: () => showVersions(p.name, t.name) }, 'Versions'), ' ',
    el('button', { 'data-testid': 'retry-cells-' + id, onclick: () => act('cells/retry', { pipeline: p.name, table: t.name }) }, 'Retry failed cells'),
    t.exports.length ? el('span', { class: 'muted' }, ' · exports to ' + t.exports.map((e) => e.sink).join(', ')) : '');
  return el('div', {}, head, rows.length ? table : el('div', { class: 'muted' }, 'no computed columns'), buttons);
}
async function showErrors(pipeline, table) {
  const errors = await get('/api/errors?pipeline=' + encodeURIComponent(pipeline) + '&table=' + encodeURIComponent(table));
  $('details').replaceChildren(el('h3', {}, 'Failed cells of ' + pipeline + '.' + table + ' (' + errors.length + ')'),
    el('table', { 'data-testid': 'errors' }, el('tr', {}, el('th', {}, 'row'), el('th', {}, 'column'), el('th', {}, 'error')),
      ...errors.map((e) => el('tr', {}, el('td', {}, JSON.stringify(e.key)), el('td', {}, e.column), el('td', {}, el('pre', { class: 'err' }, e.errortype + ': ' + e.errormsg))))),
    el('button', { onclick: () => act('cells/retry', { pipeline, table }) }, 'Retry these cells'));
}
async function showVersions(pipeline, table) {
  const versions = await get('/api/versions?pipeline=' + encodeURIComponent(pipeline) + '&table=' + encodeURIComponent(table));
  const cols = versions.length ? Object.keys(versions[0]) : [];
  $('details').replaceChildren(el('h3', {}, 'Versions of ' + pipeline + '.' + table),
    el('table', { 'data-testid': 'versions' }, el('tr', {}, ...cols.map((c) => el('th', {}, c))),
      ...versions.map((v) => el('tr', {}, ...cols.map((c) => el('td', {}, typeof v[c] === 'object' ? JSON.stringify(v[c]) : v[c]))))),
    el('button', { 'data-testid': 'revert', onclick: () => act('versions/revert', { pipeline, table }).then((ok) => ok && showVersions(pipeline, table)) }, 'Revert the latest version'));
}
function render(pipelines) {
  $('pipelines').replaceChildren(...(pipelines.length ? pipelines.map((p) => el('div', { 'data-testid': 'pipeline-' + p.name }, el('h3', {}, p.name), ...p.tables.map((t) => tableCard(p, t))))
    : [el('div', { class: 'muted' }, 'no pipeline applied yet')]));
  const edges = pipelines.flatMap((p) => p.tables.flatMap((t) => [
    ...(t.base ? [[p.name + '.' + t.base, p.name + '.' + t.name + ' (view)']] : []),
    ...t.columns.flatMap((c) => c.inputs.map((i) => [p.name + '.' + i, p.name + '.' + t.name + '.' + c.name])),
    ...t.exports.map((e) => [p.name + '.' + t.name, 'export ' + e.sink])]));
  $('lineage').replaceChildren(el('table', {}, ...edges.map(([a, b]) => el('tr', { 'data-testid': 'edge' }, el('td', {}, a), el('td', {}, '→'), el('td', {}, b)))));
  const usage = pipelines.flatMap((p) => p.tables.flatMap((t) => t.columns.filter((c) => Object.keys(c.usage).length).map((c) => [p.name + '.' + t.name + '.' + c.name, c.queue, c.usage])));
  $('models').replaceChildren(usage.length ? el('table', {}, el('tr', {}, el('th', {}, 'column'), el('th', {}, 'queue'), el('th', {}, 'usage (calls, tokens, 429s, limiter waits and requeues, cache hits)')),
    ...usage.map(([c, q, u]) => el('tr', {}, el('td', {}, c), el('td', {}, q), el('td', {}, Object.entries(u).map(([k, v]) => k + ' ' + v).join(' · '))))) : el('div', { class: 'muted' }, 'no model calls yet'));
}
const fmtTime = (iso) => iso ? iso.slice(0, 19).replace('T', ' ') + 'Z' : '';
function renderSources(list) {
  const head = ['source', 'table', 'schedule', 'last run', 'inserted', 'updated', 'deleted', 'rejected', 'duration', 'next run', 'watermark', 'error'];
  $('sources').replaceChildren(list.length ? el('table', {}, el('tr', {}, ...head.map((h) => el('th', {}, h))),
    ...list.map((s) => { const r = s.lastRun; return el('tr', { 'data-testid': 'source-' + s.pipeline + '.' + s.name },
      el('td', { title: s.description }, s.pipeline + '.' + s.name), el('td', {}, s.table), el('td', {}, s.schedule + (s.paused ? ' (paused)' : '')),
      el('td', {}, r ? r.status + ' ' + fmtTime(r.startedAt) + ' (' + r.trigger + ')' : 'never'),
      ...['inserted', 'updated', 'deleted', 'rejected'].map((k) => el('td', { class: 'num' + (k === 'rejected' && r && r.rejected ? ' err' : '') }, r ? r[k] : '')),
      el('td', { class: 'num' }, r && r.durationMs != null ? (r.durationMs / 1000).toFixed(1) + ' s' : ''),
      el('td', {}, fmtTime(s.nextRun)), el('td', {}, s.watermark), el('td', {}, r && r.error ? el('pre', { class: 'err' }, r.error) : '')); }))
    : el('div', { class: 'muted' }, 'no sources'));
}
function renderLimiter(buckets) {
  const lim = (v) => v ? v : '—';
  const head = ['provider', 'model', 'key', 'rpm', 'tpm', 'max concurrency', 'learned rpm / tpm', 'requests left', 'tokens left', 'in flight', 'concurrency left', 'paused until'];
  $('limiter').replaceChildren(...(buckets.length ? [el('table', {}, el('tr', {}, ...head.map((h) => el('th', {}, h))),
    ...buckets.map((b) => el('tr', { 'data-testid': 'bucket-' + b.provider + ':' + b.model + ':' + (b.keyHash || '-') },
      el('td', {}, b.provider), el('td', {}, b.model), el('td', { class: 'muted' }, b.keyHash || ''),
      el('td', { class: 'num' }, lim(b.limits.rpm)), el('td', { class: 'num' }, lim(b.limits.tpm)), el('td', { class: 'num' }, lim(b.limits.maxConcurrency)),
      el('td', { class: 'num' }, lim(b.learned.rpm) + ' / ' + lim(b.learned.tpm)),
      el('td', { class: 'num' }, b.left.requests ?? '—'), el('td', { class: 'num' }, b.left.tokens ?? '—'),
      el('td', { class: 'num' }, b.inFlight ?? '—'), el('td', { class: 'num' }, b.left.concurrency ?? '—'),
      el('td', { class: b.pausedUntil ? 'err' : '' }, fmtTime(b.pausedUntil))))),
    el('div', { class: 'muted' }, 'left: what can still start within the coming minute, at the target share of the fleet of the tighter of the configured and learned limit')]
    : [el('div', { class: 'muted' }, 'no bucket in use (no rate-limited model call in the last 10 minutes)')]));
}
function renderQueues(qs) {
  const states = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'];
  $('queues').replaceChildren(el('table', {}, el('tr', {}, el('th', {}, 'queue'), ...states.map((s) => el('th', { class: 'num' }, s))),
    ...qs.map((q) => el('tr', { 'data-testid': 'queue-' + q.name }, el('td', {}, q.name), ...states.map((s) => el('td', { class: 'num' }, q.counts[s] || 0))))),
    ...qs.filter((q) => q.failed.length).map((q) => el('div', {}, el('h3', {}, 'Failed jobs in ' + q.name),
      el('table', {}, ...q.failed.map((j) => el('tr', { 'data-testid': 'failed-job' }, el('td', {}, j.id), el('td', {}, j.name), el('td', {}, 'attempts ' + j.attempts),
        el('td', {}, el('pre', { class: 'err' }, j.reason)), el('td', {}, el('button', { 'data-testid': 'retry-job-' + j.id, onclick: () => act('jobs/retry', { queue: q.name, id: j.id }) }, 'Retry'))))))));
}
async function refresh() {
  try {
    render(await get('/api/pipelines')); renderSources(await get('/api/sources'));
    renderLimiter(await get('/api/limiter')); renderQueues(await get('/api/queues'));
  }
  catch (e) { $('notice').textContent = 'cannot load: ' + e.message; }
}
refresh();
setInterval(refresh, 2000);
</script></body></html>`;
