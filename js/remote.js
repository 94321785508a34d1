// `Classifier.load({ worker: true })`: the classifier runs in a dedicated Web Worker (worker.js)
// and this thread holds a proxy with the same API. Inputs are checked here first (so a refusal
// costs no message), DOM sources become an ImageBitmap, and ImageBitmaps and VideoFrames are
// transferred, not copied; bytes and pixels are copied once into a buffer that is transferred.
// Getters and `stats()` answer from the state the last finished call brought back.
import { DEFAULT_MAX_PIXELS, codedError, customClassifyOptions, embedding as embeddingOf, label as labelOf, topK as topKOf, trainOptions } from './validate.js';
import { domSize, drawError, internals, pixelsOf, streamFrames, toBytes } from './core.js';

const now = () => performance.timeOrigin + performance.now();
const registry = typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry((channel) => channel.close()) : null;

/** One worker: calls by id, their progress callbacks and abort signals. */
class Channel {
  #worker;
  #pending = new Map();
  #next = 1;
  #dead = null;
  started = false;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const call = this.#pending.get(data.id);
      if (!call) return;
      if (data.progress) {
        call.onProgress?.(data.progress);
        return;
      }
      this.#pending.delete(data.id);
      call.cleanup?.();
      if (data.error) call.reject(codedError(data.error.code, data.error.message));
      else call.resolve(data.value);
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      const what = e.message ? `: ${e.message}` : '';
      // Before the first answer, the script itself did not load (a CSP without worker-src, a 404).
      this.close(this.started
        ? codedError('E_INTERNAL', `the classifier's worker failed${what}`)
        : codedError('E_IO', `the classifier's worker script could not be started${what}`));
    };
    worker.onmessageerror = () => this.close(codedError('E_INTERNAL', 'a message from the classifier\'s worker could not be read'));
  }

  get dead() {
    return this.#dead;
  }

  call(op, payload, transfer = [], { onProgress, signal } = {}) {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const call = { resolve: (v) => { this.started = true; resolve(v); }, reject, onProgress };
      if (signal) {
        const abort = () => this.#worker.postMessage({ op: 'abort', id });
        signal.addEventListener('abort', abort, { once: true });
        call.cleanup = () => signal.removeEventListener('abort', abort);
      }
      this.#pending.set(id, call);
      try {
        this.#worker.postMessage({ id, op, ...payload, abortable: Boolean(signal) }, transfer);
      } catch (e) {
        this.#pending.delete(id);
        call.cleanup?.();
        reject(codedError('E_ARGUMENT', `this cannot be sent to the worker: ${e.message}`, e));
      }
    });
  }

  /** Ends the worker; calls still waiting reject with `error`. */
  close(error = codedError('E_FREED', 'this Classifier was freed')) {
    if (this.#dead) return;
    this.#dead = error;
    this.#worker.terminate();
    for (const call of this.#pending.values()) {
      call.cleanup?.();
      call.reject(error);
    }
    this.#pending.clear();
  }
}

const isA = (x, name) => typeof globalThis[name] !== 'undefined' && x instanceof globalThis[name];
const DRAWABLE = ['HTMLImageElement', 'HTMLVideoElement', 'HTMLCanvasElement', 'OffscreenCanvas', 'SVGImageElement'];

/** A copy of `bytes` and its buffer to transfer: the caller's own stay usable. */
const copied = (bytes) => {
  const copy = bytes.slice();
  return [copy, copy.buffer];
};

/** `[what to send, what to transfer]` for an image input, checked as the page's classify checks it. */
async function sendable(input, maxPixels) {
  const bytes = toBytes(input);
  if (bytes) {
    const [copy, buffer] = copied(bytes);
    return [copy, [buffer]];
  }
  const movable = isA(input, 'ImageBitmap') || isA(input, 'VideoFrame');
  if (movable || (input !== null && typeof input === 'object' && DRAWABLE.some((name) => isA(input, name)))) {
    // A closed (or already moved) ImageBitmap or VideoFrame measures 0x0: E_INPUT_SIZE.
    domSize(input, maxPixels);
    if (movable) return [input, [input]];
    let bitmap;
    try {
      bitmap = await createImageBitmap(input);
    } catch (e) {
      throw drawError(e);
    }
    return [bitmap, [bitmap]];
  }
  const { data, width, height } = pixelsOf(input, maxPixels);
  const [copy, buffer] = copied(data);
  return [{ data: copy, width, height }, [buffer]];
}

