// Side-by-side benchmark: mobilenet-wasm against TFLite's own web runtime (on the very same
// .tflite files), ONNX Runtime Web and TF.js-wasm (MobileNetV2 1.0/224 with generated weights),
// in one headless Chromium session, at one thread each and at two (each runtime's own thread
// option; the pages are cross-origin isolated), plus a native run of our crate.
//
//   node bench/run.mjs [--runs 50] [--warmup 5] [--cold 5] [--json FILE] [--smoke]
//
// Each runtime gets a fresh browser context (empty cache), the same 224×224 input, its
// runtime + model loaded and one inference (cold start), warm-up, then `runs` timed
// single-image inferences. The cold start is the median of `cold` such fresh visits (one
// visit's is noise on a shared machine). Files are served gzip-compressed, so downloadBytes is
// on the wire.
// --smoke: one timed run, no warm-up, no RESULTS.md (for CI: proves every runtime still runs).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuInfo, cpuLine } from '../scripts/lib/cpu.mjs';
import { byomDir, goldenDir, modelsDir as resolveModelsDir, root } from '../scripts/lib/models.mjs';
import { ISOLATED, serveStatic } from '../scripts/lib/static-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = resolveModelsDir();
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    cold: { type: 'string', default: '5' },
    json: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const runs = args.smoke ? 1 : Number(args.runs);
const warmup = args.smoke ? 0 : Number(args.warmup);
const coldVisits = args.smoke ? 1 : Math.max(1, Number(args.cold));
if (!existsSync(path.join(root, 'pkg/browser.js'))) throw new Error('pkg/ is not built: run `npm run build` first');

// Peers and the ONNX model are installed / generated on first use.
if (!existsSync(path.join(here, 'node_modules/onnxruntime-web'))) {
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
}
const onnxFile = path.join(here, '.cache/mobilenet_v2_1.0_224.onnx');
if (!existsSync(onnxFile)) {
  try {
    execFileSync('python3', ['-c', 'import onnx']);
  } catch {
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '-r', path.join(here, 'requirements.txt')], { stdio: 'inherit' });
  }
  mkdirSync(path.dirname(onnxFile), { recursive: true });
  execFileSync('python3', [path.join(here, 'make_onnx.py'), onnxFile], { stdio: 'inherit' });
}

// `byom/…` files are the user-style exports beside the models directory (random weights: their
// top class is not compared across runtimes, the crops differ and such nets flip on a pixel).
const MODELS = {
  'MobileNetV2 1.0/224': { tflite: 'mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite', onnx: true, int8: true },
  'MobileNetV1 0.75/224': { tflite: 'mobilenet_v1_0.75_224_quant/mobilenet_v1_0.75_224_quant.tflite', int8: true },
  'MobileNetV3-Small 1.0/224': { tflite: 'mobilenet_v3_small_1.0_224_uint8/v3-small_224_1.0_uint8.tflite', int8: true },
  'MobileNetV3-Large 1.0/224': { tflite: 'byom/keras_v3l_100_224_top1000_int8_prep.tflite', int8: true },
};
const fileOf = (m) => (m.tflite.startsWith('byom/') ? path.join(byomDir(), m.tflite.slice(5)) : path.join(modelsDir, m.tflite));
const cases = [];
for (const [model, m] of Object.entries(MODELS)) {
  if (!existsSync(fileOf(m))) throw new Error(`${fileOf(m)} not found`);
  const precision = m.int8 ? 'int8' : 'float32';
  cases.push({ name: 'mobilenet-wasm', model, page: 'mobilenet-wasm', query: { model: m.tflite }, ours: true, note: `${precision}, relaxed SIMD build` });
  cases.push({ name: 'mobilenet-wasm simd128', model, page: 'mobilenet-wasm', query: { model: m.tflite, simd: 'simd128' }, note: `${precision}, simd128 build` });
  if (m.int8) cases.push({ name: 'mobilenet-wasm float32', model, page: 'mobilenet-wasm', query: { model: m.tflite, precision: 'float32' }, note: 'float32, relaxed SIMD build' });
  cases.push({ name: 'mobilenet-wasm burn ops', model, page: 'mobilenet-wasm', query: { model: m.tflite, simd: 'simd128', kernels: '0' }, note: `${precision}, simd128 build, kernels off: burn-flex ops` });
  cases.push({ name: 'mobilenet-wasm 2 threads', model, page: 'mobilenet-wasm', query: { model: m.tflite, threads: '2' }, note: `${precision}, threaded relaxed SIMD build` });
  cases.push({ name: 'tflite-web', model, page: 'tflite-web', query: { model: m.tflite } });
  cases.push({ name: 'tflite-web 2 threads', model, page: 'tflite-web', query: { model: m.tflite, threads: '2' } });
  if (m.onnx) {
    cases.push({ name: 'onnxruntime-web', model, page: 'onnxruntime-web', query: { model: path.basename(onnxFile) }, note: 'generated weights, f32' });
    cases.push({ name: 'onnxruntime-web 2 threads', model, page: 'onnxruntime-web', query: { model: path.basename(onnxFile), threads: '2' }, note: 'generated weights, f32' });
    cases.push({ name: 'tfjs-wasm', model, page: 'tfjs-wasm', query: {}, note: 'generated weights built in the page: no model download' });
    cases.push({ name: 'tfjs-wasm 2 threads', model, page: 'tfjs-wasm', query: { threads: '2' }, note: 'generated weights built in the page: no model download' });
  }
}

