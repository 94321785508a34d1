// Soak: many classifications of mixed sizes and kinds, sampling the wasm linear memory and the
// JS heap (after a forced GC) as they go, in Node and in headless Chromium. Both must stop growing
// once warm-up has seen every input size.
//
//   node tests/soak/soak.mjs [--node 10000] [--browser 2000] [--json FILE]
//
// The smoke versions in tests/node/soak.test.js and tests/browser/soak.test.js run the same code
// with fewer iterations.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { goldenDir, modelsDir as resolveModelsDir, root } from '../../scripts/lib/models.mjs';

// A forced GC without --expose-gc on the command line (node --test spawns its own processes).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const modelsDir = resolveModelsDir();
const golden = goldenDir();

/** RGBA sizes cycled through, largest included so that warm-up reaches the peak. */
export const SIZES = [[1, 1], [17, 9], [224, 224], [640, 480], [1920, 1080], [99, 1000], [3000, 2000], [480, 640]];

/** Samples of the run: iteration, wasm memory bytes, JS heap bytes. */
function summary(samples, warmup) {
  const atWarmup = samples.find((s) => s.i >= warmup) ?? samples[0];
  const end = samples[samples.length - 1];
  const maxAfter = Math.max(...samples.filter((s) => s.i >= warmup).map((s) => s.wasm));
  return {
    iterations: end.i,
    warmup,
    wasm: { start: samples[0].wasm, afterWarmup: atWarmup.wasm, max: maxAfter, end: end.wasm },
    heap: { start: samples[0].heap, afterWarmup: atWarmup.heap, end: end.heap },
    samples,
  };
}

/** The input for iteration `i`: RGBA of a cycled size, or a golden JPEG's bytes every third. */
export function makeInput(i, jpegs) {
  if (i % 3 === 2) return jpegs[i % jpegs.length];
  const [width, height] = SIZES[i % SIZES.length];
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < data.length; p += 997) data[p] = (p * 31 + i) & 255;
  return { data, width, height };
}

export async function goldenJpegs(n = 12) {
  const files = (await readdir(golden)).sort().slice(0, n);
  return Promise.all(files.map(async (f) => new Uint8Array(await readFile(path.join(golden, f)))));
}

/**
 * Node: `iterations` classifications with one classifier, plus a classifier created and dropped
 * without free() every `dropEvery` iterations (the FinalizationRegistry must reclaim it).
 */
export async function soakNode(iterations, { every = Math.max(1, Math.floor(iterations / 20)), dropEvery = 500 } = {}) {
  const { Classifier } = await import(pathToFileURL(path.join(root, 'pkg/node.js')).href);
  const jpegs = await goldenJpegs();
  const small = await readFile(path.join(modelsDir, 'mobilenet_v1_0.25_128_quant/mobilenet_v1_0.25_128_quant.tflite'));
  const clf = await Classifier.load();
  const warmup = Math.max(2 * SIZES.length * 3, Math.floor(iterations / 10));
  const samples = [];
  const sample = async (i) => {
    gc();
    await new Promise((r) => setTimeout(r, 0)); // lets finalizers run
    gc();
    samples.push({ i, wasm: clf.stats().memoryBytes, heap: process.memoryUsage().heapUsed });
  };
  await sample(0);
  for (let i = 1; i <= iterations; i++) {
    const top = await clf.classify(makeInput(i, jpegs), { topK: 5 });
    if (top.length !== 5) throw new Error(`iteration ${i}: ${top.length} predictions`);
    if (i % dropEvery === 0) {
      // Dropped without free(): only the FinalizationRegistry can give its memory back.
      const dropped = await Classifier.load({ model: small });
      await dropped.classify(makeInput(i, jpegs));
    }
    if (i % every === 0 || i === iterations) await sample(i);
  }
  clf.free();
  return summary(samples, warmup);
}

/** Chromium: the package in a page, `iterations` classifications of ImageData and JPEG bytes. */
export async function soakBrowser(iterations, { every = Math.max(1, Math.floor(iterations / 20)) } = {}) {
  const { launchChromium, startPackageServer } = await import('../browser/harness.js');
  const files = (await readdir(golden)).sort().slice(0, 12);
  const server = await startPackageServer();
  const browser = await launchChromium(['--js-flags=--expose-gc', '--enable-precise-memory-info']);
  try {
    const page = await browser.newPage();
    await page.goto(server.base);
    const warmup = Math.max(2 * SIZES.length * 3, Math.floor(iterations / 10));
    const samples = await page.evaluate(async ({ iterations, every, files, sizes }) => {
      const { Classifier } = await import('/pkg/browser.js');
      const clf = await Classifier.load();
      const jpegs = await Promise.all(files.map(async (f) => new Uint8Array(await (await fetch(`/golden/${f}`)).arrayBuffer())));
      const out = [];
      const sample = async (i) => {
        window.gc();
        await new Promise((r) => setTimeout(r, 0));
        window.gc();
        out.push({ i, wasm: clf.stats().memoryBytes, heap: performance.memory.usedJSHeapSize });
      };
      await sample(0);
      for (let i = 1; i <= iterations; i++) {
        let input;
        if (i % 3 === 2) input = jpegs[i % jpegs.length];
        else {
          const [w, h] = sizes[i % sizes.length];
          const data = new Uint8ClampedArray(w * h * 4);
          for (let p = 0; p < data.length; p += 997) data[p] = (p * 31 + i) & 255;
          input = new ImageData(data, w, h);
        }
        const top = await clf.classify(input, { topK: 5 });
        if (top.length !== 5) throw new Error(`iteration ${i}: ${top.length} predictions`);
        if (i % every === 0 || i === iterations) await sample(i);
      }
      clf.free();
      return out;
    }, { iterations, every, files, sizes: SIZES });
    return summary(samples, warmup);
  } finally {
    await browser.close();
    server.stop();
  }
}

const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
export function describe(where, s) {
  return `${where}: ${s.iterations} classifications (warm-up ${s.warmup}); wasm memory ${mib(s.wasm.start)} → ${mib(s.wasm.afterWarmup)} after warm-up → ${mib(s.wasm.end)} at the end (max ${mib(s.wasm.max)}); `
    + `JS heap ${mib(s.heap.start)} → ${mib(s.heap.afterWarmup)} → ${mib(s.heap.end)}`;
}

/** What a soak must show: nothing grows after warm-up (the heap within `heapSlack` bytes). */
export function assertFlat(s, heapSlack = 2 << 20) {
  if (s.wasm.max > s.wasm.afterWarmup) throw new Error(`wasm memory grew after warm-up: ${s.wasm.afterWarmup} → ${s.wasm.max}`);
  if (s.heap.end > s.heap.afterWarmup + heapSlack) throw new Error(`JS heap grew after warm-up: ${s.heap.afterWarmup} → ${s.heap.end}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { node: { type: 'string', default: '10000' }, browser: { type: 'string', default: '2000' }, json: { type: 'string' } } });
  const report = {};
  if (Number(values.node) > 0) {
    report.node = await soakNode(Number(values.node));
    console.log(describe('Node', report.node));
  }
  if (Number(values.browser) > 0) {
    report.browser = await soakBrowser(Number(values.browser));
    console.log(describe('Chromium', report.browser));
  }
  if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2));
  for (const s of Object.values(report)) assertFlat(s);
  console.log('soak: memory flat after warm-up');
}
