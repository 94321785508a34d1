// Node entry: instantiates the wasm from the package folder (relaxed SIMD from Node 22 on) and reads the bundled model.
import { readFile } from 'node:fs/promises';
import { initSync } from './mobilenet_wasm.js';
import { makeClassifier, pickSimd } from './core.js';

let ready = null;
let wasm = null;
const here = (name) => new URL(name, import.meta.url);

export const Classifier = makeClassifier({
  init(simd) {
    ready ??= (async () => {
      const file = pickSimd(simd) === 'relaxed-simd' ? './mobilenet_wasm_relaxed_bg.wasm' : './mobilenet_wasm_bg.wasm';
      const t = performance.now();
      const module = await WebAssembly.compile(await readFile(here(file)));
      wasm = initSync({ module });
      return performance.now() - t;
    })();
    return ready;
  },
  async defaultModel() {
    return new Uint8Array(await readFile(here('./models/default.tflite')));
  },
  async defaultLabels() {
    return (await readFile(here('./models/labels.txt'), 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean);
  },
  memoryBytes: () => wasm?.memory.buffer.byteLength ?? 0,
});
export default Classifier;
