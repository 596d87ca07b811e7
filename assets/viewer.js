// agentsim trace viewer: draws the records embedded in #trace-data (one JSON
// array, see src/observe/view.rs) as a space-time diagram on a canvas.
// Trace text is only ever shown with textContent, never parsed as HTML.
// Exposes window.agentsimViewer (counts, locate/select) for the browser tests.
(function () {
  'use strict';
  const T_START = performance.now();
  const RECORDS = JSON.parse(document.getElementById('trace-data').textContent);
  // Arrow colours, one per message kind (none of the marks' colours); as in src/plot/spacetime.rs.
  const PALETTE = ['#0072B2', '#56B4E9', '#7570B3', '#8C564B', '#3C3C3C', '#BCBD22', '#1F3C78', '#A6761D'];
  const DROP = '#D55E00', VIOLATION = '#C80000', NOTE = '#009E73', LEADER = '#CC79A7', DOWN = 'rgba(110,110,110,0.35)', PARTITION = 'rgba(230,159,0,0.14)';
  const TOP = 44, LEFT = 78, RIGHT = 12, BOTTOM = 8, ROW = 18;

  // ---- the model: one item per event record -------------------------------
  let runStart = null, runEnd = null;
  const items = [];          // {i, type, t, t0, a, b, kind, label, leads}
  const byId = new Map();    // message id -> {send, end, dup} (item indices)
  const kinds = [], kindIndex = new Map();
  const types = [], typeSeen = new Set();
  let maxNode = -1;
  function kindOf(k) {
    if (k === undefined || k === null) return -1;
    k = String(k);
    if (!kindIndex.has(k)) { kindIndex.set(k, kinds.length); kinds.push(k); }
    return kindIndex.get(k);
  }
  function msg(id) {
    let m = byId.get(id);
    if (!m) { m = { send: -1, end: -1, dup: -1 }; byId.set(id, m); }
    return m;
  }
  function num(v, d) { return typeof v === 'number' && isFinite(v) ? v : d; }
  for (let i = 0; i < RECORDS.length; i++) {
    const r = RECORDS[i];
    const type = r && typeof r.type === 'string' ? r.type : '?';
    const d = (r && r.data && typeof r.data === 'object') ? r.data : {};
    if (type === 'run_start') { runStart = d; continue; }
    if (type === 'run_end') { runEnd = d; continue; }
    if (!typeSeen.has(type)) { typeSeen.add(type); types.push(type); }
    const t = num(d.t_ns, 0);
    const it = { i: i, type: type, t: t, t0: t, a: -1, b: -1, kind: -1, label: '', leads: false };
    const id = num(d.id, -1);
    switch (type) {
      case 'send':
      case 'deliver':
      case 'drop':
      case 'duplicate':
        it.a = num(d.from, -1); it.b = num(d.to, -1); it.kind = kindOf(d.kind);
        if (type === 'send') msg(id).send = items.length;
        else if (type === 'duplicate') { msg(id).dup = items.length; it.of = num(d.of, -1); }
        else msg(id).end = items.length;
        break;
      case 'note':
        it.a = num(d.node, -1);
        it.leads = d.leads === true;
        it.label = typeof d.tag === 'string' ? d.tag : JSON.stringify(d.note === undefined ? null : d.note).slice(0, 40);
        if (d.decided && typeof d.decided === 'object') it.label = 'decided ' + JSON.stringify(d.decided.value === undefined ? null : d.decided.value).slice(0, 30);
        break;
      case 'net_change': it.label = String(d.change); break;
      case 'violation': it.label = String(d.property) + ': ' + String(d.detail); break;
      case 'timer': it.a = num(d.node, -1); it.label = String(d.timer); break;
      default:
        it.a = num(d.node, -1);
        it.label = type + (d.cause !== undefined ? ' (' + String(d.cause) + ')' : '');
    }
    maxNode = Math.max(maxNode, it.a, it.b);
    items.push(it);
  }
  // Arrows start where their message was sent (a copy: where its original was).
  let maxSpan = 0;
  for (const m of byId.values()) {
    if (m.end < 0) continue;
    const e = items[m.end];
    let s = m.send >= 0 ? items[m.send] : null;
    if (!s && m.dup >= 0) {
      const orig = byId.get(items[m.dup].of);
      if (orig && orig.send >= 0) s = items[orig.send];
      e.copy = true;
      if (e.kind < 0 && s) e.kind = s.kind;
    }
    if (s) { e.t0 = s.t; e.sendItem = m.send >= 0 ? m.send : -1; maxSpan = Math.max(maxSpan, e.t - e.t0); }
  }
  for (const m of byId.values()) {
    if (m.dup >= 0 && items[m.dup].kind < 0) {
      const orig = byId.get(items[m.dup].of);
      if (orig && orig.send >= 0) items[m.dup].kind = items[orig.send].kind;
    }
  }
  const nodes = Math.max(num(runStart && runStart.scenario && runStart.scenario.nodes, 0), maxNode + 1, 1);
  const tMin = items.length ? items[0].t : 0;
  const tMax = items.length ? Math.max(items[items.length - 1].t, tMin + 1) : 1;
  // Crashed spans and network changes, for the background.
  const downSpans = [], netSpans = [];
  {
    const open = new Map();
    let net = null;
    for (const it of items) {
      if (it.type === 'crash') open.set(it.a, it.t);
      else if (it.type === 'recover' && open.has(it.a)) { downSpans.push([it.a, open.get(it.a), it.t]); open.delete(it.a); }
      else if (it.type === 'net_change') {
        if (net) { net[1] = it.t; netSpans.push(net); net = null; }
        if (it.label !== 'heal') net = [it.t, tMax, it.label];
      }
    }
    for (const [n, t] of open) downSpans.push([n, t, tMax]);
    if (net) netSpans.push(net);
  }

  // ---- filters -------------------------------------------------------------
  const nodeOn = new Array(nodes).fill(true), kindOn = kinds.map(() => true), typeOn = new Map(types.map((t) => [t, true]));
  let shownNodes = [], colOf = [];
  function computeColumns() {
    shownNodes = []; colOf = new Array(nodes).fill(-1);
    for (let n = 0; n < nodes; n++) if (nodeOn[n]) { colOf[n] = shownNodes.length; shownNodes.push(n); }
  }
  computeColumns();
  function passes(it) {
    if (!typeOn.get(it.type)) return false;
    if (it.kind >= 0 && !kindOn[it.kind]) return false;
    if (it.a >= 0 && (it.a >= nodes || !nodeOn[it.a])) return false;
    if (it.b >= 0 && (it.b >= nodes || !nodeOn[it.b])) return false;
    return true;
  }
  let shownCount = 0;
  function countShown() { shownCount = 0; for (const it of items) if (passes(it)) shownCount++; }
  countShown();

  // ---- view ----------------------------------------------------------------
  const canvas = document.getElementById('canvas');
  const ctx = canvas.getContext('2d');
  let W = 0, H = 0, dpr = 1;
  let tTop = 0, nsPerPx = 1, xZoom = 1, xOff = 0;
  let selected = -1, chain = [], matches = null;
  let painted = [];
  function plotH() { return Math.max(10, H - TOP - BOTTOM); }
  function colW() { return (W - LEFT - RIGHT) / Math.max(1, shownNodes.length) * xZoom; }
  function xOfNode(n) { return LEFT + xOff + (colOf[n] + 0.5) * colW(); }
  function yOf(t) { return TOP + (t - tTop) / nsPerPx; }
  function tOf(y) { return tTop + (y - TOP) * nsPerPx; }
  function fit() {
    const span = tMax - tMin;
    nsPerPx = span * 1.04 / plotH();
    tTop = tMin - span * 0.02;
    xZoom = 1; xOff = 0;
  }
  function firstAt(t) { // first item with .t >= t
    let lo = 0, hi = items.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (items[mid].t < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function fmtT(ns) { return (ns / 1e6).toFixed(3) + ' ms'; }
  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
    for (const k of [1, 2, 5, 10]) if (k * p >= raw) return k * p;
    return 10 * p;
  }
  function kindColor(k) { return k < 0 ? '#777' : PALETTE[k % PALETTE.length]; }
  // Where an item is drawn: [x0, y0, x1, y1] (a point when x0 == x1 and y0 == y1).
  function geom(it) {
    const y = yOf(it.t);
    switch (it.type) {
      case 'deliver': return [xOfNode(it.a), yOf(it.t0), xOfNode(it.b), y];
      case 'drop': {
        const x0 = xOfNode(it.a), y0 = yOf(it.t0);
        if (it.t > it.t0 || it.a === it.b) return [x0, y0, xOfNode(it.b), y];
        return [x0, y0, x0 + (xOfNode(it.b) - x0) * 0.3, y0 + 6];
      }
      case 'violation': return [LEFT - 9, y, LEFT - 9, y];
      case 'net_change': return [LEFT - 20, y, LEFT - 20, y];
      default: return it.a >= 0 ? [xOfNode(it.a), y, xOfNode(it.a), y] : [LEFT - 30, y, LEFT - 30, y];
    }
  }

  let drawQueued = false;
  function redraw() { if (!drawQueued) { drawQueued = true; requestAnimationFrame(() => { drawQueued = false; draw(); }); } }
  function draw() {
    const t0 = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    const tA = tOf(TOP - 10), tB = tOf(H);
    ctx.save();
    ctx.beginPath(); ctx.rect(0, TOP - 6, W, H - TOP + 6); ctx.clip();
    // Background: partitions, crashed spans.
    ctx.fillStyle = PARTITION;
    for (const [a, b] of netSpans) if (b >= tA && a <= tB) ctx.fillRect(LEFT, yOf(a), W - LEFT - RIGHT, Math.max(2, yOf(b) - yOf(a)));
    if (typeOn.get('crash') !== false) {
      ctx.fillStyle = DOWN;
      const cw = Math.min(16, colW() * 0.3);
      for (const [n, a, b] of downSpans) if (n < nodes && nodeOn[n] && b >= tA && a <= tB) ctx.fillRect(xOfNode(n) - cw / 2, yOf(a), cw, Math.max(2, yOf(b) - yOf(a)));
    }
    // Node lines.
    ctx.strokeStyle = '#444'; ctx.lineWidth = 1; ctx.beginPath();
    for (const n of shownNodes) { const x = Math.round(xOfNode(n)) + 0.5; ctx.moveTo(x, TOP); ctx.lineTo(x, H); }
    ctx.stroke();
    // Items in view (virtualized: a binary search on time).
    painted = [];
    const lo = firstAt(tA), hi = firstAt(tB + maxSpan + 1);
    for (let k = lo; k < hi; k++) {
      const it = items[k];
      if (it.t > tB && !(it.type === 'deliver' || it.type === 'drop')) continue;
      if ((it.type === 'deliver' || it.type === 'drop') && it.t0 > tB) continue;
      if (passes(it)) painted.push(k);
    }
    // Everything before the window start that reaches into it (long arrows).
    if (maxSpan > 0) {
      for (let k = firstAt(tA - maxSpan); k < lo; k++) {
        const it = items[k];
        if ((it.type === 'deliver' || it.type === 'drop') && it.t >= tA && passes(it)) painted.push(k);
      }
    }
    const detail = painted.length <= 400;
    // Arrows by kind colour, one path each.
    const byColor = new Map();
    for (const k of painted) {
      const it = items[k];
      if (it.type !== 'deliver') continue;
      const c = kindColor(it.kind);
      if (!byColor.has(c)) byColor.set(c, []);
      byColor.get(c).push(it);
    }
    // Paths of at most CHUNK segments: one huge path is slow to rasterize.
    const heads = painted.length <= 20000;
    for (const [c, list] of byColor) {
      ctx.strokeStyle = c; ctx.fillStyle = c; ctx.lineWidth = 1;
      chunked(list, (it) => { const g = geom(it); ctx.moveTo(g[0], g[1]); ctx.lineTo(g[2], g[3]); }, () => ctx.stroke());
      if (heads) chunked(list, (it) => arrowHead(geom(it)), () => ctx.fill());
    }
    // Drops: dashed stubs (when few) and crosses.
    const drops = painted.filter((k) => items[k].type === 'drop').map((k) => items[k]);
    ctx.strokeStyle = DROP; ctx.lineWidth = 1;
    if (heads) {
      ctx.setLineDash([4, 3]);
      chunked(drops, (it) => { const g = geom(it); ctx.moveTo(g[0], g[1]); ctx.lineTo(g[2], g[3]); }, () => ctx.stroke());
      ctx.setLineDash([]);
    }
    ctx.lineWidth = 2;
    chunked(drops, (it) => { const g = geom(it); cross(g[2], g[3], 4); }, () => ctx.stroke());
    // Point items.
    for (const k of painted) {
      const it = items[k];
      const g = geom(it);
      switch (it.type) {
        case 'deliver': case 'drop': break;
        case 'send': if (heads) { ctx.fillStyle = kindColor(it.kind); ctx.fillRect(g[0] - 1.5, g[1] - 1.5, 3, 3); } break;
        case 'timer': ctx.fillStyle = '#999'; ctx.fillRect(g[0] - 4, g[1] - 0.5, 8, 1); break;
        case 'duplicate': ctx.fillStyle = '#7F3C8D'; diamond(g[0], g[1], 4); break;
        case 'note': ctx.fillStyle = it.leads ? LEADER : NOTE; dot(g[0], g[1], it.leads ? 6 : 3.5); break;
        case 'crash': ctx.fillStyle = '#222'; ctx.fillRect(g[0] - 5, g[1] - 2, 10, 4); break;
        case 'recover': ctx.fillStyle = NOTE; ctx.fillRect(g[0] - 5, g[1] - 2, 10, 4); break;
        case 'net_change':
          ctx.strokeStyle = '#C08000'; ctx.lineWidth = 1; ctx.setLineDash([6, 4]); ctx.beginPath();
          ctx.moveTo(LEFT - 24, g[1]); ctx.lineTo(W - RIGHT, g[1]); ctx.stroke(); ctx.setLineDash([]);
          ctx.fillStyle = '#C08000'; diamond(g[0], g[1], 5);
          break;
        case 'violation':
          ctx.strokeStyle = VIOLATION; ctx.lineWidth = 2.5; ctx.beginPath();
          ctx.moveTo(LEFT, g[1]); ctx.lineTo(W - RIGHT, g[1]); ctx.stroke();
          ctx.fillStyle = VIOLATION; ctx.beginPath();
          ctx.moveTo(LEFT - 16, g[1] - 7); ctx.lineTo(LEFT - 2, g[1]); ctx.lineTo(LEFT - 16, g[1] + 7); ctx.closePath(); ctx.fill();
          break;
        default: ctx.fillStyle = '#666'; ctx.fillRect(g[0] - 3, g[1] - 3, 6, 6);
      }
    }
    // Labels when few items are in view.
    ctx.font = '11px "DejaVu Sans", sans-serif'; ctx.textBaseline = 'middle';
    for (const k of painted) {
      const it = items[k];
      const g = geom(it);
      if (it.type === 'violation') { ctx.fillStyle = VIOLATION; ctx.textAlign = 'left'; ctx.fillText('violation: ' + it.label.slice(0, 80), LEFT + 4, g[1] - 9); continue; }
      if (!detail) continue;
      if (it.type === 'deliver') { ctx.fillStyle = kindColor(it.kind); ctx.textAlign = 'center'; ctx.fillText(kinds[it.kind] || '?', (g[0] + g[2]) / 2, (g[1] + g[3]) / 2 - 6); }
      else if (it.type === 'drop') { ctx.fillStyle = DROP; ctx.textAlign = g[2] >= g[0] ? 'left' : 'right'; ctx.fillText((kinds[it.kind] || '?') + ' ✕ ' + String(RECORDS[it.i].data.reason), g[2] + (g[2] >= g[0] ? 6 : -6), g[3]); }
      else if (it.type === 'note' || it.type === 'crash' || it.type === 'recover') { ctx.fillStyle = it.type === 'note' ? (it.leads ? LEADER : NOTE) : '#222'; ctx.textAlign = 'left'; ctx.fillText(it.label.slice(0, 40), g[0] + 8, g[1] + 8); }
      else if (it.type === 'net_change') { ctx.fillStyle = '#C08000'; ctx.textAlign = 'right'; ctx.fillText(it.label.slice(0, 60), W - RIGHT - 2, g[1] - 7); }
    }
    // Search matches and the selection.
    if (matches && matches.length <= 5000) {
      ctx.strokeStyle = '#FF8C00'; ctx.lineWidth = 2; ctx.beginPath();
      for (const k of matches) { const g = geom(items[k]); if (g[3] >= TOP - 10 && g[1] <= H) { ctx.moveTo(g[2] + 7, g[3]); ctx.arc(g[2], g[3], 7, 0, 2 * Math.PI); } }
      ctx.stroke();
    }
    for (const k of chain) {
      const g = geom(items[k]);
      ctx.strokeStyle = k === selected ? '#000' : '#555'; ctx.lineWidth = k === selected ? 3 : 2;
      ctx.beginPath();
      if (g[0] !== g[2] || g[1] !== g[3]) { ctx.moveTo(g[0], g[1]); ctx.lineTo(g[2], g[3]); }
      ctx.moveTo(g[2] + 9, g[3]); ctx.arc(g[2], g[3], 9, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.restore();
    // Headers and the time axis.
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, TOP - 6); ctx.fillRect(0, TOP - 6, LEFT - 20, H);
    ctx.fillStyle = '#111'; ctx.font = '12px "DejaVu Sans", sans-serif'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    const every = Math.max(1, Math.ceil(44 / Math.max(1, colW())));
    shownNodes.forEach((n, c) => { if (c % every === 0) { const x = xOfNode(n); if (x > LEFT - 10 && x < W) ctx.fillText('node ' + n, x, TOP - 18); } });
    const stepMs = niceStep(60 * nsPerPx / 1e6);
    ctx.textAlign = 'right'; ctx.strokeStyle = '#444'; ctx.lineWidth = 1; ctx.beginPath();
    for (let ms = Math.ceil(tOf(TOP) / 1e6 / stepMs) * stepMs; ms * 1e6 <= tOf(H); ms += stepMs) {
      const y = yOf(ms * 1e6);
      ctx.moveTo(LEFT - 26, y); ctx.lineTo(LEFT - 20, y);
      ctx.fillText(stepMs >= 1000 ? +(ms / 1000).toPrecision(12) + ' s' : +ms.toPrecision(12) + ' ms', LEFT - 28, y);
    }
    ctx.stroke();
    api.painted = painted.length;
    api.lastDrawMs = performance.now() - t0;
    canvas.dataset.painted = String(painted.length);
  }
  const CHUNK = 512;
  function chunked(list, add, paint) {
    for (let i = 0; i < list.length; i += CHUNK) {
      ctx.beginPath();
      for (let j = i; j < Math.min(list.length, i + CHUNK); j++) add(list[j]);
      paint();
    }
  }
  function dot(x, y, r) { ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fill(); }
  function diamond(x, y, r) { ctx.beginPath(); ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath(); ctx.fill(); }
  function cross(x, y, r) { ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x - r, y + r); ctx.lineTo(x + r, y - r); }
  function arrowHead(g) {
    const dx = g[2] - g[0], dy = g[3] - g[1], len = Math.hypot(dx, dy);
    if (len < 1) return;
    const ux = dx / len, uy = dy / len;
    ctx.moveTo(g[2], g[3]);
    ctx.lineTo(g[2] - ux * 8 - uy * 3.5, g[3] - uy * 8 + ux * 3.5);
    ctx.lineTo(g[2] - ux * 8 + uy * 3.5, g[3] - uy * 8 - ux * 3.5);
    ctx.closePath();
  }

  // ---- hit testing, selection ------------------------------------------------
  function segDist(px, py, g) {
    const dx = g[2] - g[0], dy = g[3] - g[1], l2 = dx * dx + dy * dy;
    let u = l2 > 0 ? ((px - g[0]) * dx + (py - g[1]) * dy) / l2 : 0;
    u = Math.max(0, Math.min(1, u));
    return Math.hypot(px - (g[0] + u * dx), py - (g[1] + u * dy));
  }
  function hit(px, py) {
    let best = -1, bestD = 7;
    for (const k of painted) {
      const it = items[k], g = geom(it);
      let d = it.type === 'deliver' || it.type === 'drop' ? Math.min(segDist(px, py, g) + 1.5, Math.hypot(px - g[2], py - g[3])) : Math.hypot(px - g[2], py - g[3]);
      if (it.type === 'violation') d -= 3;
      if (d < bestD) { bestD = d; best = k; }
    }
    return best;
  }
  const recordEl = document.getElementById('record'), messageEl = document.getElementById('message');
  function link(text, k) {
    const a = document.createElement('a');
    a.textContent = text;
    a.addEventListener('click', () => { select(k); reveal(k); });
    return a;
  }
  function select(k) {
    selected = k; chain = [];
    messageEl.replaceChildren();
    if (k < 0) { recordEl.textContent = 'click an event'; redraw(); return; }
    const it = items[k], r = RECORDS[it.i];
    recordEl.textContent = 'record ' + (it.i + 1) + '\n' + JSON.stringify(r, null, 2);
    const d = r.data || {};
    if (it.type === 'send' || it.type === 'deliver' || it.type === 'drop' || it.type === 'duplicate') {
      const m = byId.get(num(d.id, -1)) || { send: -1, end: -1, dup: -1 };
      const parts = [];
      messageEl.append('message ' + num(d.id, -1) + ' (' + (kinds[it.kind] || '?') + ', node ' + it.a + ' → node ' + it.b + '): ');
      if (m.dup >= 0) {
        const o = byId.get(items[m.dup].of);
        if (o && o.send >= 0) parts.push(['sent (original) ' + fmtT(items[o.send].t), o.send]);
        parts.push(['copied ' + fmtT(items[m.dup].t), m.dup]);
      }
      if (m.send >= 0) parts.push(['sent ' + fmtT(items[m.send].t), m.send]);
      if (m.end >= 0) parts.push([(items[m.end].type === 'drop' ? 'dropped (' + String(RECORDS[items[m.end].i].data.reason) + ') ' : 'delivered ') + fmtT(items[m.end].t), m.end]);
      if (m.end < 0) parts.push(['not delivered in this trace', -1]);
      parts.forEach(([text, j], n) => {
        if (n > 0) messageEl.append(' → ');
        if (j >= 0) { messageEl.append(link(text, j)); chain.push(j); } else messageEl.append(text);
      });
    }
    if (!chain.includes(k)) chain.push(k);
    document.querySelectorAll('#list .row.sel').forEach((e) => e.classList.remove('sel'));
    api.selectedRecord = it.i;
    redraw();
  }
  function reveal(k) {
    const it = items[k];
    const y = yOf(it.t);
    if (y < TOP + 20 || y > H - 20) tTop = it.t - plotH() / 2 * nsPerPx;
    if (it.a >= 0 && nodeOn[it.a]) { const x = xOfNode(it.a); if (x < LEFT || x > W - RIGHT) xOff -= x - (LEFT + W - RIGHT) / 2; }
    redraw();
  }

  // ---- the list: notes timeline or search results (virtualized) ----------------
  const listEl = document.getElementById('list'), listTitle = document.getElementById('list-title');
  const TIMELINE = new Set(['note', 'violation', 'crash', 'recover', 'net_change', 'byzantine']);
  let listItems = [];
  const spacer = document.createElement('div');
  function rebuildList() {
    if (matches) { listItems = matches.filter((k) => passes(items[k])); listTitle.textContent = 'search: ' + listItems.length + ' matching records'; }
    else { listItems = []; for (let k = 0; k < items.length; k++) if (TIMELINE.has(items[k].type) && passes(items[k])) listItems.push(k); listTitle.textContent = 'notes timeline (' + listItems.length + ')'; }
    spacer.style.height = listItems.length * ROW + 'px';
    renderList();
  }
  function rowText(it) {
    const r = RECORDS[it.i].data || {};
    let s = fmtT(it.t) + '  ';
    if (it.a >= 0) s += 'n' + it.a + (it.b >= 0 ? '→n' + it.b : '') + '  ';
    if (it.kind >= 0) s += kinds[it.kind] + ' ';
    s += it.type === 'note' ? it.label : it.type === 'violation' ? 'VIOLATION ' + it.label : it.type === 'drop' ? 'drop (' + String(r.reason) + ')' : it.type === 'net_change' ? 'network: ' + it.label : it.type;
    return s;
  }
  function renderList() {
    const first = Math.max(0, Math.floor(listEl.scrollTop / ROW) - 5);
    const last = Math.min(listItems.length, first + Math.ceil(listEl.clientHeight / ROW) + 10);
    const rows = [spacer];
    for (let n = first; n < last; n++) {
      const k = listItems[n], it = items[k];
      const row = document.createElement('div');
      row.className = 'row' + (it.type === 'violation' ? ' violation' : '') + (k === selected ? ' sel' : '');
      row.style.top = n * ROW + 'px';
      row.textContent = rowText(it);
      row.addEventListener('click', () => { select(k); reveal(k); row.classList.add('sel'); });
      rows.push(row);
    }
    listEl.replaceChildren(...rows);
  }
  listEl.addEventListener('scroll', renderList);

  // ---- search ----------------------------------------------------------------
  let haystack = null, searchTimer = 0;
  const searchEl = document.getElementById('search');
  searchEl.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      const q = searchEl.value.trim().toLowerCase();
      if (!q) { matches = null; }
      else {
        if (!haystack) haystack = items.map((it) => JSON.stringify(RECORDS[it.i]).toLowerCase());
        matches = [];
        for (let k = 0; k < items.length; k++) if (haystack[k].includes(q)) matches.push(k);
      }
      listEl.scrollTop = 0;
      rebuildList(); redraw();
      api.matches = matches ? matches.length : 0;
    }, 120);
  });

  // ---- filters UI --------------------------------------------------------------
  function checks(container, names, state, swatch, onChange) {
    const all = document.createElement('label');
    all.className = 'all';
    const allBox = document.createElement('input');
    allBox.type = 'checkbox'; allBox.checked = true;
    all.append(allBox, ' all');
    container.append(all);
    const boxes = names.map((name, n) => {
      const l = document.createElement('label');
      const b = document.createElement('input');
      b.type = 'checkbox'; b.checked = true; b.dataset.value = name;
      b.addEventListener('change', () => { state(n, b.checked); onChange(); });
      l.append(b);
      if (swatch) { const s = document.createElement('span'); s.textContent = '■ '; s.style.color = swatch(n); l.append(s); }
      l.append(' ' + name);
      container.append(l);
      return b;
    });
    allBox.addEventListener('change', () => { boxes.forEach((b, n) => { b.checked = allBox.checked; state(n, allBox.checked); }); onChange(); });
  }
  function filtersChanged() { computeColumns(); countShown(); updateStats(); rebuildList(); redraw(); }
  checks(document.getElementById('filter-nodes'), Array.from({ length: nodes }, (_, n) => 'node ' + n), (n, on) => { nodeOn[n] = on; }, null, filtersChanged);
  checks(document.getElementById('filter-kinds'), kinds, (n, on) => { kindOn[n] = on; }, kindColor, filtersChanged);
  checks(document.getElementById('filter-types'), types, (n, on) => { typeOn.set(types[n], on); }, null, filtersChanged);

  // ---- header ------------------------------------------------------------------
  const statsEl = document.getElementById('stats');
  function updateStats() {
    statsEl.textContent = items.length + ' events, ' + shownCount + ' shown' + (runEnd ? ' · stop: ' + String(runEnd.stop) + ' · ' + (Array.isArray(runEnd.violations) ? runEnd.violations.length : 0) + ' violation(s)' : '');
    canvas.dataset.shown = String(shownCount);
    api.shown = shownCount;
  }
  if (runStart) {
    document.getElementById('title').textContent = 'agentsim: ' + String(runStart.protocol) + ', seed ' + String(runStart.seed) + ', ' + nodes + ' nodes';
    document.title = 'agentsim ' + String(runStart.protocol) + ' seed ' + String(runStart.seed);
  }
  const firstViolation = items.findIndex((it) => it.type === 'violation');
  const fvButton = document.getElementById('first-violation');
  if (firstViolation < 0) { fvButton.disabled = true; fvButton.textContent = 'no violation'; }
  fvButton.addEventListener('click', () => {
    if (firstViolation < 0) return;
    if (!typeOn.get('violation')) { typeOn.set('violation', true); filtersChanged(); }
    nsPerPx = Math.min(nsPerPx, (tMax - tMin) / 20 / plotH());
    // The violation low in the view: what led to it shows above.
    tTop = items[firstViolation].t - plotH() * 0.8 * nsPerPx;
    select(firstViolation);
  });
  document.getElementById('fit').addEventListener('click', () => { fit(); redraw(); });

  // ---- zoom, pan, click ------------------------------------------------------------
  const tooltip = document.getElementById('tooltip');
  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const rect = canvas.getBoundingClientRect(), px = e.clientX - rect.left, py = e.clientY - rect.top;
    const f = Math.exp(Math.max(-300, Math.min(300, e.deltaY)) * 0.0015);
    if (e.shiftKey) {
      const before = (px - LEFT - xOff) / xZoom;
      xZoom = Math.max(0.2, Math.min(200, xZoom / f));
      xOff = px - LEFT - before * xZoom;
    } else {
      const t = tOf(py);
      nsPerPx = Math.max(1e-3, Math.min((tMax - tMin + 1) * 10 / plotH(), nsPerPx * f));
      tTop = t - (py - TOP) * nsPerPx;
    }
    redraw();
  }, { passive: false });
  let drag = null;
  canvas.addEventListener('mousedown', (e) => { drag = { x: e.clientX, y: e.clientY, tTop: tTop, xOff: xOff, moved: false }; });
  window.addEventListener('mousemove', (e) => {
    const rect = canvas.getBoundingClientRect();
    if (drag) {
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) { tTop = drag.tTop - dy * nsPerPx; xOff = drag.xOff + dx; tooltip.hidden = true; redraw(); }
      return;
    }
    if (e.target !== canvas) { tooltip.hidden = true; return; }
    const px = e.clientX - rect.left, py = e.clientY - rect.top;
    const k = hit(px, py);
    if (k < 0) { tooltip.hidden = true; return; }
    tooltip.textContent = rowText(items[k]);
    tooltip.style.left = Math.min(px + 12, W - 260) + 'px';
    tooltip.style.top = (py + 12) + 'px';
    tooltip.hidden = false;
  });
  window.addEventListener('mouseup', (e) => {
    if (!drag) return;
    const wasClick = !drag.moved;
    drag = null;
    if (wasClick && e.target === canvas) {
      const rect = canvas.getBoundingClientRect();
      select(hit(e.clientX - rect.left, e.clientY - rect.top));
    }
  });
  function resize() {
    const rect = canvas.parentElement.getBoundingClientRect();
    dpr = window.devicePixelRatio || 1;
    const first = W === 0;
    W = Math.max(100, rect.width); H = Math.max(100, rect.height);
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    if (first) fit();
    draw();
    renderList();
  }
  new ResizeObserver(() => {
    const rect = canvas.parentElement.getBoundingClientRect();
    if (Math.max(100, rect.width) !== W || Math.max(100, rect.height) !== H) resize();
  }).observe(canvas.parentElement);

  // ---- for tests and scripts ------------------------------------------------------
  const api = {
    records: RECORDS.length,
    events: items.length,
    shown: 0,
    painted: 0,
    matches: 0,
    selectedRecord: -1,
    firstViolationRecord: firstViolation >= 0 ? items[firstViolation].i : -1,
    // Where record i is drawn, in client coordinates (its clickable point).
    locate(i) {
      const k = items.findIndex((it) => it.i === i);
      if (k < 0) return null;
      const g = geom(items[k]), rect = canvas.getBoundingClientRect();
      return { x: rect.left + g[2], y: rect.top + g[3] };
    },
    readyMs: 0,
    lastDrawMs: 0,
  };
  window.agentsimViewer = api;
  updateStats();
  rebuildList();
  resize();
  api.readyMs = performance.now();
  api.scriptMs = api.readyMs - T_START;
  document.body.dataset.ready = '1';
})();
