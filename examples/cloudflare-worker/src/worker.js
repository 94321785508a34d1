// Image classification at the edge: POST /classify with a JPEG or PNG body.
// The wasm is imported as a module (no runtime compilation) and each bundled model is a data
// module; a model is built once per isolate and reused by every later request.
import { Classifier } from '../pkg/workerd.js';
import labelsText from '../models/labels.txt';
import { MODELS, DEFAULT_MODEL } from '../models/index.js';

const DEFAULT_MAX_BODY = 10 * 1024 * 1024;
const TYPES = new Set(['image/jpeg', 'image/png']);
const labels = labelsText.split('\n').map((l) => l.trim()).filter(Boolean);
const classifiers = new Map(); // model name → Promise<Classifier>, for the isolate's lifetime
let served = 0;

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
const fail = (status, code, message) => json(status, { error: { code, message } });

// Base64 of a hex digest, for `integrity: 'sha256-…'`.
const base64 = (hex) => btoa(String.fromCharCode(...hex.match(/../g).map((h) => parseInt(h, 16))));

// Each bundled model is checked against the build-time manifest before use: its size here, its
// SHA-256 by the classifier (`integrity`) before a single weight is read.
function classifier(name) {
  if (!classifiers.has(name)) {
    const { files, manifest } = MODELS[name];
    const data = files.map((f) => new Uint8Array(f));
    const bytes = data.reduce((n, d) => n + d.length, 0);
    classifiers.set(name, bytes === manifest.bytes
      ? Classifier.load({ model: data, labels, integrity: manifest.sha256.map((h) => `sha256-${base64(h)}`) })
      : Promise.reject(Object.assign(new Error(`bundled model ${name} is ${bytes} bytes; its manifest says ${manifest.bytes}`), { code: 'E_INTEGRITY' })));
    classifiers.get(name).catch(() => {}); // reported to each request that uses it
  }
  return classifiers.get(name);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const maxBody = Number(env?.MAX_BODY_BYTES ?? DEFAULT_MAX_BODY);
    try {
      if (url.pathname === '/health') {
        if (request.method !== 'GET') return fail(405, 'E_METHOD', 'use GET');
        const warm = classifiers.has(DEFAULT_MODEL);
        const clf = await classifier(DEFAULT_MODEL);
        return json(200, { ok: true, warm, served, memoryBytes: clf.stats().memoryBytes, model: { name: DEFAULT_MODEL, ...clf.info }, models: Object.keys(MODELS), manifest: Object.values(MODELS).map((m) => m.manifest) });
      }
      if (url.pathname !== '/classify') return fail(404, 'E_NOT_FOUND', 'try POST /classify or GET /health');
      if (request.method !== 'POST') return fail(405, 'E_METHOD', 'use POST with a JPEG or PNG body');
      const type = (request.headers.get('Content-Type') ?? '').split(';')[0].trim().toLowerCase();
      if (!TYPES.has(type)) return fail(415, 'E_CONTENT_TYPE', `Content-Type must be image/jpeg or image/png, not ${type || 'missing'}`);
      const declared = Number(request.headers.get('Content-Length') ?? 0);
      if (declared > maxBody) return fail(413, 'E_BODY_SIZE', `body of ${declared} bytes exceeds ${maxBody}`);
      const name = url.searchParams.get('model') ?? DEFAULT_MODEL;
      if (!(name in MODELS)) return fail(400, 'E_ARGUMENT', `unknown model ${name}; bundled: ${Object.keys(MODELS).join(', ')}`);
      const topK = Number(url.searchParams.get('top') ?? 5);
      if (!Number.isInteger(topK) || topK < 1 || topK > 1000) return fail(400, 'E_ARGUMENT', 'top must be an integer from 1 to 1000');
      const body = new Uint8Array(await request.arrayBuffer());
      if (body.length > maxBody) return fail(413, 'E_BODY_SIZE', `body of ${body.length} bytes exceeds ${maxBody}`);
      if (body.length === 0) return fail(400, 'E_IMAGE_DECODE', 'empty body');

      const coldStart = !classifiers.has(name);
      const clf = await classifier(name);
      const t0 = performance.now();
      const predictions = await clf.classify(body, { topK });
      const totalMs = performance.now() - t0;
      const inferenceMs = clf.stats().inference.lastMs;
      const decodeMs = Math.max(0, totalMs - inferenceMs);
      served += 1;
      return json(200, {
        predictions,
        model: { name, sha256: clf.info.sha256 },
        timings: { decodeMs, inferenceMs, coldStart },
      }, { 'Server-Timing': `decode;dur=${decodeMs.toFixed(2)}, inference;dur=${inferenceMs.toFixed(2)}` });
    } catch (e) {
      // A bundled model that fails its check is the deployment's fault, not the request's.
      if (e?.code === 'E_INTEGRITY') return fail(503, e.code, e.message);
      if (e?.code && e.code !== 'E_INTERNAL') return fail(400, e.code, e.message);
      return fail(500, 'E_INTERNAL', String(e?.message ?? e));
    }
  },
};
