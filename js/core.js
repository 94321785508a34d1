// The environment-neutral half of the package: the Classifier API over the wasm-bindgen module.
// Entry points (browser.js, node.js, workerd.js) differ only in how they instantiate the wasm
// and read the bundled model.
import { glue } from './glue.js';
import { DEFAULT_MAX_PIXELS, checkSignal, codedError, loadOptions, side, streamOptions, topK as topKOf, withinBudget } from './validate.js';

export { codedError };

const now = () => (globalThis.performance ? performance.now() : Date.now());

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
 * How many threads the kernels run on: `requested` (a count `loadOptions` checked), or by
 * default `min(4, cores)` where the page is cross-origin isolated (shared memory is allowed
 * there), else 1. Only such a page can have more than one (Node and Workers have one).
 */
export function pickThreads(requested) {
  const isolated = globalThis.crossOriginIsolated === true;
  if (requested === undefined) return isolated ? Math.max(1, Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1)) : 1;
  if (requested > 1 && !isolated) {
    throw codedError('E_ARGUMENT', 'threads > 1 needs a cross-origin isolated page (Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp); Node and Workers run one thread');
  }
  return requested;
}

/**
 * Caches an environment's wasm instantiation; a failed one is forgotten, so the next load tries
 * again (a failed fetch of the wasm, or a refused `simd`, once made every later load fail).
 */
export function once(instantiate) {
  let ready = null;
  return (...args) => {
    if (!ready) {
      ready = instantiate(...args);
      ready.catch(() => { ready = null; });
    }
    return ready;
  };
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

/**
 * What `CustomClassifier` needs of a base `Classifier`, kept off its public surface: its calls
 * into the wasm (trap handling included), its pixel budget and the model files it was loaded
 * from (for the TFLite export).
 */
export const internals = new WeakMap();

export function toBytes(x) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return null;
}

