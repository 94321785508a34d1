// Custom classes on a base Classifier: examples embedded once by the base (in the wasm, where
// they stay), nearest-neighbour answers from the first example, a head trained in the wasm with
// burn's autodiff and Adam, saved bytes and a TFLite export. Environment-neutral like core.js.
import { glue } from './glue.js';
import { codedError, internals, pixelsOf, toBytes, trapped } from './core.js';
import { customClassifyOptions, embedding as embeddingOf, label as labelOf, trainOptions } from './validate.js';

const now = () => (globalThis.performance ? performance.now() : Date.now());

/**
 * Gives the page (or the worker's message loop) a turn without timer clamping: a message task,
 * queued behind the messages already waiting (scheduler.yield's continuation would run before
 * them, so an abort or a classify posted to a worker waited for the whole training).
 */
function yieldToLoop() {
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => {
      c.port1.close();
      resolve();
    };
    c.port2.postMessage(0);
  });
}

/** Training yields at most this often (ms): each yield costs a task, an epoch may be 0.2 ms. */
const SLICE_MS = 12;

const registry = typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry((inner) => inner.free()) : null;

function baseOf(base) {
  const b = internals.get(base);
  if (!b) throw codedError('E_ARGUMENT', 'the base must be a Classifier from Classifier.load()');
  b.live();
  return b;
}

function augmentOf(options) {
  if (options === undefined) return [false, false];
  if (options === null || typeof options !== 'object') throw codedError('E_ARGUMENT', 'addExample options must be an object: { flip, crop }');
  for (const k of Object.keys(options)) {
    if (k !== 'flip' && k !== 'crop') throw codedError('E_ARGUMENT', `unknown addExample option ${JSON.stringify(k)}; known: flip, crop`);
  }
  const { flip = false, crop = false } = options;
  if (typeof flip !== 'boolean' || typeof crop !== 'boolean') throw codedError('E_ARGUMENT', 'flip and crop must be true or false');
  return [flip, crop];
}

export class CustomClassifier {
  #inner;
  #base;
  #training = false;

  constructor(inner, base) {
    this.#inner = inner;
    this.#base = base;
    registry?.register(this, inner, this);
  }

  /** No classes yet, on `base`'s embeddings. */
  static async create(base) {
    const b = baseOf(base);
    if (b.remote) return b.remote.create(); // the base runs in a worker: so do its classes
    return new CustomClassifier(b.call((inner) => glue().WasmCustom.create(inner)), base);
  }

  /** The classifier `save()` wrote, on the same base (E_MODEL_MISMATCH otherwise). */
  static async load(base, bytes) {
    const b = baseOf(base);
    const data = toBytes(bytes);
    if (!data) throw codedError('E_ARGUMENT', 'load takes the bytes save() returned (Uint8Array or ArrayBuffer)');
    if (b.remote) return b.remote.load(data);
    return new CustomClassifier(b.call((inner) => glue().WasmCustom.load(inner, data)), base);
  }

  #live() {
    if (!this.#inner) throw codedError('E_FREED', 'this CustomClassifier was freed');
    return this.#inner;
  }

  #idle() {
    if (this.#training) throw codedError('E_ARGUMENT', 'training is in progress: wait for train() to finish');
    return this.#live();
  }

  /** Embeds `input` with the base once and keeps the vector under `label`; `{ flip, crop }` also keep augmented copies. */
  async addExample(input, label, options) {
    const name = labelOf(label);
    const [flip, crop] = augmentOf(options);
    const me = this.#idle();
    const b = baseOf(this.#base);
    const bytes = toBytes(input);
    if (bytes) return b.call((inner) => trapped(() => me.addExampleEncoded(inner, bytes, name, flip, crop)));
    const { data, width, height } = pixelsOf(input, b.maxPixels);
    return b.call((inner) => trapped(() => me.addExampleRgba(inner, data, width, height, name, flip, crop)));
  }

  /** Adds an example from a vector `base.embed()` returned. */
  addEmbedding(embedding, label) {
    const name = labelOf(label);
    embeddingOf(embedding);
    const me = this.#idle();
    trapped(() => me.addEmbedding(name, embedding));
  }

  /** The classes, in the order they were first taught. */
  get classes() {
    const me = this.#live();
    return trapped(() => me.classes());
  }

  /** Whether a trained head covers the current examples (else classify uses kNN). */
  get trained() {
    const me = this.#live();
    return me.trained();
  }

  exampleCount(label) {
    return this.#live().exampleCount(labelOf(label));
  }

  /** Stored vectors: examples and their augmented copies. */
  get vectorCount() {
    return this.#live().vectorCount();
  }

  /** Bytes the examples (and the trained head) hold in the wasm memory. */
  get memoryBytes() {
    return this.#live().memoryBytes();
  }

  removeClass(label) {
    return this.#idle().removeClass(labelOf(label));
  }

  clear() {
    this.#idle().clear();
  }

  /** `[{ label, probability }]`, most probable first; `'unknown'` first when none reaches `threshold`. */
  async classify(input, options) {
    const o = customClassifyOptions(options);
    const me = this.#live();
    const b = baseOf(this.#base);
    const bytes = toBytes(input);
    if (bytes) return b.call((inner) => trapped(() => me.classifyEncoded(inner, bytes, o)));
    const { data, width, height } = pixelsOf(input, b.maxPixels);
    return b.call((inner) => trapped(() => me.classifyRgba(inner, data, width, height, o)));
  }

  /** `classify` on a vector `base.embed()` returned (the backbone does not run). */
  classifyEmbedding(embedding, options) {
    const o = customClassifyOptions(options);
    embeddingOf(embedding);
    const me = this.#live();
    return trapped(() => me.classifyEmbedding(embedding, o));
  }

  /** Trains the head on the stored embeddings; the backbone does not run. Resolves `{ epochs, loss, accuracy, ms }`. */
  async train(options) {
    const [wasmOptions, onProgress, signal] = trainOptions(options);
    const me = this.#idle();
    if (signal?.aborted) throw codedError('E_ABORTED', 'training was aborted', signal.reason);
    trapped(() => me.trainBegin(wasmOptions));
    this.#training = true;
    const t0 = now();
    try {
      let slice = now();
      for (;;) {
        const r = trapped(() => me.trainEpoch());
        if (r === null) break;
        onProgress?.(r);
        if (now() - slice > SLICE_MS) {
          await yieldToLoop();
          slice = now();
          if (signal?.aborted) throw codedError('E_ABORTED', 'training was aborted', signal.reason);
          if (!this.#inner) throw codedError('E_FREED', 'this CustomClassifier was freed during training');
        }
      }
      const report = trapped(() => me.trainReport());
      return { ...report, ms: now() - t0 };
    } finally {
      this.#training = false;
    }
  }

  /** Versioned bytes: the base model's sha256, labels, embeddings, trained weights. */
  save() {
    const me = this.#live();
    return trapped(() => me.save());
  }

  /** A `.tflite` of the base's backbone and the trained head, labels in its metadata. */
  async exportTflite() {
    const me = this.#live();
    const b = baseOf(this.#base);
    if (!b.files) throw codedError('E_ARGUMENT', 'the base model files are not at hand');
    return b.call((inner) => trapped(() => me.exportTflite(inner, b.files)));
  }

  free() {
    if (!this.#inner) return;
    registry?.unregister(this);
    const inner = this.#inner;
    this.#inner = null;
    inner.free();
  }

  close() {
    this.free();
  }
}
if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(CustomClassifier.prototype, Symbol.dispose, { value() { this.free(); } });
}
