// Browser / bundler entry. `Classifier.load({ worker: true })` runs the classifier in a dedicated
// Web Worker (worker.js, the same API over messages: remote.js); otherwise it runs in the calling
// thread. The worker is spelled `new Worker(new URL(…, import.meta.url))` so that webpack 5 and
// Vite bundle it.
import { makeClassifier } from './core.js';
import { browserEnv } from './browser-env.js';
import { loadRemote } from './remote.js';

const spawn = () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'mobilenet-wasm' });

export const Classifier = makeClassifier({ ...browserEnv, remote: (options) => loadRemote(options, spawn) });
export default Classifier;
export { CustomClassifier } from './custom.js';
