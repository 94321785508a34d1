// A/B of two builds of the package in one headless Chromium session: the benchmark page of
// mobilenet-wasm runs each build alternately, `rounds` times, each visit a fresh context; for
// each build it prints the median over rounds of the visit's p50, of its model-alone p50, of its
// cold start and of the model build time. The machine's speed drifts, so only alternating runs
// in one session compare builds.
//
//   node bench/ab.mjs --a DIR --b DIR [--model REL.tflite] [--rounds 7] [--runs 30] [--query k=v]
//                     [--flag CHROMIUM_FLAG] (e.g. --flag=--js-flags=--no-wasm-lazy-compilation)
//
// DIR: a built package folder (`npm run build` writes pkg/). REL: a model path inside the
// models directory (default: MobileNetV2 uint8).
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { goldenDir, modelsDir } from '../scripts/lib/models.mjs';
import { serveStatic } from '../scripts/lib/static-server.mjs';
import { launchChromium } from '../tests/browser/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    model: { type: 'string', default: 'mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite' },
    rounds: { type: 'string', default: '7' },
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    query: { type: 'string', multiple: true, default: [] },
    flag: { type: 'string', multiple: true, default: [] },
  },
});
if (!args.a || !args.b) throw new Error('usage: node bench/ab.mjs --a DIR --b DIR [--model REL] [--rounds 7]');
const server = await serveStatic({
  mounts: [['/a/', path.resolve(args.a)], ['/b/', path.resolve(args.b)], ['/models/', modelsDir()], ['/', path.join(here, 'pages')]],
  routes: { '/input.jpg': () => ({ body: readFileSync(path.join(goldenDir(), 'n01440764_tench.JPEG')), type: 'image/jpeg' }) },
});
const browser = await launchChromium(args.flag);
const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
const p50 = (v) => median(v);
const results = { a: [], b: [] };
try {
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const side of round % 2 ? ['b', 'a'] : ['a', 'b']) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const query = new URLSearchParams({ pkg: side, model: args.model, runs: args.runs, warmup: args.warmup });
      for (const kv of args.query) query.append(...kv.split('='));
      await page.goto(`${server.base}mobilenet-wasm.html?${query}`);
      await page.waitForFunction(() => window.__bench || window.__benchError, null, { timeout: 600000 });
      const out = await page.evaluate(() => window.__bench ?? { error: window.__benchError });
      await context.close();
      if (out.error) throw new Error(`${side}: ${out.error}`);
      results[side].push({ p50: p50(out.times), model: p50(out.modelTimes), cold: out.coldStartMs, build: out.buildMs, top: out.top });
    }
  }
} finally {
  await browser.close();
  await server.stop();
}
console.log(`A/B in Chromium ${browser.version()} ${args.flag.join(' ')}, ${args.rounds} rounds of ${args.runs} runs, ${args.model}`);
for (const side of ['a', 'b']) {
  const r = results[side];
  const m = (k) => median(r.map((x) => x[k])).toFixed(1);
  console.log(`${side} ${path.resolve(args[side])}: p50 ${m('p50')} ms, model alone ${m('model')} ms, cold start ${m('cold')} ms, build ${m('build')} ms, top-1 ${r[0].top}`);
}
