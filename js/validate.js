// Every option and dimension checked in JS before it reaches the wasm, where a negative or
// fractional number would be wrapped into an unsigned integer (`topK: -1` became "all classes",
// `width: 2**32 + 2` became 2). Each refusal is an Error with a stable `code`.

export function codedError(code, message, cause) {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.code = code;
  return e;
}

const LOAD_OPTIONS = new Set(['model', 'labels', 'integrity', 'precision', 'simd', 'threads', 'kernels', 'signal', 'maxPixels', 'decode', 'worker']);
/** Default decoded-pixel budget (the wasm's own ceiling: 512 MiB at 6 bytes a pixel). */
export const DEFAULT_MAX_PIXELS = Math.floor(512 * 1024 * 1024 / 6);
const PRECISIONS = ['int8', 'float32'];
export const SIMD_LEVELS = ['relaxed-simd', 'simd128'];
/** Largest image side the package takes (the decoders' limit too). */
export const MAX_SIDE = 65535;

const isBytes = (x) => x instanceof ArrayBuffer || ArrayBuffer.isView(x);
const isSource = (x) => typeof x === 'string' || x instanceof URL || isBytes(x);
const show = (x) => (typeof x === 'string' ? JSON.stringify(x) : x === null ? 'null' : typeof x === 'object' ? (x.constructor?.name ?? 'object') : String(x));

