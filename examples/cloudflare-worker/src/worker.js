// Image classification at the edge: POST /classify with a JPEG or PNG body.
// The wasm is imported as a module (no runtime compilation) and each bundled model is a data
// module; a model is built once per isolate and reused by every later request.
import { Classifier } from '../pkg/workerd.js';
import labelsText from '../models/labels.txt';
import { MODELS, DEFAULT_MODEL } from '../models/index.js';

const DEFAULT_MAX_BODY = 10 * 1024 * 1024;
// Decoded pixels per image: 4 MP is 24 MB of decode memory, which fits the isolate's 128 MB
// beside the bundled models warm (measured in test/worker.test.js). Large JPEGs are decoded
// at a reduced DCT scale first (a 12 MP photo at 1/4: 0.75 MP), so only large PNGs meet it.
const DEFAULT_MAX_PIXELS = 4_000_000;
// HTTP status of each error code a request can cause (the rest of the coded errors: 400).
const STATUS = { E_BODY_SIZE: 413, E_IMAGE_TOO_LARGE: 413, E_CONTENT_TYPE: 415, E_INTEGRITY: 503, E_CONFIG: 500, E_INTERNAL: 500 };
const TYPES = new Set(['image/jpeg', 'image/png']);
const labels = labelsText.split('\n').map((l) => l.trim()).filter(Boolean);
const classifiers = new Map(); // model name → Promise<Classifier>, for the isolate's lifetime
let served = 0;

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
const fail = (status, code, message, headers) => json(status, { error: { code, message } }, headers);
const methodNotAllowed = (allow) => fail(405, 'E_METHOD', `use ${allow}`, { Allow: allow });

// A size limit from the environment, refused when it is not a whole number ("10MB" became
// NaN, and every size check then passed).
function limitOf(env, name, fallback) {
  const raw = env?.[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(String(raw)) || !Number.isSafeInteger(n) || n < 1) {
    throw Object.assign(new Error(`${name} must be a whole number, not ${JSON.stringify(raw)}`), { code: 'E_CONFIG' });
  }
  return n;
}

// The body, counted as it streams: a chunked upload without Content-Length is cut off at the
// limit instead of being buffered whole first.
async function readBody(request, maxBody) {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > maxBody) {
      await reader.cancel().catch(() => {});
      throw Object.assign(new Error(`body exceeds ${maxBody} bytes`), { code: 'E_BODY_SIZE' });
    }
    chunks.push(value);
  }
  const body = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return body;
}

// Deployed Workers stop the clock during CPU work: a duration that reads 0 is unknown, not 0 ms.
const measured = (ms) => (ms > 0 ? ms : null);

// Base64 of a hex digest, for `integrity: 'sha256-…'`.
const base64 = (hex) => btoa(String.fromCharCode(...hex.match(/../g).map((h) => parseInt(h, 16))));

// Each bundled model is checked against the build-time manifest before use: its size here, its
// SHA-256 by the classifier (`integrity`) before a single weight is read.
function classifier(name, maxPixels = DEFAULT_MAX_PIXELS) {
  if (!classifiers.has(name)) {
    const { files, manifest } = MODELS[name];
    const data = files.map((f) => new Uint8Array(f));
    const bytes = data.reduce((n, d) => n + d.length, 0);
    classifiers.set(name, bytes === manifest.bytes
      ? Classifier.load({ model: data, labels, integrity: manifest.sha256.map((h) => `sha256-${base64(h)}`), maxPixels, decode: 'reduced' })
      : Promise.reject(Object.assign(new Error(`bundled model ${name} is ${bytes} bytes; its manifest says ${manifest.bytes}`), { code: 'E_INTEGRITY' })));
    classifiers.get(name).catch(() => {}); // reported to each request that uses it
  }
  return classifiers.get(name);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    let name;
    try {
      const maxBody = limitOf(env, 'MAX_BODY_BYTES', DEFAULT_MAX_BODY);
      const maxPixels = limitOf(env, 'MAX_PIXELS', DEFAULT_MAX_PIXELS);
      if (url.pathname === '/health') {
        if (request.method !== 'GET') return methodNotAllowed('GET');
        const warm = classifiers.has(DEFAULT_MODEL);
        const clf = await classifier(DEFAULT_MODEL, maxPixels);
        return json(200, { ok: true, warm, served, memoryBytes: clf.stats().memoryBytes, model: { name: DEFAULT_MODEL, ...clf.info }, models: Object.keys(MODELS), manifest: Object.values(MODELS).map((m) => m.manifest) });
      }
      if (url.pathname !== '/classify') return fail(404, 'E_NOT_FOUND', 'try POST /classify or GET /health');
      if (request.method !== 'POST') return methodNotAllowed('POST');
      const type = (request.headers.get('Content-Type') ?? '').split(';')[0].trim().toLowerCase();
      if (!TYPES.has(type)) return fail(415, 'E_CONTENT_TYPE', `Content-Type must be image/jpeg or image/png, not ${type || 'missing'}`);
      const declared = Number(request.headers.get('Content-Length') ?? 0);
      if (declared > maxBody) return fail(413, 'E_BODY_SIZE', `body of ${declared} bytes exceeds ${maxBody}`);
      name = url.searchParams.get('model') ?? DEFAULT_MODEL;
      // Own properties only: `toString`, `__proto__` or `constructor` are not models.
      if (!Object.hasOwn(MODELS, name)) return fail(400, 'E_ARGUMENT', `unknown model ${name}; bundled: ${Object.keys(MODELS).join(', ')}`);
      const topK = Number(url.searchParams.get('top') ?? 5);
      if (!Number.isInteger(topK) || topK < 1 || topK > 1000) return fail(400, 'E_ARGUMENT', 'top must be an integer from 1 to 1000');
      const body = await readBody(request, maxBody);
      if (body.length === 0) return fail(400, 'E_IMAGE_DECODE', 'empty body');

      const coldStart = !classifiers.has(name);
      const clf = await classifier(name, maxPixels);
      const t0 = performance.now();
      const predictions = await clf.classify(body, { topK });
      const totalMs = performance.now() - t0;
      const inferenceMs = clf.stats().inference.lastMs;
      const inference = measured(inferenceMs);
      const decode = inference === null ? null : measured(totalMs - inferenceMs);
      served += 1;
      const timing = [decode !== null && `decode;dur=${decode.toFixed(2)}`, inference !== null && `inference;dur=${inference.toFixed(2)}`].filter(Boolean);
      return json(200, {
        predictions,
        model: { name, sha256: clf.info.sha256 },
        // null: the isolate's clock did not move (deployed Workers); measure from outside.
        timings: { decodeMs: decode, inferenceMs: inference, coldStart },
      }, timing.length ? { 'Server-Timing': timing.join(', ') } : {});
    } catch (e) {
      const code = e?.code ?? 'E_INTERNAL';
      const status = STATUS[code] ?? 400;
      if (status >= 500) {
        console.error(`${request.method} ${url.pathname}${url.search}: ${code}: ${e?.stack ?? e}`);
        // A classifier whose wasm trapped is never reused: the next request builds it again.
        if (code === 'E_INTERNAL' && name !== undefined) classifiers.delete(name);
      }
      // A bundled model that fails its check is the deployment's fault (503), not the request's.
      return fail(status, code, String(e?.message ?? e));
    }
  },
};