// Static files, gzip-compressed once and kept; cross-origin isolated, so that every runtime can
// start threads (each page runs one unless its case asks for two).
const server = await serveStatic({
  mounts: [['/pkg/', path.join(root, 'pkg')], ['/node_modules/', path.join(here, 'node_modules')],
    ['/models/byom/', byomDir()], ['/models/', modelsDir], ['/cache/', path.join(here, '.cache')], ['/', path.join(here, 'pages')]],
  routes: { '/input.jpg': () => ({ body: readFileSync(path.join(goldenDir(), 'n01440764_tench.JPEG')), type: 'image/jpeg' }) },
  gzip: true,
  headers: ISOLATED,
});
const base = server.base.replace(/\/$/, '');

const { launchChromium } = await import('../tests/browser/harness.js');
const browser = await launchChromium();
const chromium = browser.version();
const cpu = cpuInfo();
console.log(`${cpuLine(cpu)}; Chromium ${chromium}`);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const results = [];
async function visit(c, n, w) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const query = new URLSearchParams({ ...c.query, runs: String(n), warmup: String(w) });
  await page.goto(`${base}/${c.page}.html?${query}`);
  await page.waitForFunction(() => window.__bench || window.__benchError, null, { timeout: 600000 });
  const out = await page.evaluate(() => window.__bench ?? { error: window.__benchError });
  await context.close();
  if (out.error) throw new Error(`${c.name} on ${c.model} failed: ${out.error}\n${errors.join('\n')}`);
  return out;
}
try {
  const selected = cases.filter((c) => !args.only || `${c.name} ${c.model}`.includes(args.only));
  // One untimed visit each first, so the server has compressed every file before any cold start.
  if (!args.smoke) for (const c of selected) await visit(c, 1, 0);
  for (const c of selected) {
    const out = await visit(c, runs, warmup);
    // More fresh visits for the cold start: its median, with this visit's.
    const colds = [out.coldStartMs];
    for (let i = 1; i < coldVisits; i++) colds.push((await visit(c, 0, 0)).coldStartMs);
    out.coldStartMs = colds.sort((a, b) => a - b)[Math.floor(colds.length / 2)];
    const sorted = [...out.times].sort((a, b) => a - b);
    const r = {
      name: c.name, model: c.model, runs: sorted.length,
      p50Ms: +percentile(sorted, 50).toFixed(2), p95Ms: +percentile(sorted, 95).toFixed(2),
      coldStartMs: +out.coldStartMs.toFixed(1), downloadBytes: out.downloadBytes, top: out.top,
      note: [c.note, out.note].filter(Boolean).join(', '),
    };
    if (out.modelTimes.length) r.modelP50Ms = +percentile([...out.modelTimes].sort((a, b) => a - b), 50).toFixed(2);
    results.push(r);
    const alone = r.modelP50Ms ? `  (model alone p50 ${r.modelP50Ms.toFixed(1)} ms)` : '';
    console.log(`${c.model.padEnd(26)} ${c.name.padEnd(26)} p50 ${r.p50Ms.toFixed(1).padStart(6)} ms  p95 ${r.p95Ms.toFixed(1).padStart(6)} ms  cold ${r.coldStartMs.toFixed(0).padStart(5)} ms  ${(r.downloadBytes / 1e6).toFixed(2)} MB${alone}`);
  }
} finally {
  await browser.close();
  await server.stop();
}

// The same file must give the same class in each of our builds and in TFLite's runtime (TFLite
// counts the background class at index 0; we drop it).
for (const [model, m] of Object.entries(MODELS)) {
  if (m.tflite.startsWith('byom/')) continue;
  const tfl = results.find((r) => r.name === 'tflite-web' && r.model === model);
  for (const ours of results.filter((r) => r.name.startsWith('mobilenet-wasm') && r.model === model)) {
    if (tfl && ours.top + 1 !== tfl.top) throw new Error(`${model}: ${ours.name} top class ${ours.top} but tflite-web ${tfl.top - 1}`);
  }
}

// Native: our crate on the same files, burn-flex and burn-ndarray (`mobilenet bench`).
const native = [];
const nativeCases = ['flex', 'ndarray'].flatMap((backend) => Object.entries(MODELS).map(([model, m]) => ({ backend, model, m })))
  .filter(({ backend, model }) => !args.only || `native ${backend} ${model}`.includes(args.only));