/** Checks `Classifier.load`'s options; returns them (`{}` for undefined). */
export function loadOptions(options) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw codedError('E_ARGUMENT', `load options must be an object, not ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!LOAD_OPTIONS.has(key)) throw codedError('E_ARGUMENT', `unknown load option ${JSON.stringify(key)}; known: ${[...LOAD_OPTIONS].join(', ')}`);
  }
  const { model, labels, integrity, precision, simd, threads, kernels, signal, maxPixels, decode, worker } = options;
  if (worker !== undefined && typeof worker !== 'boolean') throw codedError('E_ARGUMENT', `worker must be true or false, not ${show(worker)}`);
  if (maxPixels !== undefined && !(Number.isInteger(maxPixels) && maxPixels >= 1 && maxPixels <= DEFAULT_MAX_PIXELS)) {
    throw codedError('E_ARGUMENT', `maxPixels must be a whole number from 1 to ${DEFAULT_MAX_PIXELS}, not ${show(maxPixels)}`);
  }
  if (decode !== undefined && decode !== 'exact' && decode !== 'reduced') {
    throw codedError('E_ARGUMENT', `decode must be 'exact' or 'reduced', not ${show(decode)}`);
  }
  if (model !== undefined) {
    const list = Array.isArray(model) ? model : [model];
    if (list.length < 1 || list.length > 2 || !list.every(isSource)) {
      throw codedError('E_ARGUMENT', 'model must be a URL, a path (Node), bytes, or [backbone, head] of those');
    }
  }
  if (labels !== undefined && !(typeof labels === 'string' || labels instanceof URL
    || (Array.isArray(labels) && labels.every((l) => typeof l === 'string')))) {
    throw codedError('E_ARGUMENT', 'labels must be an array of strings or the URL of a text file');
  }
  if (integrity !== undefined && !(typeof integrity === 'string'
    || (Array.isArray(integrity) && integrity.every((s) => typeof s === 'string')))) {
    throw codedError('E_ARGUMENT', 'integrity must be a "sha256-<base64>" string or one per model file');
  }
  if (precision !== undefined && !PRECISIONS.includes(precision)) {
    throw codedError('E_ARGUMENT', `precision must be 'int8' or 'float32', not ${show(precision)}`);
  }
  if (simd !== undefined && !SIMD_LEVELS.includes(simd)) {
    throw codedError('E_ARGUMENT', `simd must be 'relaxed-simd' or 'simd128', not ${show(simd)}`);
  }
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
    throw codedError('E_ARGUMENT', `threads must be a whole number from 1 to 64, not ${show(threads)}`);
  }
  if (kernels !== undefined && typeof kernels !== 'boolean') {
    throw codedError('E_ARGUMENT', `kernels must be true or false, not ${show(kernels)}`);
  }
  if (signal !== undefined && !(signal && typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function')) {
    throw codedError('E_ARGUMENT', 'signal must be an AbortSignal');
  }
  return options;
}

/** Throws E_ABORTED when `signal` has fired. */
export function checkSignal(signal) {
  if (signal?.aborted) throw codedError('E_ABORTED', 'the load was aborted', signal.reason);
}

/** `classify`'s `topK`: a whole number from 1 (more than the model's classes gives them all). */
export function topK(options) {
  if (options === undefined) return 5;
  if (options === null || typeof options !== 'object') throw codedError('E_ARGUMENT', `classify options must be an object, not ${show(options)}`);
  const k = options.topK === undefined ? 5 : options.topK;
  if (!Number.isInteger(k) || k < 1 || k > 2 ** 31 - 1) throw codedError('E_ARGUMENT', `topK must be a whole number from 1, not ${show(k)}`);
  return k;
}

/** An image side given by the caller: a whole number from 1 to MAX_SIDE. */
export function side(name, v) {
  if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) throw codedError('E_INPUT_SIZE', `${name} must be a whole number from 1 to ${MAX_SIDE}, not ${show(v)}`);
  return v;
}

/** Refuses `width × height` beyond the budget before the pixels are copied into the wasm. */
export function withinBudget(width, height, maxPixels) {
  if (width * height > maxPixels) {
    throw codedError('E_IMAGE_TOO_LARGE', `a ${width}×${height} image is over the budget of ${maxPixels} pixels (maxPixels)`);
  }
}

const CUSTOM_CLASSIFY = new Set(['topK', 'threshold', 'method']);
/** `CustomClassifier.classify`'s options: `{ topK, threshold, method }`, all optional. */
export function customClassifyOptions(options) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw codedError('E_ARGUMENT', `classify options must be an object, not ${show(options)}`);
  for (const key of Object.keys(options)) {
    if (!CUSTOM_CLASSIFY.has(key)) throw codedError('E_ARGUMENT', `unknown classify option ${JSON.stringify(key)}; known: ${[...CUSTOM_CLASSIFY].join(', ')}`);
  }
  const { topK: k, threshold, method } = options;
  if (k !== undefined && !(Number.isInteger(k) && k >= 1 && k <= 2 ** 31 - 1)) throw codedError('E_ARGUMENT', `topK must be a whole number from 1, not ${show(k)}`);
  if (threshold !== undefined && !(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) throw codedError('E_ARGUMENT', `threshold must be a number from 0 to 1, not ${show(threshold)}`);
  if (method !== undefined && method !== 'knn' && method !== 'head') throw codedError('E_ARGUMENT', `method must be 'knn' or 'head', not ${show(method)}`);
  return { topK: k, threshold, method };
}

const TRAIN = new Set(['epochs', 'learningRate', 'seed', 'batchSize', 'hiddenUnits', 'weightDecay', 'onProgress', 'signal']);
/** `CustomClassifier.train`'s options; returns `[wasm options, onProgress, signal]`. */
export function trainOptions(options) {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw codedError('E_ARGUMENT', `train options must be an object, not ${show(options)}`);
  for (const key of Object.keys(options)) {
    if (!TRAIN.has(key)) throw codedError('E_ARGUMENT', `unknown train option ${JSON.stringify(key)}; known: ${[...TRAIN].join(', ')}`);
  }
  const { epochs, learningRate, seed, batchSize, hiddenUnits, weightDecay, onProgress, signal } = options;
  const whole = (name, v, lo, hi) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi)) throw codedError('E_ARGUMENT', `${name} must be a whole number from ${lo} to ${hi}, not ${show(v)}`);
  };
  whole('epochs', epochs, 1, 10000);
  whole('batchSize', batchSize, 1, 4096);
  whole('hiddenUnits', hiddenUnits, 0, 4096);
  whole('seed', seed, 0, Number.MAX_SAFE_INTEGER);
  if (learningRate !== undefined && !(typeof learningRate === 'number' && learningRate > 0 && learningRate <= 10)) throw codedError('E_ARGUMENT', `learningRate must be a number in (0, 10], not ${show(learningRate)}`);
  if (weightDecay !== undefined && !(typeof weightDecay === 'number' && weightDecay >= 0 && weightDecay <= 1)) throw codedError('E_ARGUMENT', `weightDecay must be a number from 0 to 1, not ${show(weightDecay)}`);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw codedError('E_ARGUMENT', 'onProgress must be a function');
  if (signal !== undefined && !(signal && typeof signal.aborted === 'boolean')) throw codedError('E_ARGUMENT', 'signal must be an AbortSignal');
  const wasm = { epochs, learningRate, seed, batchSize, hiddenUnits, weightDecay };
  for (const k of Object.keys(wasm)) if (wasm[k] === undefined) delete wasm[k];
  return [wasm, onProgress, signal];
}

/** A class label: a non-empty string. */
/** An embedding argument: the Float32Array `embed()` returns. */
export function embedding(v) {
  if (!(v instanceof Float32Array)) throw codedError('E_ARGUMENT', 'an embedding is the Float32Array embed() returns');
  return v;
}

export function label(v) {
  if (typeof v !== 'string' || v.length === 0) throw codedError('E_ARGUMENT', `a label must be a non-empty string, not ${show(v)}`);
  return v;
}

const STREAM = new Set(['onResult', 'onError', 'signal', 'topK']);
/** `classifyStream`'s options: `onResult` required; `onError`, `signal`, `topK` optional. */
export function streamOptions(options) {
  if (options === null || typeof options !== 'object') throw codedError('E_ARGUMENT', 'classifyStream needs { onResult }');
  for (const key of Object.keys(options)) {
    if (!STREAM.has(key)) throw codedError('E_ARGUMENT', `unknown classifyStream option ${JSON.stringify(key)}; known: ${[...STREAM].join(', ')}`);
  }
  if (typeof options.onResult !== 'function') throw codedError('E_ARGUMENT', 'onResult must be a function');
  if (options.onError !== undefined && typeof options.onError !== 'function') throw codedError('E_ARGUMENT', 'onError must be a function');
  if (options.signal !== undefined && !(options.signal && typeof options.signal.aborted === 'boolean')) throw codedError('E_ARGUMENT', 'signal must be an AbortSignal');
  return options;
}
