// The user-style files (Keras / Teachable Machine exports) through the npm package in headless
// Chromium: each loads and agrees with TFLite's top-1 on its 50 photos, passed as encoded bytes
// (the package's decoder is PIL's to the byte; a canvas decode is the browser's own).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { launchChromium, startPackageServer } from './harness.js';
import { byomDir } from '../../scripts/lib/models.mjs';
import { agreement, needed } from '../lib/byom.mjs';

const reference = JSON.parse(await readFile(path.join(byomDir(), 'reference.json'), 'utf8'));
let server;
before(async () => { server = await startPackageServer(); });
after(() => server?.stop());

test('every user-style file loads in Chromium and agrees with TFLite', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.base);
    const failures = [];
    for (const [name, { spec, photos }] of Object.entries(reference)) {
      const run = await page.evaluate(async ({ name, photos }) => {
        const { Classifier } = await import('/pkg/browser.js');
        const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
        const clf = await Classifier.load({ model: await bytes(`/byom/${name}.tflite`) });
        const out = {};
        for (const photo of photos) out[photo] = await clf.classify(await bytes(`/golden/${photo}`), { topK: clf.info.numClasses });
        const info = clf.info;
        clf.free();
        return { info, out };
      }, { name, photos: Object.keys(photos) });
      let same = 0;
      let largest = 0;
      for (const [photo, want] of Object.entries(photos)) {
        const a = agreement(run.out[photo], want);
        same += a.agrees ? 1 : 0;
        largest = Math.max(largest, a.largest);
      }
      console.log(`${name} [${run.info.simd}] ${run.info.precision}: same top-1 on ${same}/50, largest Δp ${largest.toFixed(4)}`);
      if (same < needed(spec)) failures.push(`${name}: ${same}/50`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
