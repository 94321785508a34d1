// How a page or a worker instantiates the wasm next to this file (the relaxed-SIMD build where
// the engine supports it, else the simd128 one; their threaded builds where the page is
// cross-origin isolated and more than one thread is wanted), compiling it while it streams, and
// reads the bundled model. Bundlers (webpack 5, Vite) follow `new URL(…, import.meta.url)` and
// the dynamic import of the threaded glue.
import init from './mobilenet_wasm.js';
import { fetchBytes, once, pickSimd } from './core.js';
import { useGlue } from './glue.js';

let wasm = null;
const wasmUrls = {
  'relaxed-simd': new URL('./mobilenet_wasm_relaxed_bg.wasm', import.meta.url),
  simd128: new URL('./mobilenet_wasm_bg.wasm', import.meta.url),
};
const threadedUrls = {
  'relaxed-simd': new URL('./mobilenet_wasm_threads_relaxed_bg.wasm', import.meta.url),
  simd128: new URL('./mobilenet_wasm_threads_bg.wasm', import.meta.url),
};
const modelUrl = new URL('./models/default.tflite', import.meta.url);
const labelsUrl = new URL('./models/labels.txt', import.meta.url);

export const browserEnv = {
  init: once(async (simd, threads = 1) => {
    const level = pickSimd(simd);
    const t = performance.now();
    if (threads > 1) {
      // The threaded glue: shared memory, and workers that instantiate the same module on it.
      const threaded = await import('./mobilenet_wasm_threads.js');
      wasm = await threaded.default({ module_or_path: threadedUrls[level] });
      // The calling thread computes a strip of every convolution too: threads − 1 workers.
      await threaded.initThreadPool(threads - 1);
      useGlue(threaded);
    } else {
      wasm = await init({ module_or_path: wasmUrls[level] });
    }
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
