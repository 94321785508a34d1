// The threaded builds in headless Chromium: on a cross-origin isolated page the default is
// min(4, cores) threads, `threads` chooses, `info.threads` tells; the outputs (int8 and float32,
// in the page and in the worker) are bit-identical to one thread's; a page that is not isolated,
// a bad count, or a second load asking another count is refused with E_ARGUMENT, and the next
// good load still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, startPackageServer } from './harness.js';
import { serveStatic } from '../../scripts/lib/static-server.mjs';
import { root } from '../../scripts/lib/models.mjs';
import path from 'node:path';

let server;
let plain;
let browser;
before(async () => {
  server = await startPackageServer();
  plain = await serveStatic({
    mounts: [['/pkg/', path.join(root, 'pkg')]],
    routes: { '/': () => ({ body: '<!doctype html><meta charset="utf-8"><title>plain</title>', type: 'text/html' }) },
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  server?.stop();
  plain?.stop();
});

const PHOTOS = ['n01440764_tench.JPEG', 'n01443537_goldfish.JPEG', 'n01491361_tiger_shark.JPEG', 'n01494475_hammerhead.JPEG', 'n01496331_electric_ray.JPEG'];

/** In a fresh page of `base`: loads with `options`, then every photo's top-5 and embedding. */
async function answers(base, options) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  const out = await page.evaluate(async ({ options, photos }) => {
    const { Classifier } = await import('/pkg/browser.js');
    const clf = await Classifier.load(options);
    const rows = [];
    for (const f of photos) {
      const bytes = new Uint8Array(await (await fetch(`/golden/${f}`)).arrayBuffer());
      rows.push({ top: await clf.classify(bytes, { topK: 5 }), embedding: Array.from(await clf.embed(bytes)) });
    }
    return { info: clf.info, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency, rows };
  }, { options, photos: PHOTOS });
  await page.close();
  assert.deepEqual(errors, []);
  return out;
}

test('an isolated page runs min(4, cores) threads by default, and the outputs equal one thread\'s', async () => {
  const one = await answers(server.base, { threads: 1 });
  assert.equal(one.info.threads, 1);
  const byDefault = await answers(server.base, {});
  assert.ok(byDefault.isolated);
  assert.equal(byDefault.info.threads, Math.min(4, byDefault.cores));
  const two = await answers(server.base, { threads: 2 });
  assert.equal(two.info.threads, 2);
  const three = await answers(server.base, { threads: 3, worker: true });
  assert.equal(three.info.threads, 3);
  for (const other of [byDefault, two, three]) assert.deepEqual(other.rows, one.rows);
  assert.equal(one.rows[0].top[0].index, 0, 'the tench is a tench');
  // float32 split across threads: the same sums in the same order.
  const floatOne = await answers(server.base, { threads: 1, precision: 'float32' });
  const floatTwo = await answers(server.base, { threads: 2, precision: 'float32' });
  assert.equal(floatTwo.info.threads, 2);
  assert.deepEqual(floatTwo.rows, floatOne.rows);
});

test('threads are refused where they cannot run, with E_ARGUMENT, and the next good load works', async () => {
  const page = await browser.newPage();
  await page.goto(plain.base);
  const notIsolated = await page.evaluate(async () => {
    const { Classifier } = await import('/pkg/browser.js');
    const codes = [];
    for (const threads of [2, 0, 1.5, '2', 65]) {
      try {
        await Classifier.load({ threads });
        codes.push('loaded');
      } catch (e) {
        codes.push(e.code);
      }
    }
    const clf = await Classifier.load();
    return { codes, threads: clf.info.threads, isolated: crossOriginIsolated };
  });
  await page.close();
  assert.equal(notIsolated.isolated, false);
  assert.deepEqual(notIsolated.codes, ['E_ARGUMENT', 'E_ARGUMENT', 'E_ARGUMENT', 'E_ARGUMENT', 'E_ARGUMENT']);
  assert.equal(notIsolated.threads, 1);

  const isolated = await browser.newPage();
  await isolated.goto(server.base);
  const second = await isolated.evaluate(async () => {
    const { Classifier } = await import('/pkg/browser.js');
    const first = await Classifier.load({ threads: 2 });
    let code = 'loaded';
    try {
      await Classifier.load({ threads: 1 });
    } catch (e) {
      code = e.code;
    }
    const again = await Classifier.load();
    return { code, first: first.info.threads, again: again.info.threads };
  });
  await isolated.close();
  assert.deepEqual(second, { code: 'E_ARGUMENT', first: 2, again: 2 });
});
