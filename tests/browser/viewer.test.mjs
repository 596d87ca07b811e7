// Browser tests of the HTML trace viewer (`agentsim view`), on pages the
// binary writes, in the system Chromium driven headless by playwright-core.
//
//   cd tests/browser && npm ci && npm test
//
// Needs target/release/agentsim (or AGENTSIM_BIN) and /usr/bin/chromium (or
// CHROMIUM; Debian: apt-get install -y chromium). Without them the tests skip
// with a message, unless AGENTSIM_REQUIRE_BROWSER=1 (CI), where they fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAUNCH_ARGS } from './launch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const BIN = process.env.AGENTSIM_BIN || path.join(root, 'target/release/agentsim');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let missing = null;
if (!fs.existsSync(CHROMIUM)) missing = `no Chromium at ${CHROMIUM} (install it: apt-get install -y chromium)`;
else if (!fs.existsSync(BIN)) missing = `no agentsim binary at ${BIN} (build it: cargo build --release)`;
let chromium = null;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  missing ??= 'playwright-core is not installed (cd tests/browser && npm ci)';
}
if (missing && process.env.AGENTSIM_REQUIRE_BROWSER === '1') {
  throw new Error(`AGENTSIM_REQUIRE_BROWSER=1 but ${missing}`);
}
const skip = missing ? `browser tests skipped: ${missing}` : false;
if (skip) console.log(skip);

let tmp, context;
function agentsim(...args) {
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}
function traceRun(name, args) {
  const trace = path.join(tmp, `${name}.jsonl`);
  agentsim('run', ...args, '--trace', trace, '--trace-level', 'events');
  assert.ok(fs.existsSync(trace), `agentsim run ${args.join(' ')} wrote no trace`);
  return trace;
}
function view(trace) {
  const html = trace.replace(/\.jsonl$/, '.html');
  const r = agentsim('view', trace, '-o', html);
  assert.equal(r.status, 0, r.stderr);
  return html;
}
function eventRecords(trace) {
  return fs.readFileSync(trace, 'utf8').split('\n').filter((l) => l.trim())
    .map((l) => JSON.parse(l)).filter((r) => r.type !== 'run_start' && r.type !== 'run_end');
}
// Opens a page; collects console errors, page errors and any network request.
async function open(html) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`network request: ${r.url()}`); });
  await page.goto('file://' + html);
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  return { page, problems };
}

let raft, gossip;
before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agentsim-browser-'));
  // A failing run (election safety) and a lossy, crashing gossip run.
  raft = traceRun('raft-double-vote', ['raft', '--variant', 'double-vote', '--seed', '6']);
  gossip = traceRun('gossip', ['gossip', '--nodes', '8', '--seed', '3', '--loss', '0.1', '--dup', '0.05',
    '--crash-mttf', '300ms', '--crash-mttr', '100ms', '--partition-mtbf', '500ms']);
  context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, viewport: { width: 1280, height: 800 },
  });
});
after(async () => {
  if (context) await context.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('pages load with no console errors and draw every event of the trace', { skip }, async () => {
  for (const trace of [raft, gossip]) {
    const { page, problems } = await open(view(trace));
    const want = eventRecords(trace).length;
    const got = await page.evaluate(() => ({ ...window.agentsimViewer }));
    assert.ok(want > 20, `${trace}: a trace with events`);
    assert.equal(got.events, want, `${trace}: items in the model`);
    assert.equal(got.shown, want, `${trace}: items passing the filters`);
    assert.equal(got.painted, want, `${trace}: items painted in the fitted view`);
    assert.equal(await page.getAttribute('#canvas', 'data-painted'), String(want));
    assert.deepEqual(problems, []);
    await page.close();
  }
});

test('gossip: drops, copies and crashes are in the page and filters hide them', { skip }, async () => {
  const recs = eventRecords(gossip);
  const drops = recs.filter((r) => r.type === 'drop').length;
  assert.ok(drops > 0 && recs.some((r) => r.type === 'crash'), 'the gossip run drops and crashes');
  const { page, problems } = await open(view(gossip));
  await page.click('#filters summary >> text=record types');
  await page.uncheck('#filter-types input[data-value="drop"]');
  const shown = await page.evaluate(() => window.agentsimViewer.shown);
  assert.equal(shown, recs.length - drops);
  assert.deepEqual(problems, []);
  await page.close();
});

test('clicking the violation marker shows its record', { skip }, async () => {
  const { page, problems } = await open(view(raft));
  const at = await page.evaluate(() => window.agentsimViewer.locate(window.agentsimViewer.firstViolationRecord));
  assert.ok(at, 'the violation is drawn');
  await page.mouse.click(at.x, at.y);
  const text = await page.textContent('#record');
  assert.match(text, /"type": "violation"/);
  assert.match(text, /nodes 3 and 1 were both elected leader in term 1/);
  // The button finds it as well, after a click elsewhere cleared the selection.
  await page.click('#fit');
  await page.click('#first-violation');
  assert.match(await page.textContent('#record'), /election safety/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a message can be followed from its send to its delivery', { skip }, async () => {
  const recs = fs.readFileSync(raft, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const i = recs.findIndex((r) => r.type === 'deliver');
  const { page, problems } = await open(view(raft));
  const at = await page.evaluate((i) => window.agentsimViewer.locate(i), i);
  await page.mouse.click(at.x, at.y);
  const msg = await page.textContent('#message');
  assert.match(msg, new RegExp(`message ${recs[i].data.id} \\(${recs[i].data.kind}`));
  assert.match(msg, /sent .* → delivered/);
  // Its send link selects the send record.
  await page.click('#message a >> text=/^sent/');
  assert.match(await page.textContent('#record'), /"type": "send"/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('search lists the matching records', { skip }, async () => {
  const recs = eventRecords(raft);
  const want = recs.filter((r) => JSON.stringify(r).toLowerCase().includes('requestvoteresponse')).length;
  const { page, problems } = await open(view(raft));
  await page.fill('#search', 'RequestVoteResponse');
  await page.waitForFunction((n) => window.agentsimViewer.matches === n, want);
  assert.match(await page.textContent('#list-title'), new RegExp(`search: ${want} matching`));
  assert.deepEqual(problems, []);
  await page.close();
});

test('trace text holding HTML or script is shown as text, never run', { skip }, async () => {
  const evil = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>';
  const lines = fs.readFileSync(raft, 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
    const r = JSON.parse(l);
    if (r.type === 'violation') r.data.detail = evil;
    if (r.type === 'note') r.data.tag = evil;
    if (r.type === 'run_start') r.data.protocol = evil;
    return JSON.stringify(r);
  });
  const trace = path.join(tmp, 'evil.jsonl');
  fs.writeFileSync(trace, lines.join('\n') + '\n');
  const html = view(trace);
  assert.ok(!fs.readFileSync(html, 'utf8').includes('<script>window.__pwned'), 'the page holds the text escaped');
  const { page, problems } = await open(html);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.evaluate(() => document.querySelectorAll('img, b').length), 0);
  assert.ok((await page.textContent('#title')).includes(evil));
  const at = await page.evaluate(() => window.agentsimViewer.locate(window.agentsimViewer.firstViolationRecord));
  await page.mouse.click(at.x, at.y);
  assert.ok((await page.textContent('#record')).includes(JSON.stringify(evil).slice(1, -1)));
  assert.equal(await page.evaluate(() => document.querySelector('#record').children.length), 0);
  assert.ok((await page.textContent('#list')).includes(evil));
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(problems, []);
  await page.close();
});