const binary = args.smoke ? path.join(root, 'target/debug/mobilenet') : path.join(root, 'target/bench-native/mobilenet');
if (nativeCases.length && !args.smoke) execFileSync('cargo', ['build', '--profile', 'bench-native', '--features', 'ndarray', '--bin', 'mobilenet'], { cwd: root, stdio: 'inherit' });
for (const { backend, model, m } of nativeCases) {
  if (!existsSync(binary)) throw new Error(`${binary} not built`);
  const n = backend === 'ndarray' && !args.smoke ? Math.min(runs, 10) : runs;
  const [row] = JSON.parse(execFileSync(binary, ['bench', '--model', fileOf(m), '--runs', String(n), '--warmup', String(Math.min(warmup, 2)), '--backend', backend, '--json'], { encoding: 'utf8' }));
  native.push({ name: `native burn-${backend}`, model, runs: row.runs, p50Ms: +row.p50Ms.toFixed(2), p95Ms: +row.p95Ms.toFixed(2), buildMs: +row.buildMs.toFixed(1) });
  console.log(`${model.padEnd(26)} native burn-${backend.padEnd(8)} p50 ${row.p50Ms.toFixed(1).padStart(6)} ms  p95 ${row.p95Ms.toFixed(1).padStart(6)} ms`);
}

if (args.json) {
  writeFileSync(args.json, JSON.stringify({ cpu, chromium, runs, warmup, smoke: args.smoke, results: results.map(({ name, model, p50Ms, p95Ms, modelP50Ms, coldStartMs, downloadBytes, runs: n, note }) => ({ name, model, p50Ms, p95Ms, modelP50Ms, coldStartMs, downloadBytes, runs: n, note })), native }, null, 2));
  console.log(`wrote ${args.json}`);
}
if (!args.smoke && !args.only) {
  // The generated tables replace the top of the file; the step-by-step history below the
  // marker is written by hand and kept.
  const file = path.join(here, 'RESULTS.md');
  const marker = '<!-- history: kept by bench/run.mjs -->';
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const history = previous.includes(marker) ? previous.slice(previous.indexOf(marker)) : `${marker}\n`;
  writeFileSync(file, `${markdown()}\n${history}`);
  console.log('wrote bench/RESULTS.md');
}

function markdown() {
  const mb = (b) => (b / 1e6).toFixed(2);
  const lines = [
    '# Benchmark results', '',
    `Produced by \`npm run bench\` (bench/run.mjs) on ${new Date().toISOString().slice(0, 10)}: ${cpuLine(cpu)}, `
      + `Chromium ${chromium} headless, Node ${process.version}; one thread each, and two in the \`2 threads\` rows (compared with ours at two), ${runs} timed single-image inferences after ${warmup} warm-up runs, `
      + 'fresh browser context (empty cache) per runtime, files served gzip-compressed. mobilenet-wasm times `classify(ImageData)` end to end '
      + '(resize to 256, centre crop, normalise, model, softmax, top 5; "model alone" is its `stats().inference` over the same runs); '
      + 'the peers time their model call on a prepared tensor. '
      + `Cold start = runtime scripts + wasm + model fetched, compiled, built, and the first inference; the median of ${coldVisits} fresh visits. `
      + 'Ratios are mobilenet-wasm ÷ peer at the same thread count (below 1.00: we are faster / smaller).', '',
  ];
  for (const model of Object.keys(MODELS)) {
    const rows = results.filter((r) => r.model === model);
    const ours = rows.find((r) => r.name === 'mobilenet-wasm');
    // The 2-thread rows are compared with ours at two threads.
    const ours2 = rows.find((r) => r.name === 'mobilenet-wasm 2 threads');
    lines.push(`## ${model}`, '', '| runtime | p50 ms | model alone p50 ms | p95 ms | cold start ms | download MB | p50 ratio | cold ratio | download ratio | note |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const base = r.name.endsWith(' 2 threads') && ours2 ? ours2 : ours;
      const ratio = (a, b) => (r === base ? '—' : (a / b).toFixed(2));
      const note = r === ours2 ? `${r.note}; ${(ours.p50Ms / r.p50Ms).toFixed(2)}× our 1-thread speed` : r.note ?? '';
      lines.push(`| ${r.name} | ${r.p50Ms.toFixed(1)} | ${r.modelP50Ms?.toFixed(1) ?? '—'} | ${r.p95Ms.toFixed(1)} | ${r.coldStartMs.toFixed(0)} | ${mb(r.downloadBytes)} | ${ratio(base.p50Ms, r.p50Ms)} | ${ratio(base.coldStartMs, r.coldStartMs)} | ${ratio(base.downloadBytes, r.downloadBytes)} | ${note} |`);
    }
    for (const n of native.filter((x) => x.model === model)) lines.push(`| ${n.name} (x86_64) | ${n.p50Ms.toFixed(1)} | — | ${n.p95Ms.toFixed(1)} | build ${n.buildMs.toFixed(0)} | — | — | — | — | ${n.runs} runs |`);
    lines.push('');
  }
  return lines.join('\n');
}
