// The page: the package's worker-backed classifier (`Classifier.load({ worker: true })`) runs
// the model and the custom classes in a Web Worker; camera frames go to it one at a time
// (stale frames are dropped), and Teach mode (teach.js) calls the CustomClassifier directly.
import { Classifier, CustomClassifier } from '../pkg/browser.js';
import { teach } from './teach.js';
import { loadSaved, store } from './store.js';

const $ = (id) => document.getElementById(id);
const manifest = await (await fetch('./models/manifest.json')).json();
const video = $('video');
let clf = null;
let custom = null;
let modelName = null;
let ready = Promise.resolve();
let generation = 0;
let busy = false;
let loadedAt = Infinity;
let frames = [];
let classified = 0;
const sent = { page: { requests: 0, bytes: 0 }, worker: { requests: 0, bytes: 0 } };
const recent = [];

const teaching = teach(video, {
  custom: () => custom,
  // Taught classes are kept per model in IndexedDB (the bytes save() returns).
  persist: async () => store(modelName, await custom.save()),
  // Imported classes replace the current ones (E_MODEL_MISMATCH when taught on another model).
  async replace(bytes) {
    const next = await CustomClassifier.load(clf, bytes);
    custom.free();
    custom = next;
  },
});

for (const m of manifest.models) {
  const opt = document.createElement('option');
  opt.value = m.name;
  const acc = m.goldenTop1 != null ? `, ${m.goldenTop1.toFixed(1)} % top-1` : '';
  opt.textContent = `${m.name} (${(m.gzipBytes / 1e6).toFixed(2)} MB${acc})`;
  opt.selected = m.name === manifest.default;
  $('model').append(opt);
}

function problem(e) {
  $('camera-message').hidden = false;
  $('camera-message').textContent = `${e.code ?? 'E_INTERNAL'}: ${e.message}`;
}

/** The classes saved for this model, else none yet (another format or base: start afresh). */
async function restore(base, name) {
  const saved = await loadSaved(name).catch(() => null);
  if (saved) {
    try {
      return await CustomClassifier.load(base, saved);
    } catch { /* start afresh */ }
  }
  return CustomClassifier.create(base);
}

function load(name) {
  const mine = ++generation;
  loadedAt = Infinity;
  $('cold').textContent = '…';
  $('loaded-model').textContent = `${name} (loading)`;
  $('arithmetic').textContent = '—';
  const [oldClf, oldCustom] = [clf, custom];
  clf = null;
  custom = null;
  teaching.render();
  oldCustom?.free();
  oldClf?.free();
  const m = manifest.models.find((x) => x.name === name);
  ready = (async () => {
    const next = await Classifier.load({ worker: true, model: m.files.map((f) => `./models/${f}`), integrity: m.integrity, labels: `./models/${manifest.labels}` });
    const classes = await restore(next, name).catch((e) => { next.free(); throw e; });
    if (mine !== generation) {
      classes.free();
      next.free();
      return;
    }
    [clf, custom, modelName] = [next, classes, name];
    loadedAt = performance.now();
    $('loaded-model').textContent = name;
    const { precision, int8Products, simd, threads } = clf.info;
    $('arithmetic').textContent = `${precision}${int8Products ? ` (${int8Products} products)` : ''}, ${simd}, ${threads} thread${threads === 1 ? '' : 's'}`;
    show(clf.stats());
    teaching.render();
  })();
  ready.catch(problem);
}

function show(stats) {
  const c = stats.coldStart;
  $('cold').textContent = c.totalMs.toFixed(0);
  $('cold-detail').textContent = `(worker ${c.workerStartMs.toFixed(0)}, fetch ${c.fetchMs.toFixed(0)}, compile ${c.compileMs.toFixed(0)}, build ${c.buildMs.toFixed(0)}, first inference ${c.firstInferenceMs.toFixed(0)})`;
  if (stats.inference.count > 0) {
    $('p50').textContent = stats.inference.p50Ms.toFixed(1);
    $('p95').textContent = stats.inference.p95Ms.toFixed(1);
    $('p99').textContent = stats.inference.p99Ms.toFixed(1);
  }
  sent.worker = stats.network;
  showSent();
}

function sparkline(ms) {
  recent.push(ms);
  if (recent.length > 80) recent.shift();
  const cv = $('spark');
  const ctx = cv.getContext('2d');
  const max = Math.max(...recent) * 1.1;
  ctx.clearRect(0, 0, cv.width, cv.height);
  ctx.strokeStyle = '#4a7cf0';
  ctx.beginPath();
  recent.forEach((v, i) => ctx.lineTo((i / 79) * cv.width, cv.height - (v / max) * cv.height));
  ctx.stroke();
}

function showTop(top) {
  const [top1] = top;
  $('top1').textContent = top1.label;
  $('top5').replaceChildren(...top.map((p) => {
    const li = document.createElement('li');
    const label = Object.assign(document.createElement('span'), { textContent: p.label });
    const pct = Object.assign(document.createElement('small'), { textContent: ` ${(p.probability * 100).toFixed(1)} %` });
    const bar = Object.assign(document.createElement('div'), { className: 'bar' });
    bar.style.width = `${(p.probability * 100).toFixed(1)}%`; // CSSOM: allowed under a strict CSP
    li.append(label, pct, bar);
    return li;
  }));
}

/** Classifies `image` (a video frame or a photo's bytes) with the model or, when chosen, the custom classes. */
async function classify(image) {
  const t = performance.now();
  const options = teaching.classifyOptions();
  const top = options && custom.classes.length > 0 ? await custom.classify(image, { topK: 5, ...options }) : await clf.classify(image, { topK: 5 });
  showTop(top);
  show(clf.stats());
  $('frames-classified').textContent = ++classified;
  const now = performance.now();
  frames = frames.filter((f) => now - f < 1000).concat(now);
  $('fps').textContent = frames.length;
  sparkline(now - t);
}

// Privacy: every request made after the model loaded is counted, the page's from its resource
// timing and the worker's as the classifier's stats report them.
function showSent() {
  $('after-load').textContent = sent.page.requests + sent.worker.requests;
  $('bytes-after-load').textContent = sent.page.bytes + sent.worker.bytes;
}
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.startTime > loadedAt) {
      sent.page.requests += 1;
      sent.page.bytes += e.transferSize || 0;
    }
  }
  showSent();
}).observe({ type: 'resource', buffered: true });

async function sendFrame() {
  // While a Teach button is held, frames become examples instead.
  if (clf && !(await teaching.capture()) && !busy && video.readyState >= 2 && !video.paused) {
    busy = true;
    classify(video).catch(problem).finally(() => { busy = false; });
  }
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(sendFrame);
  else requestAnimationFrame(sendFrame);
}

$('model').onchange = (e) => load(e.target.value);
$('file').onchange = async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  video.pause();
  busy = true;
  // A photo chosen while the model loads waits for it.
  ready.then(() => classify(bytes)).catch(problem).finally(() => { busy = false; });
};

load(manifest.default);
try {
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await video.play();
  video.requestVideoFrameCallback ? video.requestVideoFrameCallback(sendFrame) : requestAnimationFrame(sendFrame);
} catch (e) {
  $('camera-message').hidden = false;
  $('camera-message').textContent = `No camera (${e.name}). Choose a photo below instead; it is classified on this device.`;
}
