// Few-shot benchmark of the custom classes on the golden photos: coarse classes grouped from
// WordNet ids (scripts/lib/coarse.mjs), k shots per class drawn with a seed, tested on the rest,
// for kNN and the trained head, on the V2 and V3-Small bases; then the same splits on the TFLite
// interpreter's embeddings with scikit-learn (bench/fewshot_reference.py), side by side. Also
// the open-set check (photos of none of the classes, by threshold) and the memory per example.
//
//   node bench/fewshot.mjs [--shots 1,5,10] [--seeds 5] [--epochs 50] [--smoke] [--no-reference]
//
// Writes bench/fewshot-results.json; prints a table. --smoke: one base, two classes, one split.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Classifier, CustomClassifier } from '../pkg/node.js';
import { coarsePhotos, otherPhotos } from '../scripts/lib/coarse.mjs';
import { modelFiles, modelsDir, root } from '../scripts/lib/models.mjs';

const { values: args } = parseArgs({
  options: {
    shots: { type: 'string', default: '1,5,10' },
    seeds: { type: 'string', default: '5' },
    epochs: { type: 'string', default: '50' },
    smoke: { type: 'boolean', default: false },
    'no-reference': { type: 'boolean', default: false },
    lr: { type: 'string' },
    wd: { type: 'string' },
    batch: { type: 'string' },
  },
});
const smoke = args.smoke;
const shots = smoke ? [1] : args.shots.split(',').map(Number);
const seeds = smoke ? 1 : Number(args.seeds);
const epochs = smoke ? 5 : Number(args.epochs);
const folder = (f) => path.join(modelsDir(), f, modelFiles(f)[0]);
const BASES = { V2: folder('mobilenet_v2_1.0_224_quant'), 'V3-Small': folder('mobilenet_v3_small_1.0_224_uint8') };
const bases = smoke ? ['V2'] : Object.keys(BASES);
const groups = coarsePhotos();
const classes = smoke ? ['dog', 'vehicle'] : Object.keys(groups);
const others = otherPhotos().filter((_, i) => i % 3 === 0).slice(0, smoke ? 4 : 200);
const photoLimit = smoke ? 6 : Infinity;
const trainExtra = {};
if (args.lr) trainExtra.learningRate = Number(args.lr);
if (args.wd) trainExtra.weightDecay = Number(args.wd);
if (args.batch) trainExtra.batchSize = Number(args.batch);

