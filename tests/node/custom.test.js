// Custom classes through the npm package in Node: examples from encoded bytes, kNN, training
// in the wasm, save/load, the TFLite export loaded back, and every refusal coded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Classifier, CustomClassifier } from '../../pkg/node.js';
import path from 'node:path';
import { coarsePhotos } from '../../scripts/lib/coarse.mjs';
import { modelsDir } from '../../scripts/lib/models.mjs';

const groups = coarsePhotos(['dog', 'vehicle', 'food']);
const spread = (list, n) => Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]);
const sets = Object.fromEntries(Object.entries(groups).map(([name, photos]) => {
  const picked = spread(photos, 16);
  return [name, { train: picked.filter((_, i) => i % 4 === 0), test: picked.filter((_, i) => i % 4 !== 0) }];
}));
const read = (p) => readFile(p);

async function accuracy(custom, options) {
  let right = 0;
  let n = 0;
  for (const [name, { test: photos }] of Object.entries(sets)) {
    for (const p of photos) {
      const [top] = await custom.classify(await read(p), options);
      right += top.label === name ? 1 : 0;
      n += 1;
    }
  }
  return right / n;
}

test('custom classes: kNN, training, save/load and the TFLite export', async () => {
  const base = await Classifier.load();
  const custom = await CustomClassifier.create(base);
  for (const [name, { train }] of Object.entries(sets)) {
    for (const p of train) await custom.addExample(await read(p), name);
  }
  assert.deepEqual(custom.classes, ['dog', 'vehicle', 'food']);
  assert.equal(custom.exampleCount('dog'), 4);
  assert.equal(custom.trained, false);
  const knn = await accuracy(custom);
  console.log(`kNN, 4 shots × 3 classes: ${(knn * 100).toFixed(1)} % on 36 photos`);
  assert.ok(knn >= 0.75, `kNN accuracy ${knn}`);
  await assert.rejects(custom.classify(await read(sets.dog.test[0]), { method: 'head' }), { code: 'E_ARGUMENT' });
  const progress = [];
  const report = await custom.train({ epochs: 40, seed: 3, onProgress: (r) => progress.push(r) });
  console.log(`trained: ${JSON.stringify(report)}`);
  assert.equal(progress.length, 40);
  assert.deepEqual(progress.map((r) => r.epoch), Array.from({ length: 40 }, (_, i) => i + 1));
  assert.ok(progress.at(-1).loss < progress[0].loss, 'the loss falls');
  assert.equal(report.epochs, 40);
  assert.ok(custom.trained);
  const head = await accuracy(custom);
  console.log(`trained head: ${(head * 100).toFixed(1)} % on 36 photos`);
  assert.ok(head >= 0.75, `head accuracy ${head}`);
  const photo = await read(sets.food.test[1]);
  const before = await custom.classify(photo, { topK: 3 });
  assert.equal(before.length, 3);
  assert.ok(Math.abs(before.reduce((s, p) => s + p.probability, 0) - 1) < 1e-5);
  const unknown = await custom.classify(photo, { threshold: 1 });
  assert.equal(unknown[0].label, 'unknown');

  // Saved and loaded: the same answers.
  const bytes = custom.save();
  assert.ok(bytes instanceof Uint8Array);
  console.log(`save(): ${bytes.length} bytes for ${custom.vectorCount} examples (${Math.round(bytes.length / custom.vectorCount)} per example)`);
  const again = await CustomClassifier.load(base, bytes);
  assert.deepEqual(await again.classify(photo, { topK: 3 }), before);
  const corrupt = bytes.slice();
  corrupt[corrupt.length >> 1] ^= 0xff;
  await assert.rejects(CustomClassifier.load(base, corrupt), { code: 'E_MODEL_FORMAT' });
  await assert.rejects(CustomClassifier.load(base, bytes.subarray(0, 40)), { code: 'E_MODEL_FORMAT' });
  await assert.rejects(CustomClassifier.load(base, 'nope'), { code: 'E_ARGUMENT' });
  // Another model is another base.
  const other = await Classifier.load({ model: path.join(modelsDir(), 'mobilenet_v1_0.25_128_quant/mobilenet_v1_0.25_128_quant.tflite') });
  await assert.rejects(CustomClassifier.load(other, bytes), { code: 'E_MODEL_MISMATCH' });
  other.free();

  // Exported, and loaded back as a Classifier: the same top-1, labels from its metadata.
  const tflite = await custom.exportTflite();
  const exported = await Classifier.load({ model: tflite });
  assert.equal(exported.info.labelsSource, 'metadata');
  assert.equal(exported.info.numClasses, 3);
  assert.equal(exported.info.precision, 'int8');
  let same = 0;
  let n = 0;
  for (const { test: photos } of Object.values(sets)) {
    for (const p of photos.slice(0, 4)) {
      const img = await read(p);
      const [a] = await exported.classify(img, { topK: 1 });
      const [b] = await custom.classify(img);
      same += a.label === b.label && Math.abs(a.probability - b.probability) < 1e-5 ? 1 : 0;
      n += 1;
    }
  }
  console.log(`export: ${tflite.length} bytes; same top-1 and probability as custom.classify on ${same}/${n}`);
  assert.equal(same, n);
  exported.free();

  // Refusals, then the next good call works.
  await assert.rejects(custom.addExample(await read(sets.dog.train[0]), ''), { code: 'E_ARGUMENT' });
  await assert.rejects(custom.addExample(await read(sets.dog.train[0]), 'unknown'), { code: 'E_ARGUMENT' });
  await assert.rejects(custom.addExample(new Uint8Array([1, 2, 3]), 'dog'), { code: 'E_IMAGE_DECODE' });
  await assert.rejects(custom.classify(photo, { topK: 0 }), { code: 'E_ARGUMENT' });
  await assert.rejects(custom.classify(photo, { threshold: 2 }), { code: 'E_ARGUMENT' });
  await assert.rejects(custom.classify(photo, { method: 'svm' }), { code: 'E_ARGUMENT' });
  await assert.rejects(custom.train({ epochs: 0 }), { code: 'E_ARGUMENT' });
  await assert.rejects(custom.train({ learningRate: -1 }), { code: 'E_ARGUMENT' });
  await assert.rejects(custom.train({ nope: 1 }), { code: 'E_ARGUMENT' });
  assert.equal((await custom.classify(photo))[0].label, before[0].label);
  await assert.rejects(CustomClassifier.create({}), { code: 'E_ARGUMENT' });

  // Augmented examples: more vectors, the same example count; training is deterministic.
  const aug = await CustomClassifier.create(base);
  await aug.addExample(await read(sets.dog.train[0]), 'dog', { flip: true, crop: true });
  await aug.addExample(await read(sets.food.train[0]), 'food', { flip: true });
  assert.equal(aug.exampleCount('dog'), 1);
  assert.equal(aug.vectorCount, 5);
  const t1 = await aug.train({ epochs: 5, seed: 9 });
  const s1 = aug.save();
  await aug.train({ epochs: 5, seed: 9 });
  assert.deepEqual(aug.save(), s1, 'the same seed gives the same head');
  assert.ok(t1.accuracy >= 0);
  assert.ok(aug.removeClass('dog'));
  assert.equal(aug.trained, false);
  aug.free();
  await assert.rejects(aug.classify(photo), { code: 'E_FREED' });
  custom.free();
  again.free();
  base.free();
});
