// Classification runs here, off the main thread. Messages:
//   { type: 'load', model: {...manifest entry}, labels, name } → { type: 'loaded', name, info, stats }
//   { type: 'classify', image, id } (ImageBitmap or encoded bytes)
//     → { type: 'result', id, top, ms, stats, worker: { requests, bytes } sent since the load }
// A classify that arrives while a model loads waits for it.
import { Classifier } from '../pkg/browser.js';

let ready = Promise.resolve(null);
let loadedAt = Infinity;

// What this worker fetched after the model loaded (resource timing), for the privacy panel.
function sentAfterLoad() {
  const after = performance.getEntriesByType('resource').filter((e) => e.startTime > loadedAt);
  return { requests: after.length, bytes: after.reduce((n, e) => n + (e.transferSize || 0), 0) };
}

self.onmessage = async ({ data }) => {
  try {
    if (data.type === 'load') {
      const previous = ready;
      ready = (async () => {
        (await previous.catch(() => null))?.free();
        return Classifier.load({ model: data.model.files.map((f) => `./models/${f}`), integrity: data.model.integrity, labels: `./models/${data.labels}` });
      })();
      const clf = await ready;
      loadedAt = performance.now();
      self.postMessage({ type: 'loaded', name: data.name, info: clf.info, stats: clf.stats() });
    } else if (data.type === 'classify') {
      const clf = await ready;
      const t = performance.now();
      const top = await clf.classify(data.image, { topK: 5 });
      const ms = performance.now() - t;
      data.image.close?.();
      self.postMessage({ type: 'result', id: data.id, top, ms, stats: clf.stats(), worker: sentAfterLoad() });
    }
  } catch (e) {
    self.postMessage({ type: 'error', id: data.id, code: e.code ?? 'E_INTERNAL', message: e.message });
  }
};