// Seeded split: SplitMix-style LCG, the same in the reference script (it reads the splits).
function shuffled(list, seed) {
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  const a = list.slice();
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    const j = Number((s >> 33n) % BigInt(i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const name = (p) => path.basename(p);
const splits = [];
for (const k of shots) {
  for (let seed = 0; seed < seeds; seed++) {
    const train = {};
    const test = {};
    for (const c of classes) {
      const photos = shuffled(groups[c].slice(0, photoLimit), seed * 1000 + k);
      train[c] = photos.slice(0, k).map(name);
      test[c] = photos.slice(k).map(name);
    }
    splits.push({ k, seed, train, test });
  }
}

const results = { classes: Object.fromEntries(classes.map((c) => [c, groups[c].length])), epochs, splits: [], openSet: {}, memory: {} };
const byName = new Map([...classes.flatMap((c) => groups[c]), ...others].map((p) => [name(p), p]));

for (const baseName of bases) {
  const base = await Classifier.load({ model: BASES[baseName] });
  const embeddings = new Map();
  const t0 = performance.now();
  for (const [n, p] of byName) embeddings.set(n, await base.embed(readFileSync(p)));
  console.log(`${baseName}: ${embeddings.size} photos embedded in ${((performance.now() - t0) / 1000).toFixed(1)} s (${base.info.precision}, ${base.info.embeddingSize} values)`);
  const rows = [];
  for (const split of splits) {
    const custom = await CustomClassifier.create(base);
    for (const c of classes) for (const n of split.train[c]) custom.addEmbedding(embeddings.get(n), c);
    const knn = await scoreEmbeddings(custom, split, embeddings, 'knn');
    const report = await custom.train({ epochs, seed: split.seed, ...trainExtra });
    const head = await scoreEmbeddings(custom, split, embeddings, 'head');
    rows.push({ base: baseName, k: split.k, seed: split.seed, knn, head, trainMs: report.ms });
    if (split.k === Math.max(...shots) && split.seed === 0) {
      results.openSet[baseName] = await openSet(custom, split, embeddings);
      // Memory per stored example: the saved size, and the wasm heap's growth for 1,000.
      const saved = custom.save().length;
      results.memory[baseName] = await memoryPerExample(base, embeddings, saved / custom.vectorCount);
    }
    custom.free();
  }
  results.splits.push(...rows);
  base.free();
}

// Scored on the stored embeddings (classifyEmbedding: classify's own path after the backbone),
// so the backbone runs once per photo.
async function scoreEmbeddings(custom, split, embeddings, method) {
  let right = 0;
  let total = 0;
  for (const c of classes) {
    for (const n of split.test[c]) {
      const [top] = custom.classifyEmbedding(embeddings.get(n), { method, topK: 1 });
      right += top.label === c ? 1 : 0;
      total += 1;
    }
  }
  return right / total;
}

async function openSet(custom, split, embeddings) {
  const out = {};
  for (const method of ['knn', 'head']) {
    out[method] = [];
    for (const threshold of [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]) {
      let known = 0;
      let accepted = 0;
      for (const c of classes) {
        for (const n of split.test[c]) {
          const [top] = custom.classifyEmbedding(embeddings.get(n), { method, threshold });
          known += 1;
          accepted += top.label === c ? 1 : 0;
        }
      }
      let rejected = 0;
      for (const p of others) {
        const [top] = custom.classifyEmbedding(embeddings.get(name(p)), { method, threshold });
        rejected += top.label === 'unknown' ? 1 : 0;
      }
      out[method].push({ threshold, inClassCorrect: accepted / known, otherRejected: rejected / others.length });
    }
  }
  return out;
}

async function memoryPerExample(base, embeddings, savedPerExample) {
  const custom = await CustomClassifier.create(base);
  const vectors = [...embeddings.values()];
  const size = base.info.embeddingSize;
  const wasm0 = base.stats().memoryBytes;
  const held = [];
  for (let i = 1; i <= 10000; i++) {
    custom.addEmbedding(vectors[i % vectors.length], `c${i % 10}`);
    if (i === 1000 || i === 10000) held.push({ examples: i, heldBytes: custom.memoryBytes, perExample: custom.memoryBytes / i, wasmGrowthBytes: base.stats().memoryBytes - wasm0 });
  }
  custom.free();
  return { embeddingBytes: size * 4, held, savedBytesPerExample: Math.round(savedPerExample) };
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const table = [];
for (const baseName of bases) {
  for (const k of shots) {
    const rows = results.splits.filter((r) => r.base === baseName && r.k === k);
    table.push({ base: baseName, k, knn: mean(rows.map((r) => r.knn)), head: mean(rows.map((r) => r.head)), trainMs: mean(rows.map((r) => r.trainMs)) });
  }
}
results.summary = table;

// The reference: the same splits on the TFLite interpreter's embeddings, scikit-learn.
if (!args['no-reference']) {
  const tmp = path.join(root, 'bench/.cache');
  mkdirSync(tmp, { recursive: true });
  const job = path.join(tmp, 'fewshot-splits.json');
  writeFileSync(job, JSON.stringify({ bases: Object.fromEntries(bases.map((b) => [b, BASES[b]])), classes, splits, others: others.map(name), golden: path.dirname([...byName.values()][0]) }));
  try {
    execFileSync('python3', ['-c', 'import sklearn, ai_edge_litert']);
  } catch {
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', 'scikit-learn==1.6.1', 'ai-edge-litert'], { stdio: 'inherit' });
  }
  const ref = JSON.parse(execFileSync('python3', [path.join(root, 'bench/fewshot_reference.py'), job], { maxBuffer: 1 << 26 }).toString());
  results.reference = ref;
  for (const row of table) {
    const r = ref.summary.find((x) => x.base === row.base && x.k === row.k);
    Object.assign(row, { refKnn: r.knn, refLogreg: r.logreg });
  }
}

const pct = (x) => (x === undefined ? '—' : `${(x * 100).toFixed(1)}`);
console.log('\nbase      k  kNN (ours)  kNN (sklearn, TFLite embeddings)  head (ours)  logistic regression (sklearn)  train ms');
for (const r of table) {
  console.log(`${r.base.padEnd(9)} ${String(r.k).padStart(2)}  ${pct(r.knn).padStart(10)}  ${pct(r.refKnn).padStart(32)}  ${pct(r.head).padStart(11)}  ${pct(r.refLogreg).padStart(30)}  ${r.trainMs.toFixed(1).padStart(8)}`);
}
console.log('\nopen set (k = max, seed 0): threshold → in-class correct / other photos rejected');
for (const [b, o] of Object.entries(results.openSet)) {
  for (const [m, rows] of Object.entries(o)) console.log(`${b} ${m}: ${rows.map((r) => `${r.threshold}: ${pct(r.inClassCorrect)} / ${pct(r.otherRejected)}`).join('  ')}`);
}
console.log('\nmemory:', JSON.stringify(results.memory));
if (!smoke) writeFileSync(path.join(root, 'bench/fewshot-results.json'), JSON.stringify(results, null, 2));
if (smoke && !(table.every((r) => r.knn > 0 && r.head > 0))) throw new Error('few-shot smoke run: no class recognised');