// Relative model and label URLs mean the page's, not the worker script's.
const base = () => (typeof document !== 'undefined' ? document.baseURI : location.href);
const absolute = (source) => (typeof source === 'string' || source instanceof URL ? new URL(String(source), base()).href : source);

/** `Classifier.load(options)` with `options.worker` set (options already checked). */
export async function loadRemote(options, spawn) {
  const { signal, worker: _, ...rest } = options;
  const transfer = [];
  if (rest.model !== undefined) {
    rest.model = (Array.isArray(rest.model) ? rest.model : [rest.model]).map((m) => {
      const bytes = toBytes(m);
      if (!bytes) return absolute(m);
      const [copy, buffer] = copied(bytes);
      transfer.push(buffer);
      return copy;
    });
  }
  if (rest.labels !== undefined && !Array.isArray(rest.labels)) rest.labels = absolute(rest.labels);
  let worker;
  const spawnedAt = now();
  try {
    worker = spawn();
  } catch (e) {
    throw codedError('E_IO', `could not start the classifier's worker: ${e.message}`, e);
  }
  const channel = new Channel(worker);
  try {
    const loaded = await channel.call('load', { options: rest }, transfer, { signal });
    return new RemoteClassifier(channel, loaded, rest.maxPixels ?? DEFAULT_MAX_PIXELS, Math.max(0, loaded.startedAt - spawnedAt));
  } catch (e) {
    channel.close(e);
    throw e;
  }
}

class RemoteClassifier {
  #channel;
  #handle;
  #info;
  #stats;
  #maxPixels;
  #workerStartMs;

