// How a page or a worker instantiates the wasm next to this file (the relaxed-SIMD build where
// the engine supports it, else the simd128 one), compiling it while it streams, and reads the
// bundled model. Bundlers (webpack 5, Vite) follow `new URL(…, import.meta.url)`.
import init from './mobilenet_wasm.js';
import { fetchBytes, once, pickSimd } from './core.js';

let wasm = null;
const wasmUrls = {
  'relaxed-simd': new URL('./mobilenet_wasm_relaxed_bg.wasm', import.meta.url),
  simd128: new URL('./mobilenet_wasm_bg.wasm', import.meta.url),
};
const modelUrl = new URL('./models/default.tflite', import.meta.url);
const labelsUrl = new URL('./models/labels.txt', import.meta.url);

export const browserEnv = {
  init: once(async (simd) => {
    const url = wasmUrls[pickSimd(simd)];
    const t = performance.now();
    wasm = await init({ module_or_path: url });
    return performance.now() - t;
  }),
  // Coded errors for a failed fetch (an error page must not become the model or the labels).
  defaultModel: () => fetchBytes(modelUrl),
  async defaultLabels() {
    const text = new TextDecoder().decode(await fetchBytes(labelsUrl));
    return text.split('\n').map((l) => l.trim()).filter(Boolean);
  },
  memoryBytes: () => wasm?.memory.buffer.byteLength ?? 0,
};
