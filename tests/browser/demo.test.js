// The demo page in headless Chromium (Debian's, driven by playwright-core): a fake webcam
// showing a golden image, and the no-camera path with a chosen file. Needs www/dist built
// (scripts/test.sh does it). Saves test-results/demo.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { root, golden, launchChromium, startDemoServer } from './harness.js';

const tench = path.join(golden, 'n01440764_tench.JPEG');
const results = path.join(root, 'test-results');
let server;
let base;

before(async () => {
  mkdirSync(results, { recursive: true });
  // A one-frame 320x240 y4m of the golden tench photo; Chromium loops it as the webcam.
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', tench, '-vf', 'scale=320:240', '-pix_fmt', 'yuv420p', '-frames:v', '1', path.join(results, 'tench.y4m')]);
  server = await startDemoServer(18000 + (process.pid % 1000));
  base = server.base;
});
after(() => server?.stop());

function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  return problems;
}

const number = async (page, id) => Number(await page.textContent(`[data-testid=${id}]`));

test('fake webcam: live top-1 is the photo\'s class, latency figures shown, nothing sent', async () => {
  const browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${path.join(results, 'tench.y4m')}`]);
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = watch(page);
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((l) => window.__longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
    });
    await page.goto(base);
    await page.waitForFunction(() => /tench/.test(document.querySelector('[data-testid=top1-label]').textContent), null, { timeout: 20000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=p99-ms]').textContent) > 0, null, { timeout: 20000 });
    const requestsBefore = await page.evaluate(() => performance.getEntriesByType('resource').length);
    await page.waitForTimeout(3000); // keep streaming
    const figures = {};
    for (const id of ['cold-start-ms', 'p50-ms', 'p95-ms', 'p99-ms', 'fps']) figures[id] = await number(page, id);
    console.log('demo figures', JSON.stringify(figures));
    for (const [id, v] of Object.entries(figures)) assert.ok(Number.isFinite(v) && v > 0, `${id} = ${v}`);
    assert.ok(figures['p95-ms'] >= figures['p50-ms'] && figures['p99-ms'] >= figures['p95-ms']);
    assert.equal(await number(page, 'requests-after-load'), 0);
    assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').length), requestsBefore, 'no request while streaming');
    const longTasks = await page.evaluate(() => window.__longTasks);
    console.log(`main-thread long tasks while streaming: ${longTasks.length} (${longTasks.map((d) => d.toFixed(0)).join(', ')} ms)`);
    await page.screenshot({ path: path.join(results, 'demo.png') });
    assert.deepEqual(problems, [], 'no console errors (including CSP violations)');
  } finally {
    await browser.close();
  }
});

test('camera permission denied: a message, and a chosen photo is classified', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const problems = watch(page);
    // The user blocks the camera: getUserMedia rejects as it does after "Block".
    await page.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    // Delay the model download so the photo is chosen while the worker is still loading.
    await page.route('**/models/mobilenet_v2_1.0_224_quant/*', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.goto(base);
    await page.waitForFunction(() => !document.getElementById('camera-message').hidden, null, { timeout: 20000 });
    assert.match(await page.textContent('#camera-message'), /No camera/);
    await page.setInputFiles('#file', tench);
    await page.waitForFunction(() => /tench/.test(document.querySelector('[data-testid=top1-label]').textContent), null, { timeout: 20000 });
    assert.deepEqual(problems.filter((p) => !/Permission|NotAllowed|NotFound|Requested device/i.test(p)), []);
  } finally {
    await browser.close();
  }
});