  constructor(channel, loaded, maxPixels, workerStartMs) {
    this.#channel = channel;
    this.#handle = loaded.handle;
    this.#info = loaded.info;
    this.#maxPixels = maxPixels;
    this.#workerStartMs = workerStartMs;
    this.#stats = loaded.stats;
    registry?.register(this, channel, this);
    internals.set(this, { remote: this.#customs(), live: () => this.#live(), maxPixels });
  }

  #live() {
    if (this.#channel.dead) throw this.#channel.dead;
    return this.#channel;
  }

  async #send(op, input, options) {
    this.#live();
    const [x, transfer] = await sendable(input, this.#maxPixels);
    const r = await this.#channel.call(op, { handle: this.#handle, input: x, options }, transfer);
    this.#stats = r.stats;
    return r;
  }

  /** Top-k classes, most probable first: `[{ index, label, probability }]`. */
  async classify(input, options) {
    const topK = topKOf(options);
    return (await this.#send('classify', input, { topK })).top;
  }

  /** Pre-classifier feature vector. */
  async embed(input) {
    return (await this.#send('embed', input)).vector;
  }

  classifyStream(video, options) {
    this.#live();
    return streamFrames(this, video, options);
  }

  get worker() {
    return true;
  }

  get info() {
    this.#live();
    return this.#info;
  }

  /**
   * As of the last finished call; `network`: the worker's requests since the load. The cold
   * start adds starting the worker (its script fetched and run) to what the worker measured.
   */
  stats() {
    this.#live();
    const s = structuredClone(this.#stats);
    s.coldStart.workerStartMs = this.#workerStartMs;
    s.coldStart.totalMs += this.#workerStartMs;
    return s;
  }

  /** Ends the worker (its custom classifiers with it). */
  free() {
    if (this.#channel.dead) return;
    registry?.unregister(this);
    this.#channel.close();
  }

  close() {
    this.free();
  }

  // What CustomClassifier.create / load do on a worker-backed base.
  #customs() {
    const made = (r) => new RemoteCustom(this.#channel, r, this.#maxPixels);
    return {
      create: async () => made(await this.#live().call('customCreate', { base: this.#handle })),
      load: async (bytes) => {
        const [copy, buffer] = copied(bytes);
        return made(await this.#live().call('customLoad', { base: this.#handle, bytes: copy }, [buffer]));
      },
    };
  }
}

/**
 * A CustomClassifier on a worker-backed base. What is synchronous on a base in the page
 * (`addEmbedding`, `removeClass`, `clear`, `classifyEmbedding`, `save`) returns a Promise here;
 * `classes`, `trained`, `vectorCount`, `memoryBytes` and `exampleCount` are those of the last
 * finished call.
 */
class RemoteCustom {
  #channel;
  #handle;
  #state;
  #maxPixels;
  #freed = false;

  constructor(channel, made, maxPixels) {
    this.#channel = channel;
    this.#handle = made.handle;
    this.#state = made.state;
    this.#maxPixels = maxPixels;
  }

  #live() {
    if (this.#freed) throw codedError('E_FREED', 'this CustomClassifier was freed');
    if (this.#channel.dead) throw this.#channel.dead;
  }

  async #call(method, args, transfer = []) {
    this.#live();
    const r = await this.#channel.call('custom', { handle: this.#handle, method, args }, transfer);
    this.#state = r.state;
    return r.value;
  }

  async addExample(input, label, options) {
    const name = labelOf(label);
    this.#live();
    const [x, transfer] = await sendable(input, this.#maxPixels);
    return this.#call('addExample', [x, name, options], transfer);
  }

  async addEmbedding(embedding, label) {
    const name = labelOf(label);
    return this.#call('addEmbedding', [embeddingOf(embedding), name]);
  }

  get classes() {
    this.#live();
    return [...this.#state.classes];
  }

  get trained() {
    this.#live();
    return this.#state.trained;
  }

  get vectorCount() {
    this.#live();
    return this.#state.vectorCount;
  }

  get memoryBytes() {
    this.#live();
    return this.#state.memoryBytes;
  }

  exampleCount(label) {
    const name = labelOf(label);
    this.#live();
    const i = this.#state.classes.indexOf(name);
    return i < 0 ? 0 : this.#state.counts[i];
  }

  async removeClass(label) {
    return this.#call('removeClass', [labelOf(label)]);
  }

  async clear() {
    return this.#call('clear', []);
  }

  async classify(input, options) {
    customClassifyOptions(options);
    this.#live();
    const [x, transfer] = await sendable(input, this.#maxPixels);
    return this.#call('classify', [x, options], transfer);
  }

  async classifyEmbedding(embedding, options) {
    customClassifyOptions(options);
    return this.#call('classifyEmbedding', [embeddingOf(embedding), options]);
  }

  /** As in the page; `onProgress` is called from the worker's progress messages. */
  async train(options) {
    const [, onProgress, signal] = trainOptions(options);
    this.#live();
    const { onProgress: _p, signal: _s, ...rest } = options ?? {};
    if (signal?.aborted) throw codedError('E_ABORTED', 'training was aborted', signal.reason);
    const r = await this.#channel.call('train', { handle: this.#handle, options: rest, progress: Boolean(onProgress) }, [], { onProgress, signal });
    this.#state = r.state;
    return r.value;
  }

  async save() {
    return this.#call('save', []);
  }

  async exportTflite() {
    return this.#call('exportTflite', []);
  }

  free() {
    if (this.#freed) return;
    this.#freed = true;
    if (!this.#channel.dead) this.#channel.call('free', { handle: this.#handle }).catch(() => {});
  }

  close() {
    this.free();
  }
}

if (typeof Symbol.dispose === 'symbol') {
  for (const C of [RemoteClassifier, RemoteCustom]) {
    Object.defineProperty(C.prototype, Symbol.dispose, { value() { this.free(); } });
  }
}
