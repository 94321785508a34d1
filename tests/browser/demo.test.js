// The demo page in headless Chromium (Debian's, driven by playwright-core): a fake webcam
// showing a golden image, and the no-camera path with a chosen file. Needs www/dist built
// (scripts/test.sh does it). Saves test-results/demo.png and test-results/demo-phone.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { root, golden, launchChromium, startDemoServer } from './harness.js';
import { CSP } from '../../scripts/serve.mjs';

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

const webcam = () => launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  `--use-file-for-fake-video-capture=${path.join(results, 'tench.y4m')}`]);

test('fake webcam: live top-1 is the photo\'s class, latency figures shown, 10 s and 100 frames with no long task and nothing sent', async () => {
  const browser = await webcam();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const requests = [];
    context.on('request', (r) => requests.push(r.url())); // the page's and its worker's
    const page = await context.newPage();
    const problems = watch(page);
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((l) => window.__longTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
    });
    const response = await page.goto(base);
    assert.equal(response.headers()['content-security-policy'], CSP, 'served under the strict CSP');
    await page.waitForFunction(() => /tench/.test(document.querySelector('[data-testid=top1-label]').textContent), null, { timeout: 20000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=p99-ms]').textContent) > 0, null, { timeout: 20000 });

    // The model is loaded and frames stream: from here on, nothing may be fetched or sent.
    const requestsAtLoad = requests.length;
    const framesAtLoad = await number(page, 'frames-classified');
    await page.evaluate(() => { window.__longTasks = []; });
    await page.waitForTimeout(10000);
    const longTasks = await page.evaluate(() => window.__longTasks);
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=frames-classified]').textContent) >= n, framesAtLoad + 100, { timeout: 60000 });
    const frames = await number(page, 'frames-classified') - framesAtLoad;

    const figures = {};
    for (const id of ['cold-start-ms', 'p50-ms', 'p95-ms', 'p99-ms', 'fps']) figures[id] = await number(page, id);
    console.log('demo figures', JSON.stringify({ ...figures, framesWatched: frames, longTasks }));
    for (const [id, v] of Object.entries(figures)) assert.ok(Number.isFinite(v) && v > 0, `${id} = ${v}`);
    assert.ok(figures['p95-ms'] >= figures['p50-ms'] && figures['p99-ms'] >= figures['p95-ms']);
    assert.match(await page.textContent('[data-testid=top1-label]'), /tench/);
    // The default model (quantized V2) runs in int8.
    // The demo is served cross-origin isolated: the default thread count, min(4, cores).
    const threads = await page.evaluate(() => Math.min(4, navigator.hardwareConcurrency));
    assert.match(await page.textContent('[data-testid=arithmetic]'), new RegExp(`^int8 \\((relaxed-dot|dot16) products\\), (relaxed-simd|simd128), ${threads} threads?$`));
    assert.deepEqual(longTasks, [], 'no main-thread task over 50 ms during 10 s of streaming');
    assert.deepEqual(requests.slice(requestsAtLoad), [], `no request while ${frames} frames were classified`);
    assert.equal(await number(page, 'requests-after-load'), 0, 'the page\'s own privacy counter');
    assert.equal(await number(page, 'bytes-after-load'), 0);
    await page.screenshot({ path: path.join(results, 'demo.png') });
    assert.deepEqual(problems, [], 'no console errors (including CSP violations)');
  } finally {
    await browser.close();
  }
});

test('phone width: one column, nothing wider than the screen; switching model shows its cold start', async () => {
  const browser = await webcam();
  try {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await page.goto(base);
    await page.waitForFunction(() => /tench/.test(document.querySelector('[data-testid=top1-label]').textContent), null, { timeout: 20000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=p50-ms]').textContent) > 0, null, { timeout: 20000 });
    const layout = await page.evaluate(() => ({
      viewport: window.innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
      boxes: [...document.querySelectorAll('section, video, select, #top5 li, dl')].map((e) => {
        const r = e.getBoundingClientRect();
        return { what: e.id || e.className || e.tagName, left: r.left, right: r.right, width: r.width };
      }),
      sections: [...document.querySelectorAll('main > section')].map((e) => Math.round(e.getBoundingClientRect().left)),
    }));
    // A phone widens its layout viewport (and zooms out) when content is wider than the screen.
    assert.equal(layout.viewport, 390, 'layout viewport is the screen width');
    assert.ok(layout.scrollWidth <= layout.viewport, `page scrolls sideways: ${layout.scrollWidth} > ${layout.viewport}`);
    for (const b of layout.boxes) {
      assert.ok(b.left >= 0 && b.right <= layout.viewport + 0.5 && b.width > 0, `${b.what} outside the screen: ${JSON.stringify(b)}`);
    }
    assert.equal(new Set(layout.sections).size, 1, `sections stack in one column: ${layout.sections}`);
    await page.screenshot({ path: path.join(results, 'demo-phone.png'), fullPage: true });

    // Every model of the manifest is offered; switching shows the new model's cold start.
    const options = await page.$$eval('#model option', (os) => os.map((o) => o.value));
    assert.ok(options.length >= 3 && options.includes('mobilenet_v3_small_1.0_224_uint8'), options.join());
    await page.selectOption('#model', 'mobilenet_v3_small_1.0_224_uint8');
    await page.waitForFunction(() => document.querySelector('[data-testid=loaded-model]').textContent === 'mobilenet_v3_small_1.0_224_uint8', null, { timeout: 20000 });
    assert.ok(await number(page, 'cold-start-ms') > 0);
    // V3-Small's uint8 file runs in int8, as TFLite runs it (hard-swish and squeeze-excite included).
    assert.match(await page.textContent('[data-testid=arithmetic]'), /^int8 /, 'V3 runs in int8');
    const detail = await page.textContent('#cold-detail');
    assert.match(detail, /fetch \d+, compile \d+, build \d+, first inference \d+/);
    await page.waitForFunction(() => /tench/.test(document.querySelector('[data-testid=top1-label]').textContent), null, { timeout: 20000 });
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
