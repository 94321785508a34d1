// Classification runs here, off the main thread. Messages:
//   { type: 'load', model: {...manifest entry}, labels } → { type: 'loaded', info, stats }
//   { type: 'classify', image, id } (ImageBitmap or encoded bytes) → { type: 'result', id, top, stats }
import { Classifier } from './pkg/browser.js';

let clf = null;

self.onmessage = async ({ data }) => {
  try {
    if (data.type === 'load') {
      clf?.free();
      clf = null;
      clf = await Classifier.load({ model: data.model.files.map((f) => `./models/${f}`), integrity: data.model.integrity, labels: `./models/${data.labels}` });
      self.postMessage({ type: 'loaded', info: clf.info, stats: clf.stats() });
    } else if (data.type === 'classify') {
      const t = performance.now();
      const top = await clf.classify(data.image, { topK: 5 });
      const ms = performance.now() - t;
      data.image.close?.();
      self.postMessage({ type: 'result', id: data.id, top, ms, stats: clf.stats() });
    }
  } catch (e) {
    self.postMessage({ type: 'error', id: data.id, code: e.code ?? 'E_INTERNAL', message: e.message });
  }
};
