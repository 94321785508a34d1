// Browser / bundler entry: fetches the wasm next to this file (webpack 5 and other bundlers
// follow `new URL(…, import.meta.url)`), compiling it while it streams.
import init from './mobilenet_wasm.js';
import { makeClassifier } from './core.js';

let ready = null;
let wasm = null;
const wasmUrl = new URL('./mobilenet_wasm_bg.wasm', import.meta.url);
const modelUrl = new URL('./models/default.tflite', import.meta.url);
const labelsUrl = new URL('./models/labels.txt', import.meta.url);

export const Classifier = makeClassifier({
  init() {
    ready ??= (async () => {
      const t = performance.now();
      wasm = await init({ module_or_path: wasmUrl });
      return performance.now() - t;
    })();
    return ready;
  },
  async defaultModel() {
    return new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  },
  async defaultLabels() {
    return (await (await fetch(labelsUrl)).text()).split('\n').map((l) => l.trim()).filter(Boolean);
  },
  memoryBytes: () => wasm?.memory.buffer.byteLength ?? 0,
});
export default Classifier;
