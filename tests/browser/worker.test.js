// Classifier.load({ worker: true }) in headless Chromium: the same answers as the classifier in
// the page for every input type, ImageBitmaps moved (not copied) and the caller's bytes left
// alone, the page's refusals with the same codes, cold start with the worker's start, custom
// classes in the worker (train with progress and abort, save → load in the page), free.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, startPackageServer } from './harness.js';

let server;
let browser;
let page;
const errors = [];
before(async () => {
  server = await startPackageServer();
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.base);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const PHOTOS = ['n01440764_tench.JPEG', 'n01443537_goldfish.JPEG', 'n01491361_tiger_shark.JPEG', 'n01494475_hammerhead.JPEG'];

test('the worker-backed classifier answers as the one in the page, for every input type', async () => {
  const out = await page.evaluate(async (photos) => {
    const { Classifier } = await import('/pkg/browser.js');
    const t0 = performance.now();
    const remote = await Classifier.load({ worker: true });
    const remoteLoadMs = performance.now() - t0;
    const local = await Classifier.load();
    const rows = [];
    for (const f of photos) {
      const bytes = new Uint8Array(await (await fetch(`/golden/${f}`)).arrayBuffer());
      const before = bytes.byteLength;
      const bitmap = await createImageBitmap(new Blob([bytes]));
      const canvas = Object.assign(document.createElement('canvas'), { width: bitmap.width, height: bitmap.height });
      canvas.getContext('2d').drawImage(bitmap, 0, 0);
      const imageData = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      const img = new Image();
      img.src = URL.createObjectURL(new Blob([bytes]));
      await img.decode();
      const inputs = {
        bytes,
        image: img,
        canvas,
        imageData,
        pixels: { data: new Uint8Array(imageData.data.buffer), width: imageData.width, height: imageData.height },
      };
      const row = { f };
      for (const [kind, input] of Object.entries(inputs)) {
        row[kind] = [JSON.stringify(await local.classify(input, { topK: 5 })), JSON.stringify(await remote.classify(input, { topK: 5 }))];
      }
      const localBitmap = await createImageBitmap(bitmap);
      row.bitmap = [JSON.stringify(await local.classify(localBitmap)), JSON.stringify(await remote.classify(bitmap))];
      row.bitmapMoved = bitmap.width === 0;
      row.bytesKept = bytes.byteLength === before;
      const [a, b] = [await local.embed(bytes), await remote.embed(bytes)];
      row.embedSame = a.length === b.length && a.every((v, i) => v === b[i]);
      rows.push(row);
    }
    const info = remote.info;
    const stats = remote.stats();
    const same = JSON.stringify({ ...info }) === JSON.stringify({ ...local.info });
    remote.free();
    let afterFree;
    try { await remote.classify(new Uint8Array(4)); afterFree = 'accepted'; } catch (e) { afterFree = e.code; }
    local.free();
    return { rows, same, worker: [remote.worker, local.worker], stats, remoteLoadMs, afterFree };
  }, PHOTOS);
  const c = out.stats.coldStart;
  console.log(`worker-backed load ${out.remoteLoadMs.toFixed(0)} ms (worker start ${c.workerStartMs.toFixed(1)}, fetch ${c.fetchMs.toFixed(0)}, compile ${c.compileMs.toFixed(0)}, build ${c.buildMs.toFixed(0)}, first inference ${c.firstInferenceMs.toFixed(0)}); ${out.stats.inference.count} inferences, p50 ${out.stats.inference.p50Ms.toFixed(1)} ms`);
  assert.deepEqual(errors, []);
  for (const row of out.rows) {
    for (const kind of ['bytes', 'image', 'canvas', 'imageData', 'pixels', 'bitmap']) {
      assert.equal(row[kind][1], row[kind][0], `${row.f} as ${kind}`);
    }
    assert.ok(row.bitmapMoved, 'an ImageBitmap is transferred to the worker');
    assert.ok(row.bytesKept, 'the caller\'s bytes are copied, not detached');
    assert.ok(row.embedSame, `${row.f}: the same embedding`);
  }
  assert.match(out.rows[0].bytes[1], /tench/);
  assert.ok(out.same, 'the same info');
  assert.deepEqual(out.worker, [true, false]);
  assert.ok(c.workerStartMs > 0 && c.totalMs >= c.workerStartMs + c.fetchMs, JSON.stringify(c));
  assert.equal(out.stats.inference.count, PHOTOS.length * 7, 'stats as of the last call (six classifications and an embedding per photo)');
  assert.deepEqual(out.stats.network, { requests: 0, bytes: 0 }, 'the worker fetched nothing after the load');
  assert.equal(out.afterFree, 'E_FREED');
});

test('the worker-backed classifier refuses what the page refuses, with the same codes, and keeps working', async () => {
  const out = await page.evaluate(async () => {
    const { Classifier } = await import('/pkg/browser.js');
    const codes = {};
    const attempt = async (name, f) => {
      try { await f(); codes[name] = 'accepted'; } catch (e) { codes[name] = e.code; }
    };
    await attempt('load: worker not boolean', () => Classifier.load({ worker: 'yes' }));
    await attempt('load: missing model', () => Classifier.load({ worker: true, model: '/models/none.tflite' }));
    await attempt('load: not a model', () => Classifier.load({ worker: true, model: new Uint8Array(64) }));
    const ctl = new AbortController();
    const aborted = Classifier.load({ worker: true, signal: ctl.signal });
    ctl.abort();
    await attempt('load: aborted', () => aborted);
    const clf = await Classifier.load({ worker: true, maxPixels: 1_000_000 });
    const good = new Uint8Array(await (await fetch('/golden/n01440764_tench.JPEG')).arrayBuffer());
    const unloaded = new Image();
    const big = Object.assign(document.createElement('canvas'), { width: 2000, height: 1000 });
    const bitmap = await createImageBitmap(new ImageData(4, 4));
    const cases = {
      'topK string': () => clf.classify(good, { topK: '5' }),
      'topK zero': () => clf.classify(good, { topK: 0 }),
      'not an image': () => clf.classify({ hello: 1 }),
      null: () => clf.classify(null),
      'unloaded image': () => clf.classify(unloaded),
      'over the pixel budget': () => clf.classify(big),
      'pixels short': () => clf.classify({ data: new Uint8Array(10), width: 4, height: 4 }),
      'corrupt JPEG': () => clf.classify(good.slice(0, 300)),
      'bitmap used twice': async () => { await clf.classify(bitmap); return clf.classify(bitmap); },
    };
    for (const [name, f] of Object.entries(cases)) {
      await attempt(name, f);
      codes[`${name} → then`] = (await clf.classify(good, { topK: 1 }))[0].label;
    }
    clf.free();
    return codes;
  });
  assert.deepEqual(errors, []);
  const expect = {
    'load: worker not boolean': 'E_ARGUMENT',
    'load: missing model': 'E_IO',
    'load: not a model': 'E_MODEL_FORMAT',
    'load: aborted': 'E_ABORTED',
    'topK string': 'E_ARGUMENT',
    'topK zero': 'E_ARGUMENT',
    'not an image': 'E_ARGUMENT',
    null: 'E_ARGUMENT',
    'unloaded image': 'E_IMAGE_DECODE',
    'over the pixel budget': 'E_IMAGE_TOO_LARGE',
    'pixels short': 'E_INPUT_SIZE',
    'corrupt JPEG': 'E_IMAGE_DECODE',
    'bitmap used twice': 'E_INPUT_SIZE',
  };
  for (const [name, code] of Object.entries(expect)) {
    assert.equal(out[name], code, name);
    if (!name.startsWith('load')) assert.match(out[`${name} → then`], /tench/, `a good image after "${name}"`);
  }
});

test('custom classes on a worker-backed base: examples, progress, abort, save → load in the page', async () => {
  const out = await page.evaluate(async (photos) => {
    const { Classifier, CustomClassifier } = await import('/pkg/browser.js');
    const remote = await Classifier.load({ worker: true });
    const custom = await CustomClassifier.create(remote);
    const bytes = await Promise.all(photos.map(async (f) => new Uint8Array(await (await fetch(`/golden/${f}`)).arrayBuffer())));
    await custom.addExample(bytes[0], 'fish', { flip: true });
    await custom.addExample(await createImageBitmap(new Blob([bytes[1]])), 'fish');
    await custom.addExample(bytes[2], 'shark');
    await custom.addEmbedding(await remote.embed(bytes[3]), 'shark');
    const state = { classes: custom.classes, fish: custom.exampleCount('fish'), shark: custom.exampleCount('shark'), vectors: custom.vectorCount, memory: custom.memoryBytes, trained: custom.trained };
    let badLabel;
    try { await custom.addExample(bytes[0], 7); } catch (e) { badLabel = e.code; }
    const ctl = new AbortController();
    let abortedAfter = 0;
    let aborted;
    try {
      await custom.train({ epochs: 5000, onProgress: (r) => { abortedAfter = r.epoch; if (r.epoch === 3) ctl.abort(); }, signal: ctl.signal });
      aborted = 'finished';
    } catch (e) { aborted = e.code; }
    const progress = [];
    const report = await custom.train({ epochs: 20, seed: 3, onProgress: (r) => progress.push(r.epoch) });
    const remoteTop = await custom.classify(bytes[2], { topK: 2 });
    const saved = await custom.save();
    const tflite = await custom.exportTflite();
    const local = await Classifier.load();
    const again = await CustomClassifier.load(local, saved);
    const localTop = await again.classify(bytes[2], { topK: 2 });
    const removed = await custom.removeClass('shark');
    const afterRemove = custom.classes;
    custom.free();
    let freed;
    try { await custom.classify(bytes[0]); } catch (e) { freed = e.code; }
    const second = await CustomClassifier.create(remote);
    remote.free();
    let baseFreed;
    try { await second.classify(bytes[0]); } catch (e) { baseFreed = e.code; }
    const trainedAfter = again.trained;
    again.free();
    local.free();
    return { trainedAfter, state, badLabel, aborted, abortedAfter, progress, report, remoteTop, localTop, savedBytes: saved.length, tfliteBytes: tflite.length, removed, afterRemove, freed, baseFreed };
  }, PHOTOS);
  console.log(`custom classes in the worker: ${JSON.stringify(out.state)}, trained ${out.report.epochs} epochs in ${out.report.ms.toFixed(1)} ms, save ${out.savedBytes} B, .tflite ${out.tfliteBytes} B`);
  assert.deepEqual(errors, []);
  assert.deepEqual(out.state.classes, ['fish', 'shark']);
  assert.equal(out.state.fish, 2);
  assert.equal(out.state.shark, 2);
  assert.equal(out.state.vectors, 5, 'the flipped copy counts as a vector');
  assert.ok(out.state.memory > 5 * 4 * 1280);
  assert.equal(out.state.trained, false);
  assert.equal(out.badLabel, 'E_ARGUMENT');
  assert.equal(out.aborted, 'E_ABORTED');
  assert.ok(out.abortedAfter >= 3 && out.abortedAfter < 5000, `aborted after epoch ${out.abortedAfter}`);
  assert.deepEqual(out.progress, Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(out.report.epochs, 20);
  assert.equal(out.remoteTop[0].label, 'shark');
  assert.deepEqual(out.localTop, out.remoteTop, 'saved in the worker, loaded in the page: the same answer');
  assert.ok(out.trainedAfter);
  assert.ok(out.tfliteBytes > 1e6);
  assert.equal(out.removed, true);
  assert.deepEqual(out.afterRemove, ['fish']);
  assert.equal(out.freed, 'E_FREED');
  assert.equal(out.baseFreed, 'E_FREED', 'freeing the base ends its worker and its classes');
});
