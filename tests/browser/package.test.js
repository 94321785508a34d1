// The npm package in headless Chromium: every DOM input type classifies the 50 reference
// images like the native CLI, with the relaxed-SIMD build (fused multiply-add).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { root, modelsDir, golden, launchChromium, startPackageServer } from './harness.js';

let server;
before(async () => { server = await startPackageServer(); });
after(() => server?.stop());

test('ImageData, HTMLImageElement, canvas, ImageBitmap and VideoFrame match the native CLI', async () => {
  const files = (await readdir(golden)).sort().slice(0, 50);
  const cli = process.env.MOBILENET_CLI ?? path.join(root, 'target/debug/mobilenet');
  const model = path.join(modelsDir, 'mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite');
  const native = JSON.parse(execFileSync(cli, ['classify', '--json', '--top', '1', '--model', model, ...files.map((f) => path.join(golden, f))],
    { encoding: 'utf8', maxBuffer: 64 << 20 })).map((r) => r.predictions[0].index);

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.base);
    const result = await page.evaluate(async (files) => {
      const { Classifier } = await import('/pkg/browser.js');
      const clf = await Classifier.load();
      const top1 = { imageData: [], image: [], canvas: [], bitmap: [], videoFrame: [], bytes: [] };
      for (const f of files) {
        const bytes = new Uint8Array(await (await fetch(`/golden/${f}`)).arrayBuffer());
        const img = new Image();
        img.src = URL.createObjectURL(new Blob([bytes], { type: 'image/jpeg' }));
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const first = async (x) => (await clf.classify(x, { topK: 1 }))[0].index;
        top1.imageData.push(await first(ctx.getImageData(0, 0, canvas.width, canvas.height)));
        top1.image.push(await first(img));
        top1.canvas.push(await first(canvas));
        const bitmap = await createImageBitmap(img);
        top1.bitmap.push(await first(bitmap));
        const frame = new VideoFrame(bitmap, { timestamp: 0 });
        top1.videoFrame.push(await first(frame));
        frame.close();
        top1.bytes.push(await first(bytes));
        URL.revokeObjectURL(img.src);
      }
      return { top1, simd: clf.info.simd, stats: clf.stats() };
    }, files);
    assert.equal(result.simd, 'relaxed-simd', 'Chromium runs the relaxed-SIMD build');
    assert.deepEqual(errors, []);
    for (const [kind, classes] of Object.entries(result.top1)) {
      const same = classes.filter((c, i) => c === native[i]).length;
      console.log(`${kind}: same top-1 as native on ${same}/50`);
      // Encoded bytes go through the same Rust decoder: identical. DOM inputs are decoded by
      // the browser's JPEG decoder, whose pixels differ slightly from zune-jpeg's.
      assert.ok(same >= (kind === 'bytes' ? 50 : 49), `${kind}: same top-1 on only ${same}/50`);
    }
    console.log(`Chromium inference p50 ${result.stats.inference.p50Ms.toFixed(1)} ms, p95 ${result.stats.inference.p95Ms.toFixed(1)} ms over ${result.stats.inference.count}; cold start ${result.stats.coldStart.totalMs.toFixed(0)} ms`);
  } finally {
    await browser.close();
  }
});

test('DOM images that cannot be read are coded errors, and the next good one classifies', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(server.base);
    const out = await page.evaluate(async () => {
      const { Classifier } = await import('/pkg/browser.js');
      const clf = await Classifier.load({ maxPixels: 1_000_000 });
      const code = async (p) => { try { await p; return 'resolved'; } catch (e) { return e.code ?? `uncoded ${e.name}`; } };
      // An image that never loaded, with width/height attributes: it was drawn blank and
      // classified confidently.
      const unloaded = new Image(100, 100);
      const broken = new Image(100, 100);
      broken.src = URL.createObjectURL(new Blob([new Uint8Array([1, 2, 3])], { type: 'image/jpeg' }));
      await broken.decode().catch(() => {});
      const video = document.createElement('video'); // no frame yet
      const bytes = new Uint8Array(await (await fetch('/golden/n01440764_tench.JPEG')).arrayBuffer());
      const good = new Image();
      good.src = URL.createObjectURL(new Blob([bytes], { type: 'image/jpeg' }));
      await good.decode();
      return {
        unloaded: await code(clf.classify(unloaded)),
        broken: await code(clf.classify(broken)),
        video: await code(clf.classify(video)),
        overBudget: await code(clf.classify(new ImageData(1001, 1000))),
        notAnImage: await code(clf.classify(document.body)),
        good: (await clf.classify(good, { topK: 1 }))[0].index,
      };
    });
    assert.deepEqual(out, { unloaded: 'E_IMAGE_DECODE', broken: 'E_IMAGE_DECODE', video: 'E_INPUT_SIZE', overBudget: 'E_IMAGE_TOO_LARGE', notAnImage: 'E_ARGUMENT', good: 0 });
  } finally {
    await browser.close();
  }
});
