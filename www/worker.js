// Classification runs here, off the main thread. Messages:
//   { type: 'load', model: {...manifest entry}, labels, name } → { type: 'loaded', name, info, stats, custom }
//   { type: 'classify', image, id, custom: { threshold } | undefined } (ImageBitmap or encoded bytes)
//     → { type: 'result', id, top, custom, ms, stats, worker: { requests, bytes } sent since the load }
// Teach mode (custom classes on the loaded model, kept in IndexedDB per model):
//   { type: 'customAdd', label, image, id } · { type: 'customRemove', label } · { type: 'customClear' }
//   { type: 'customImport', bytes } → { type: 'custom', state, id }
//   { type: 'customTrain', epochs } → { type: 'trainProgress', epoch, epochs, loss, accuracy }…,
//     then { type: 'trained', report, state }
//   { type: 'customExport', what: 'classes' | 'tflite' } → { type: 'exported', what, bytes }
// A message that arrives while a model loads waits for it.
import { Classifier, CustomClassifier } from '../pkg/browser.js';
import { loadSaved, store } from './store.js';

let ready = Promise.resolve(null);
let loadedAt = Infinity;
let modelName = null;
let custom = null;

// What this worker fetched after the model loaded (resource timing), for the privacy panel.
function sentAfterLoad() {
  const after = performance.getEntriesByType('resource').filter((e) => e.startTime > loadedAt);
  return { requests: after.length, bytes: after.reduce((n, e) => n + (e.transferSize || 0), 0) };
}

function state() {
  const classes = custom ? custom.classes.map((label) => ({ label, count: custom.exampleCount(label) })) : [];
  return { classes, trained: custom?.trained ?? false };
}

async function persist() {
  await store(modelName, custom.save());
}

async function restore(clf, name) {
  custom?.free();
  custom = null;
  const saved = await loadSaved(name).catch(() => null);
  if (saved) {
    try {
      custom = await CustomClassifier.load(clf, saved);
    } catch {
      custom = null; // another format or base: start afresh
    }
  }
  custom ??= await CustomClassifier.create(clf);
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === 'load') {
      const previous = ready;
      ready = (async () => {
        custom?.free();
        custom = null;
        (await previous.catch(() => null))?.free();
        const clf = await Classifier.load({ model: data.model.files.map((f) => `./models/${f}`), integrity: data.model.integrity, labels: `./models/${data.labels}` });
        await restore(clf, data.name);
        return clf;
      })();
      const clf = await ready;
      modelName = data.name;
      loadedAt = performance.now();
      self.postMessage({ type: 'loaded', name: data.name, info: clf.info, stats: clf.stats(), custom: state() });
      return;
    }
    const clf = await ready;
    if (data.type === 'classify') {
      const t = performance.now();
      const mine = data.custom && custom.classes.length > 0;
      const top = mine ? await custom.classify(data.image, { topK: 5, threshold: data.custom.threshold }) : await clf.classify(data.image, { topK: 5 });
      const ms = performance.now() - t;
      data.image.close?.();
      self.postMessage({ type: 'result', id: data.id, top, custom: mine, ms, stats: clf.stats(), worker: sentAfterLoad() });
    } else if (data.type === 'customAdd') {
      await custom.addExample(data.image, data.label, { flip: true });
      data.image.close?.();
      await persist();
      self.postMessage({ type: 'custom', id: data.id, state: state() });
    } else if (data.type === 'customRemove' || data.type === 'customClear') {
      if (data.type === 'customRemove') custom.removeClass(data.label);
      else custom.clear();
      await persist();
      self.postMessage({ type: 'custom', state: state() });
    } else if (data.type === 'customImport') {
      const next = await CustomClassifier.load(clf, data.bytes);
      custom.free();
      custom = next;
      await persist();
      self.postMessage({ type: 'custom', state: state() });
    } else if (data.type === 'customTrain') {
      const epochs = data.epochs;
      const report = await custom.train({ epochs, onProgress: (r) => self.postMessage({ type: 'trainProgress', epochs, ...r }) });
      await persist();
      self.postMessage({ type: 'trained', report, state: state() });
    } else if (data.type === 'customExport') {
      const bytes = data.what === 'tflite' ? await custom.exportTflite() : custom.save();
      self.postMessage({ type: 'exported', what: data.what, bytes }, [bytes.buffer]);
    }
  } catch (e) {
    data.image?.close?.();
    self.postMessage({ type: 'error', id: data.id, during: data.type, code: e.code ?? 'E_INTERNAL', message: e.message });
  }
};
