// Soak in Chromium, smoke size (the full run is `npm run soak`): ImageData of mixed sizes and
// JPEG bytes; wasm memory and JS heap flat after warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soakBrowser, describe, assertFlat } from '../soak/soak.mjs';

test('Chromium: 150 mixed classifications, memory flat after warm-up', async () => {
  const s = await soakBrowser(150, { every: 10 });
  console.log(describe('Chromium', s));
  assert.equal(s.iterations, 150);
  assert.doesNotThrow(() => assertFlat(s));
});
