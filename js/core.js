// The environment-neutral half of the package: the Classifier API over the wasm-bindgen module.
// Entry points (browser.js, node.js, workerd.js) differ only in how they instantiate the wasm
// and read the bundled model.
import { WasmClassifier, simdLevel } from './mobilenet_wasm.js';

const now = () => (globalThis.performance ? performance.now() : Date.now());

export function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

// The smallest module using f32x4.relaxed_madd: it validates only where relaxed SIMD is enabled.
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, // magic, version
  1, 5, 1, 96, 0, 1, 123, // types: () -> v128
  3, 2, 1, 0, // one function of type 0
  10, 61, 1, 59, 0, // code: one body of 59 bytes, no locals
  ...[0, 1, 2].flatMap(() => [253, 12, ...new Array(16).fill(0)]), // v128.const 0, three times
  253, 133, 2, 11, // f32x4.relaxed_madd, end
]);

/**
 * Which build to load: `requested` ('relaxed-simd' or 'simd128') or, by default, relaxed SIMD
 * (fused multiply-add) where the engine validates it, else plain simd128.
 */
export function pickSimd(requested) {
  const relaxed = WebAssembly.validate(RELAXED_PROBE);
  if (requested === undefined) return relaxed ? 'relaxed-simd' : 'simd128';
  if (requested === 'simd128' || (requested === 'relaxed-simd' && relaxed)) return requested;
  if (requested === 'relaxed-simd') throw codedError('E_ARGUMENT', 'this engine does not support relaxed SIMD');
  throw codedError('E_ARGUMENT', `simd must be 'relaxed-simd' or 'simd128', not ${JSON.stringify(requested)}`);
}

/**
 * Hex sha256 of each file, computed natively (WebCrypto) while the wasm compiles; `null` where
 * WebCrypto is missing (plain-http pages), and the wasm hashes them itself.
 */
async function digests(files) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  try {
    const hashes = await Promise.all(files.map((f) => subtle.digest('SHA-256', f)));
    return hashes.map((h) => Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, '0')).join(''));
  } catch {
    return null;
  }
}

function toBytes(x) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return null;
}

export async function fetchBytes(url) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw codedError('E_IO', `could not fetch ${url}: ${e.message}`);
  }
  if (!res.ok) throw codedError('E_IO', `could not fetch ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Reads RGBA pixels from any supported image source. */
function pixelsOf(input) {
  if (input && input.data && typeof input.width === 'number' && typeof input.height === 'number' && !(typeof ImageData !== 'undefined' && input instanceof ImageData)) {
    const data = toBytes(input.data);
    if (!data) throw codedError('E_INPUT_SIZE', 'data must be a Uint8Array or Uint8ClampedArray');
    return { data, width: input.width, height: input.height };
  }
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) {
    return { data: new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength), width: input.width, height: input.height };
  }
  const width = input.videoWidth || input.naturalWidth || input.displayWidth || input.codedWidth || input.width;
  const height = input.videoHeight || input.naturalHeight || input.displayHeight || input.codedHeight || input.height;
  if (!width || !height) throw codedError('E_INPUT_SIZE', `image source is ${width}x${height}`);
  const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(input, 0, 0, width, height);
  const img = ctx.getImageData(0, 0, width, height);
  return { data: new Uint8Array(img.data.buffer), width, height };
}

export function makeClassifier(env) {
  const registry = typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry((inner) => inner.free()) : null;

  class Classifier {
    #inner;
    #info;
    constructor(inner) {
      this.#inner = inner;
      this.#info = { ...inner.info(), simd: simdLevel() };
      registry?.register(this, inner, this);
    }

    /** Loads a model: `{ model, labels, integrity, precision, simd, kernels }`, all optional. */
    static async load(options = {}) {
      const t0 = now();
      const init = env.init(options.simd);
      let files;
      let labels = options.labels;
      // ImageNet's names, for a model of 1000 or 1001 outputs without labels of its own.
      let imagenet;
      const model = options.model;
      if (model === undefined) {
        files = [await env.defaultModel()];
        if (labels === undefined) labels = await env.defaultLabels();
      } else {
        const list = Array.isArray(model) ? model : [model];
        [files, imagenet] = await Promise.all([
          Promise.all(list.map(async (m) => toBytes(m) ?? fetchBytes(String(m)))),
          labels === undefined ? env.defaultLabels().catch(() => undefined) : undefined,
        ]);
      }
      if (typeof labels === 'string') {
        labels = new TextDecoder().decode(await fetchBytes(labels)).split('\n').map((l) => l.trim()).filter(Boolean);
      }
      const t1 = now();
      const hashing = digests(files);
      const compileMs = await init;
      const sha256 = await hashing;
      if (options.simd !== undefined && options.simd !== simdLevel()) {
        throw codedError('E_ARGUMENT', `the ${simdLevel()} build is already loaded; simd: '${options.simd}' must come with the first load`);
      }
      const t2 = now();
      let integrity = options.integrity;
      if (typeof integrity === 'string') integrity = [integrity];
      const inner = WasmClassifier.fromBytes(files, labels ?? undefined, integrity ?? undefined, options.precision ?? undefined, sha256 ?? undefined, options.kernels === false, imagenet);
      inner.recordFetchCompile(Math.max(0, t1 - t0 - (compileMs ?? 0)), compileMs ?? Math.max(0, t2 - t1));
      return new Classifier(inner);
    }

    #live() {
      if (!this.#inner) throw codedError('E_FREED', 'this Classifier was freed');
      return this.#inner;
    }

    /** Top-k classes, most probable first: `[{ index, label, probability }]`. */
    async classify(input, { topK = 5 } = {}) {
      const inner = this.#live();
      const bytes = toBytes(input);
      if (bytes) return inner.classifyEncoded(bytes, topK);
      const { data, width, height } = pixelsOf(input);
      return inner.classifyRgba(data, width, height, topK);
    }

    /** Pre-classifier feature vector. */
    async embed(input) {
      const inner = this.#live();
      const bytes = toBytes(input);
      if (bytes) return inner.embedEncoded(bytes);
      const { data, width, height } = pixelsOf(input);
      return inner.embedRgba(data, width, height);
    }

    /** `{ version, widthMultiplier, resolution, numClasses, parameters, sha256, … }` */
    get info() {
      this.#live();
      return this.#info;
    }

    /** `{ coldStart: {…}, inference: { count, meanMs, p50Ms, p95Ms, p99Ms }, memoryBytes }` */
    stats() {
      const s = this.#live().stats();
      s.memoryBytes = env.memoryBytes();
      return s;
    }

    /** Releases the wasm memory this classifier holds. */
    free() {
      if (!this.#inner) return;
      registry?.unregister(this);
      this.#inner.free();
      this.#inner = null;
    }
  }
  return Classifier;
}
