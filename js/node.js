// Node entry: instantiates the wasm from the package folder and reads the bundled model.
import { readFile } from 'node:fs/promises';
import { initSync } from './mobilenet_wasm.js';
import { makeClassifier } from './core.js';

let ready = null;
let wasm = null;
const here = (name) => new URL(name, import.meta.url);

export const Classifier = makeClassifier({
  init() {
    ready ??= (async () => {
      const t = performance.now();
      const module = await WebAssembly.compile(await readFile(here('./mobilenet_wasm_bg.wasm')));
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
