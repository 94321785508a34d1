// Cloudflare Workers (workerd) entry: the wasm is imported as a compiled module (no runtime
// compilation), the relaxed-SIMD build (Workers run a current V8); pass the model bytes to
// Classifier.load({ model }).
import wasmModule from './mobilenet_wasm_relaxed_bg.wasm';
import { initSync } from './mobilenet_wasm.js';
import { makeClassifier, codedError } from './core.js';

let wasm = null;
export const Classifier = makeClassifier({
  init(simd) {
    if (simd !== undefined && simd !== 'relaxed-simd') return Promise.reject(codedError('E_ARGUMENT', 'Workers load the relaxed-SIMD build'));
    const t = Date.now();
    try {
      wasm ??= initSync({ module: wasmModule });
    } catch (e) {
      return Promise.reject(codedError('E_INTERNAL', `the wasm did not instantiate: ${e.message}`, e));
    }
    return Promise.resolve(Date.now() - t);
  },
  async readSource() {
    throw codedError('E_ARGUMENT', 'in Workers, import the model as a data module and pass its bytes as { model }');
  },
  async defaultModel() {
    throw codedError('E_ARGUMENT', 'in Workers, import a model as a data module and pass it as { model }');
  },
  async defaultLabels() {
    return undefined;
  },
  memoryBytes: () => wasm?.memory.buffer.byteLength ?? 0,
});
export default Classifier;
export { CustomClassifier } from './custom.js';
