// Quick latency figures in Node on the built package (pkg/): for each model and precision,
// `classify` of one 224×224 RGBA frame end to end, and the model alone (`stats().inference`).
//
//   node bench/node.mjs [--runs 30] [--warmup 5] [--model REL.tflite]… [--precision int8|float32]…
//
// Node 20 loads the simd128 build; `node --experimental-wasm-relaxed-simd bench/node.mjs` the
// relaxed-SIMD one. The side-by-side comparison with other runtimes is bench/run.mjs (Chromium).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { modelsDir as resolveModelsDir, root } from '../scripts/lib/models.mjs';

const modelsDir = resolveModelsDir();
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    model: { type: 'string', multiple: true },
    precision: { type: 'string', multiple: true },
  },
});
const models = args.model ?? [
  'mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite',
  'mobilenet_v1_0.75_224_quant/mobilenet_v1_0.75_224_quant.tflite',
  'mobilenet_v3_small_1.0_224_uint8/v3-small_224_1.0_uint8.tflite',
];
const precisions = args.precision ?? ['int8', 'float32'];
const { Classifier } = await import(path.join(root, 'pkg/node.js'));

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const frame = { width: 224, height: 224, data: new Uint8Array(224 * 224 * 4).map((_, i) => (i * 31) % 251) };
console.log('| model | precision | simd | p50 ms | min ms | model alone p50 ms | build ms |');
console.log('|---|---|---|---|---|---|---|');
for (const m of models) {
  const bytes = new Uint8Array(await readFile(path.join(modelsDir, m)));
  for (const precision of precisions) {
    let clf;
    try {
      clf = await Classifier.load({ model: bytes, precision });
    } catch (e) {
      if (e.code === 'E_MODEL_UNSUPPORTED') continue; // no int8 form (V3)
      throw e;
    }
    for (let i = 0; i < Number(args.warmup); i++) await clf.classify(frame);
    const times = [];
    for (let i = 0; i < Number(args.runs); i++) {
      const t = performance.now();
      await clf.classify(frame);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const s = clf.stats();
    console.log(`| ${path.basename(m, '.tflite')} | ${clf.info.precision} | ${clf.info.simd} | ${quantile(times, 0.5).toFixed(1)} | ${times[0].toFixed(1)} | ${s.inference.p50Ms.toFixed(1)} | ${s.coldStart.buildMs.toFixed(0)} |`);
    clf.free();
  }
}
