// Both wasm builds, and the fused kernels against burn's own ops, in Chromium: the relaxed-SIMD
// build (fused multiply-add, the relaxed byte dot product) is the one loaded by default here;
// forced to simd128 the package loads the other; with `kernels: false` every convolution runs
// through burn's tensor ops. int8 models (V1, V2 by default) are integer arithmetic: the three
// must give identical outputs, bit for bit, whichever products the engine ran. float32 (V2 on
// request) must give the same classes with probabilities within 1e-3. V3-Small's float model
// rounds each convolution's output onto the file's quantization grid, so a last-bit difference
// in summation order (or a fused multiply-add) can move a value by one grid step, which
// propagates: there the classes must agree (top-1 on at least 11 of 12, top-5 overlap 4+).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { golden, launchChromium, startPackageServer } from './harness.js';

const MODELS = [
  { file: 'mobilenet_v1_0.25_128_quant/mobilenet_v1_0.25_128_quant.tflite' },
  { file: 'mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite' },
  { file: 'mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite', precision: 'float32' },
  { file: 'mobilenet_v2_1.0_224_tf2_ptq/tf2_mobilenet_v2_1.0_224_ptq.tflite' },
  { file: 'mobilenet_v3_small_1.0_224_uint8/v3-small_224_1.0_uint8.tflite' },
].map((m) => ({ ...m, key: `${m.file}${m.precision ? ` (${m.precision})` : ''}` }));
const VARIANTS = [
  { name: 'relaxed-simd', options: {} },
  { name: 'simd128', options: { simd: 'simd128' } },
  { name: 'simd128, burn ops', options: { simd: 'simd128', kernels: false } },
];

let server;
before(async () => { server = await startPackageServer(); });
after(() => server?.stop());

test('relaxed-SIMD and simd128 builds, kernels on and off: int8 identical, float32 within 1e-3', async () => {
  const files = (await readdir(golden)).sort().slice(0, 12);
  const browser = await launchChromium();
  const runs = {};
  try {
    for (const v of VARIANTS) {
      const page = await browser.newPage(); // a fresh page: a fresh module instance
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.base);
      runs[v.name] = await page.evaluate(async ({ options, models, files }) => {
        const { Classifier } = await import('/pkg/browser.js');
        const out = {};
        for (const m of models) {
          const load = { model: `/models/${m.file}`, ...options };
          if (m.precision) load.precision = m.precision;
          const clf = await Classifier.load(load);
          const images = await Promise.all(files.map(async (f) => new Uint8Array(await (await fetch(`/golden/${f}`)).arrayBuffer())));
          const { simd, quantizationEmulated: emulated, precision, int8Products } = clf.info;
          out[m.key] = { simd, emulated, precision, int8Products, top: [] };
          for (const bytes of images) out[m.key].top.push(await clf.classify(bytes, { topK: 5 }));
          clf.free();
        }
        return out;
      }, { options: v.options, models: MODELS, files });
      assert.deepEqual(errors, [], v.name);
      await page.close();
    }
  } finally {
    await browser.close();
  }
  const report = [];
  for (const { key: m } of MODELS) {
    assert.equal(runs['relaxed-simd'][m].simd, 'relaxed-simd', 'Chromium loads the relaxed-SIMD build by default');
    assert.equal(runs.simd128[m].simd, 'simd128');
    const reference = runs['simd128, burn ops'][m].top;
    if (runs.simd128[m].precision === 'int8') {
      assert.equal(runs.simd128[m].int8Products, 'dot16', 'the simd128 build has no byte dot product');
      console.log(`${m}: int8, relaxed-SIMD build on ${runs['relaxed-simd'][m].int8Products} products`);
      for (const v of ['relaxed-simd', 'simd128']) assert.deepStrictEqual(runs[v][m].top, reference, `${v} ${m}: int8 outputs differ from burn's ops`);
    }
    for (const v of ['relaxed-simd', 'simd128']) {
      let worst = 0;
      let sameTop1 = 0;
      let overlap = 0;
      runs[v][m].top.forEach((top, i) => {
        sameTop1 += top[0].index === reference[i][0].index;
        overlap += top.filter((p) => reference[i].some((r) => r.index === p.index)).length / files.length;
        for (const p of top) {
          const q = reference[i].find((r) => r.index === p.index);
          if (q) worst = Math.max(worst, Math.abs(p.probability - q.probability));
        }
      });
      report.push({ m, v, worst, sameTop1, overlap, emulated: runs[v][m].emulated });
      console.log(`${m}: ${v} kernels vs burn ops, same top-1 ${sameTop1}/${files.length}, mean top-5 overlap ${overlap.toFixed(2)}, largest probability difference ${worst.toExponential(2)}`);
    }
  }
  for (const { m, v, worst, sameTop1, overlap, emulated } of report) {
    if (emulated) {
      assert.ok(sameTop1 >= files.length - 1, `${v} ${m}: same top-1 on ${sameTop1}`);
      assert.ok(overlap >= 4, `${v} ${m}: top-5 overlap ${overlap}`);
    } else {
      assert.equal(sameTop1, files.length, `${v} ${m}: top-1`);
      assert.ok(worst <= 1e-3, `${v} ${m}: ${worst}`);
    }
  }
});
