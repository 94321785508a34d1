// The dedicated Web Worker behind `Classifier.load({ worker: true })`: the classifier and its
// custom classifiers live here; each message from remote.js is one call on them.
//   → { id, op, ...arguments }   ← { id, value, state? } | { id, error: { code, message } } | { id, progress }
//   → { op: 'abort', id }        aborts call `id` (a load or a training)
// Each call starts as its message arrives (nothing is awaited first), so calls run in the
// order they were made, as in the page.
import { makeClassifier } from './core.js';
import { browserEnv } from './browser-env.js';
import { CustomClassifier } from './custom.js';
import { codedError } from './validate.js';

const Classifier = makeClassifier(browserEnv);
const held = new Map();
const aborts = new Map();
let nextHandle = 1;
let loadedAt = Infinity;

const now = () => performance.timeOrigin + performance.now();

// Requests this worker made after its classifier loaded (resource timing): the page cannot see them.
function network() {
  const after = performance.getEntriesByType('resource').filter((e) => e.startTime > loadedAt);
  return { requests: after.length, bytes: after.reduce((n, e) => n + (e.transferSize || 0), 0) };
}

const baseStats = (clf) => ({ ...clf.stats(), network: network() });

function customState(custom) {
  const classes = custom.classes;
  return { classes, counts: classes.map((l) => custom.exampleCount(l)), trained: custom.trained, vectorCount: custom.vectorCount, memoryBytes: custom.memoryBytes };
}

function hold(x) {
  const handle = nextHandle++;
  held.set(handle, x);
  return handle;
}

function get(handle) {
  const x = held.get(handle);
  if (!x) throw codedError('E_FREED', 'this object was freed');
  return x;
}

function abortable(id) {
  const controller = new AbortController();
  aborts.set(id, controller);
  return controller.signal;
}

const bytesOut = (bytes) => [bytes, [bytes.buffer]];
const CUSTOM_CALLS = new Set(['addExample', 'addEmbedding', 'removeClass', 'clear', 'classify', 'classifyEmbedding', 'save', 'exportTflite']);

const ops = {
  async load({ id, options, abortable: withSignal }) {
    const startedAt = now();
    const clf = await Classifier.load(withSignal ? { ...options, signal: abortable(id) } : options);
    loadedAt = performance.now();
    return [{ handle: hold(clf), info: clf.info, stats: baseStats(clf), startedAt }];
  },
  async classify({ handle, input, options }) {
    const clf = get(handle);
    const top = await clf.classify(input, options);
    return [{ top, stats: baseStats(clf) }];
  },
  async embed({ handle, input }) {
    const clf = get(handle);
    const vector = await clf.embed(input);
    return [{ vector, stats: baseStats(clf) }, [vector.buffer]];
  },
  async customCreate({ base }) {
    const custom = await CustomClassifier.create(get(base));
    return [{ handle: hold(custom), state: customState(custom) }];
  },
  async customLoad({ base, bytes }) {
    const custom = await CustomClassifier.load(get(base), bytes);
    return [{ handle: hold(custom), state: customState(custom) }];
  },
  async custom({ handle, method, args }) {
    if (!CUSTOM_CALLS.has(method)) throw codedError('E_ARGUMENT', `no such call ${method}`);
    const custom = get(handle);
    const value = await custom[method](...args);
    const [out, transfer] = value instanceof Uint8Array ? bytesOut(value) : [value, []];
    return [{ value: out, state: customState(custom) }, transfer];
  },
  async train({ id, handle, options, progress, abortable: withSignal }) {
    const custom = get(handle);
    const o = { ...options };
    if (progress) o.onProgress = (r) => self.postMessage({ id, progress: r });
    if (withSignal) o.signal = abortable(id);
    const report = await custom.train(o);
    return [{ value: report, state: customState(custom) }];
  },
  async free({ handle }) {
    held.get(handle)?.free();
    held.delete(handle);
    return [undefined];
  },
};

// Inputs moved here (ImageBitmap, VideoFrame) are released once used.
const release = (data) => {
  for (const x of [data.input, data.args?.[0]]) x?.close?.();
};

self.onmessage = ({ data }) => {
  if (data.op === 'abort') {
    aborts.get(data.id)?.abort();
    return;
  }
  const { id } = data;
  let run;
  try {
    if (!Object.hasOwn(ops, data.op)) throw codedError('E_ARGUMENT', `no such operation ${data.op}`);
    run = ops[data.op](data);
  } catch (e) {
    run = Promise.reject(e);
  }
  run.then(
    ([value, transfer = []]) => self.postMessage({ id, value }, transfer),
    (e) => self.postMessage({ id, error: { code: e?.code ?? 'E_INTERNAL', message: String(e?.message ?? e) } }),
  ).finally(() => {
    aborts.delete(id);
    release(data);
  });
};
