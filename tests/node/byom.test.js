// The user-style files (Keras / Teachable Machine exports) through the npm package in Node:
// each loads, describes itself, and agrees with TFLite's top-1 on its 50 photos, which the
// package decodes itself (the same decoder and resize as PIL's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Classifier } from '../../pkg/node.js';
import { byomDir, goldenDir } from '../../scripts/lib/models.mjs';
import { agreement, needed } from '../lib/byom.mjs';

const dir = byomDir();
const golden = goldenDir();
const reference = JSON.parse(await readFile(path.join(dir, 'reference.json'), 'utf8'));

test('every user-style file loads in Node and agrees with TFLite', async () => {
  const names = Object.keys(reference);
  assert.ok(names.length >= 9, `expected the 9 user-style files, found ${names.length}`);
  const failures = [];
  for (const name of names) {
    const { spec, photos } = reference[name];
    const clf = await Classifier.load({ model: await readFile(path.join(dir, `${name}.tflite`)) });
    const info = clf.info;
    assert.equal(info.resolution, spec.res, name);
    assert.match(info.head, /→/, name);
    assert.equal(info.labelsSource, info.numClasses === 1000 ? 'imagenet' : 'numbered', name);
    let same = 0;
    let largest = 0;
    for (const [photo, want] of Object.entries(photos)) {
      const top = await clf.classify(await readFile(path.join(golden, photo)), { topK: info.numClasses });
      const a = agreement(top, want);
      same += a.agrees ? 1 : 0;
      largest = Math.max(largest, a.largest);
    }
    console.log(`${name}: ${info.version} α ${info.widthMultiplier} ${info.resolution} ${info.precision}, ${info.head}: same top-1 on ${same}/50, largest Δp ${largest.toFixed(4)}`);
    if (same < needed(spec)) failures.push(`${name}: ${same}/50`);
    clf.free();
  }
  assert.deepEqual(failures, []);
});
