// Measures how long the viewer takes to load and draw a trace of about
// 100,000 events in headless Chromium, and takes the README's screenshot.
// Not a test: timings depend on the machine. Run from tests/browser:
//
//   node measure.mjs [screenshot.png]
//
// Prints the page size, then for each of 3 loads the time from navigation
// to the first frame drawn (readyMs) and the script's share (scriptMs), then
// the time to redraw after zooming in and after zooming out to the whole run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { LAUNCH_ARGS } from './launch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const BIN = process.env.AGENTSIM_BIN || path.join(root, 'target/release/agentsim');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agentsim-measure-'));
function run(...args) {
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}
const big = path.join(tmp, 'big.jsonl');
const bigArgs = ['run', 'raft', '--nodes', '5', '--seed', '1', '--loss', '0.05', '--dup', '0.02', '--crash-mttf', '10s',
  '--crash-mttr', '1s', '--partition-mtbf', '20s', '--time-max', '310s', '--until-time-max'];
run(...bigArgs, '--trace', big, '--trace-level', 'events');
const v = run('view', big, '-o', path.join(tmp, 'big.html'));
console.log(`agentsim ${bigArgs.slice(1).join(' ')}`);
console.log(`page: ${v.stderr.trim()}, ${(fs.statSync(path.join(tmp, 'big.html')).size / 1e6).toFixed(1)} MB`);
const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
  executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, viewport: { width: 1280, height: 800 },
});
for (let k = 0; k < 3; k++) {
  const page = await context.newPage();
  await page.goto('file://' + path.join(tmp, 'big.html'));
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 60000 });
  const a = await page.evaluate(() => ({ ...window.agentsimViewer }));
  console.log(`load ${k + 1}: ready ${a.readyMs.toFixed(0)} ms after navigation (script ${a.scriptMs.toFixed(0)} ms), ${a.painted} of ${a.events} events drawn`);
  if (k === 2) {
    const box = await page.locator('#canvas').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -300);
    await page.waitForTimeout(200);
    const zin = await page.evaluate(() => ({ ...window.agentsimViewer }));
    await page.click('#fit');
    await page.waitForTimeout(200);
    const zout = await page.evaluate(() => ({ ...window.agentsimViewer }));
    console.log(`redraw zoomed in: ${zin.lastDrawMs.toFixed(1)} ms (${zin.painted} events); whole run: ${zout.lastDrawMs.toFixed(1)} ms (${zout.painted} events)`);
  }
  await page.close();
}
// The screenshot: a failing Raft run, its violation selected.
const shot = process.argv[2];
if (shot) {
  const dv = path.join(tmp, 'dv.jsonl');
  run('run', 'raft', '--variant', 'double-vote', '--seed', '6', '--trace', dv, '--trace-level', 'events');
  run('view', dv, '-o', path.join(tmp, 'dv.html'));
  const page = await context.newPage();
  await page.goto('file://' + path.join(tmp, 'dv.html'));
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  await page.click('#first-violation');
  await page.waitForTimeout(300);
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
}
await context.close();
fs.rmSync(tmp, { recursive: true, force: true });