export async function fetchBytes(url, signal) {
  let res;
  try {
    res = await fetch(url, signal ? { signal } : undefined);
    if (!res.ok) throw codedError('E_IO', `could not fetch ${url}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    checkSignal(signal);
    if (e.code) throw e;
    throw codedError('E_IO', `could not fetch ${url}: ${e.message}`, e);
  }
}

const linesOf = (bytes) => new TextDecoder().decode(bytes).split('\n').map((l) => l.trim()).filter(Boolean);

/**
 * The size of a DOM image source, checked (loaded, within the pixel budget) before anything of
 * that size is drawn or copied; coded errors for what cannot be read.
 */
export function domSize(input, maxPixels) {
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement && (!input.complete || input.naturalWidth === 0)) {
    // An unloaded image with width/height attributes would be drawn blank and classified.
    throw codedError('E_IMAGE_DECODE', 'the image has not loaded (or is broken): await img.decode() first');
  }
  if (typeof HTMLVideoElement !== 'undefined' && input instanceof HTMLVideoElement && input.readyState < 2) {
    throw codedError('E_INPUT_SIZE', 'the video has no frame yet (readyState < HAVE_CURRENT_DATA)');
  }
  const width = input.videoWidth || input.naturalWidth || input.displayWidth || input.codedWidth || input.width;
  const height = input.videoHeight || input.naturalHeight || input.displayHeight || input.codedHeight || input.height;
  if (typeof width !== 'number' || typeof height !== 'number') {
    throw codedError('E_ARGUMENT', 'not an image source: pass an image, canvas, video, ImageBitmap, VideoFrame, ImageData, encoded bytes or { data, width, height }');
  }
  if (!width || !height) throw codedError('E_INPUT_SIZE', `image source is ${width}x${height}`);
  side('width', width);
  side('height', height);
  withinBudget(width, height, maxPixels);
  return { width, height };
}

/** What drawing or copying a DOM source threw, as a coded error. */
export function drawError(e) {
  if (e?.name === 'SecurityError') return codedError('E_ARGUMENT', 'a cross-origin image without CORS: its pixels cannot be read', e);
  if (e?.name === 'InvalidStateError') return codedError('E_IMAGE_DECODE', `the image cannot be drawn: ${e.message}`, e);
  if (e instanceof TypeError) return codedError('E_ARGUMENT', `not an image source: ${e.message}`, e);
  return codedError('E_IMAGE_DECODE', String(e?.message ?? e), e);
}

/** The pixels of a DOM image source. */
function domPixels(input, maxPixels) {
  const { width, height } = domSize(input, maxPixels); // before a canvas of that size exists
  const offscreen = typeof OffscreenCanvas !== 'undefined';
  if (!offscreen && typeof document === 'undefined') {
    throw codedError('E_ARGUMENT', 'DOM image sources need a browser; here pass encoded bytes or { data, width, height }');
  }
  try {
    const canvas = offscreen ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(input, 0, 0, width, height);
    const img = ctx.getImageData(0, 0, width, height);
    return { data: new Uint8Array(img.data.buffer), width, height };
  } catch (e) {
    throw drawError(e);
  }
}

/** Reads RGBA pixels from any supported image source. */
export function pixelsOf(input, maxPixels) {
  if (input === null || typeof input !== 'object') {
    throw codedError('E_ARGUMENT', `classify takes an image, bytes or { data, width, height }, not ${input === null ? 'null' : typeof input}`);
  }
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) {
    withinBudget(input.width, input.height, maxPixels);
    return { data: new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength), width: input.width, height: input.height };
  }
  if (input.data !== undefined && 'width' in input && 'height' in input) {
    const data = toBytes(input.data);
    if (!data) throw codedError('E_INPUT_SIZE', 'data must be a Uint8Array or Uint8ClampedArray');
    const [width, height] = [side('width', input.width), side('height', input.height)];
    withinBudget(width, height, maxPixels);
    return { data, width, height };
  }
  return domPixels(input, maxPixels);
}

export function makeClassifier(env) {
  const registry = typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry((inner) => inner.free()) : null;
  // A source given as a string or URL: fetched, or in Node a file path / file: URL.
  const read = (m, signal) => (env.readSource ? env.readSource(m, signal) : fetchBytes(String(m), signal));

  class Classifier {
    #inner;
    #info;
    #broken = false;
    #maxPixels;
    constructor(inner, maxPixels, files) {
      this.#inner = inner;
      this.#maxPixels = maxPixels;
      this.#info = { ...inner.info(), simd: glue().simdLevel(), threads: glue().threadCount() };
      registry?.register(this, inner, this);
      internals.set(this, { call: (f) => this.#call(f), live: () => this.#live(), maxPixels, files });
    }

    /** Loads a model: `{ model, labels, integrity, precision, simd, threads, kernels, signal, maxPixels, decode }`, all optional. */
    static async load(options) {
      const t0 = now();
      options = loadOptions(options);
      const { signal } = options;
      checkSignal(signal);
      if (options.worker) {
        if (!env.remote) throw codedError('E_ARGUMENT', 'worker: true needs a browser page (a dedicated Web Worker); here load without it');
        return env.remote(options);
      }
      // Refused synchronously (not from inside a cached promise nobody awaits yet: that was an
      // unhandled rejection that ended the Node process).
      pickSimd(options.simd);
      const threads = pickThreads(options.threads);
      const init = env.init(options.simd, threads);
      init.catch(() => {}); // awaited below; until then a failure must not count as unhandled
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
          Promise.all(list.map(async (m) => toBytes(m) ?? read(m, signal))),
          labels === undefined ? env.defaultLabels().catch(() => undefined) : undefined,
        ]);
      }
      if (typeof labels === 'string' || labels instanceof URL) labels = linesOf(await read(labels, signal));
      checkSignal(signal);
      const t1 = now();
      const hashing = digests(files);
      const compileMs = await init;
      const sha256 = await hashing;
      checkSignal(signal);
      const { simdLevel, threadCount } = glue();
      if (options.simd !== undefined && options.simd !== simdLevel()) {
        throw codedError('E_ARGUMENT', `the ${simdLevel()} build is already loaded; simd: '${options.simd}' must come with the first load`);
      }
      if (options.threads !== undefined && options.threads !== threadCount()) {
        throw codedError('E_ARGUMENT', `the wasm is already running on ${threadCount()} thread(s); threads: ${options.threads} must come with the first load`);
      }
      const t2 = now();
      let integrity = options.integrity;
      if (typeof integrity === 'string') integrity = [integrity];
      const inner = trapped(() => glue().WasmClassifier.fromBytes(files, labels ?? undefined, integrity ?? undefined, options.precision ?? undefined, sha256 ?? undefined, options.kernels === false, imagenet, options.maxPixels ?? 0, options.decode === 'reduced'));
      inner.recordFetchCompile(Math.max(0, t1 - t0 - (compileMs ?? 0)), compileMs ?? Math.max(0, t2 - t1));
      return new Classifier(inner, options.maxPixels ?? DEFAULT_MAX_PIXELS, files);
    }

    #live() {
      if (this.#broken) throw codedError('E_INTERNAL', 'this Classifier stopped after an internal error; load another');
      if (!this.#inner) throw codedError('E_FREED', 'this Classifier was freed');
      return this.#inner;
    }

    // A wasm trap leaves the instance's state undefined: this classifier is never used again.
    #call(f) {
      const inner = this.#live();
      try {
        return trapped(() => f(inner));
      } catch (e) {
        if (e.code === 'E_INTERNAL') this.#broken = true;
        throw e;
      }
    }

    /** Top-k classes, most probable first: `[{ index, label, probability }]`. */
    async classify(input, options) {
      const k = topKOf(options);
      const bytes = toBytes(input);
      if (bytes) return this.#call((inner) => inner.classifyEncoded(bytes, k));
      this.#live();
      const { data, width, height } = pixelsOf(input, this.#maxPixels);
      return this.#call((inner) => inner.classifyRgba(data, width, height, k));
    }

    /** Pre-classifier feature vector. */
    async embed(input) {
      const bytes = toBytes(input);
      if (bytes) return this.#call((inner) => inner.embedEncoded(bytes));
      this.#live();
      const { data, width, height } = pixelsOf(input, this.#maxPixels);
      return this.#call((inner) => inner.embedRgba(data, width, height));
    }

    /**
     * Classifies a playing video frame by frame, one frame in flight: frames that arrive while
     * one is classified are dropped. `onResult({ top, timestamp, ms })` gets each result with
     * its frame's media time (ms); `onError(e)` any error (default: the stream stops and
     * rethrows it nowhere, so pass one). `signal` (AbortSignal) or the returned `stop()` ends it.
     */
    classifyStream(video, options) {
      this.#live();
      return streamFrames(this, video, options);
    }

    /** Whether this classifier runs in a Web Worker (`load({ worker: true })`). */
    get worker() {
      return false;
    }

    /** `{ version, widthMultiplier, resolution, numClasses, parameters, sha256, … }` */
    get info() {
      this.#live();
      return this.#info;
    }

    /** `{ coldStart: {…}, inference: { count, meanMs, p50Ms, p95Ms, p99Ms }, memoryBytes }` */
    stats() {
      const s = this.#call((inner) => inner.stats());
      s.memoryBytes = env.memoryBytes();
      return s;
    }

    /** Releases the wasm memory this classifier holds (also `close()`, and `using`). */
    free() {
      if (!this.#inner) return;
      registry?.unregister(this);
      const inner = this.#inner;
      this.#inner = null;
      if (!this.#broken) inner.free();
    }

    close() {
      this.free();
    }
  }
  if (typeof Symbol.dispose === 'symbol') {
    Object.defineProperty(Classifier.prototype, Symbol.dispose, { value() { this.free(); } });
  }
  return Classifier;
}

/**
 * `classifyStream` of any classifier (in this thread or a worker): one frame in flight, frames
 * that arrive meanwhile dropped, each result with its frame's media time.
 */
export function streamFrames(clf, video, options) {
  const { onResult, onError, signal, topK: k } = streamOptions(options);
  const topK = topKOf(k === undefined ? undefined : { topK: k });
  if (typeof HTMLVideoElement === 'undefined' || !(video instanceof HTMLVideoElement)) {
    throw codedError('E_ARGUMENT', 'classifyStream takes an HTMLVideoElement (in a browser page)');
  }
  let stopped = Boolean(signal?.aborted);
  let busy = false;
  const next = () => {
    if (stopped) return;
    if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(frame);
    else requestAnimationFrame(() => frame(now(), { mediaTime: video.currentTime }));
  };
  const frame = async (_, meta) => {
    if (stopped) return;
    if (!busy && video.readyState >= 2) {
      busy = true;
      const timestamp = (meta?.mediaTime ?? video.currentTime) * 1000;
      const t = now();
      try {
        const top = await clf.classify(video, { topK });
        if (!stopped) onResult({ top, timestamp, ms: now() - t });
      } catch (e) {
        if (!stopped) {
          if (onError) onError(e);
          if (e.code === 'E_FREED' || e.code === 'E_INTERNAL' || !onError) stopped = true;
        }
      } finally {
        busy = false;
      }
    }
    next();
  };
  signal?.addEventListener('abort', () => { stopped = true; }, { once: true });
  next();
  return { stop: () => { stopped = true; } };
}

/** Runs a call into the wasm; a trap (RuntimeError) or a stray non-coded error is E_INTERNAL. */
export function trapped(f) {
  try {
    return f();
  } catch (e) {
    if (e?.code) throw e;
    if (e instanceof WebAssembly.RuntimeError) throw codedError('E_INTERNAL', `the wasm trapped: ${e.message}`, e);
    throw codedError('E_INTERNAL', String(e?.message ?? e), e);
  }
}
