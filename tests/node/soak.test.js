// Soak, smoke size (the full run is `npm run soak`): mixed sizes and kinds of input, wasm memory
// and JS heap flat after warm-up, and classifiers dropped without free() reclaimed by the
// FinalizationRegistry (without it, each would keep its weights in wasm memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soakNode, describe, assertFlat } from '../soak/soak.mjs';

test('Node: 400 mixed classifications and 16 dropped classifiers, memory flat after warm-up', async () => {
  const s = await soakNode(400, { every: 20, dropEvery: 25 });
  console.log(describe('Node', s));
  assert.equal(s.iterations, 400);
  assert.doesNotThrow(() => assertFlat(s));
});
