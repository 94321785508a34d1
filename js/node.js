// Node entry: instantiates the wasm from the package folder (relaxed SIMD from Node 22 on) and reads the bundled model.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { initSync } from './mobilenet_wasm.js';
import { codedError, fetchBytes, makeClassifier, once, pickSimd } from './core.js';

let wasm = null;
const here = (name) => new URL(name, import.meta.url);

// A model or label source given as a string: an http(s) URL is fetched, anything else is a
// file path (or a file: URL).
async function readSource(source, signal) {
  const text = String(source);
  if (/^https?:\/\//i.test(text)) return fetchBytes(text, signal);
  const file = /^file:/i.test(text) ? fileURLToPath(text) : text;
  try {
    return new Uint8Array(await readFile(file, { signal }));
  } catch (e) {
    if (e.name === 'AbortError') throw codedError('E_ABORTED', 'the load was aborted', e);
    throw codedError('E_IO', `could not read ${file}: ${e.message}`, e);
  }
}

export const Classifier = makeClassifier({
  init: once(async (simd) => {
    const file = pickSimd(simd) === 'relaxed-simd' ? './mobilenet_wasm_relaxed_bg.wasm' : './mobilenet_wasm_bg.wasm';
    const t = performance.now();
    const module = await WebAssembly.compile(await readFile(here(file)));
    wasm = initSync({ module });
    return performance.now() - t;
  }),
  readSource,
  async defaultModel() {
    return new Uint8Array(await readFile(here('./models/default.tflite')));
  },
  async defaultLabels() {
    return (await readFile(here('./models/labels.txt'), 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean);
  },
  memoryBytes: () => wasm?.memory.buffer.byteLength ?? 0,
});
export default Classifier;
export { CustomClassifier } from './custom.js';
