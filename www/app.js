// The page: camera frames go to the worker one at a time (stale frames are dropped).
import { teach } from './teach.js';

const $ = (id) => document.getElementById(id);
const worker = new Worker(/* webpackChunkName: "worker" */ new URL('./worker.js', import.meta.url), { type: 'module' });
const manifest = await (await fetch('./models/manifest.json')).json();
const video = $('video');
const teaching = teach(worker, video);
let busy = false;
let loaded = false;
let loadedAt = Infinity;
let frames = [];
let classified = 0;
const sent = { page: { requests: 0, bytes: 0 }, worker: { requests: 0, bytes: 0 } };
const recent = [];
let nextId = 0;

for (const m of manifest.models) {
  const opt = document.createElement('option');
  opt.value = m.name;
  const acc = m.goldenTop1 != null ? `, ${m.goldenTop1.toFixed(1)} % top-1` : '';
  opt.textContent = `${m.name} (${(m.gzipBytes / 1e6).toFixed(2)} MB${acc})`;
  opt.selected = m.name === manifest.default;
  $('model').append(opt);
}

function load(name) {
  loaded = false;
  loadedAt = Infinity;
  $('cold').textContent = '…';
  $('loaded-model').textContent = `${name} (loading)`;
  $('arithmetic').textContent = '—';
  worker.postMessage({ type: 'load', model: manifest.models.find((m) => m.name === name), labels: manifest.labels, name });
}

function show(stats) {
  const c = stats.coldStart;
  $('cold').textContent = c.totalMs.toFixed(0);
  $('cold-detail').textContent = `(fetch ${c.fetchMs.toFixed(0)}, compile ${c.compileMs.toFixed(0)}, build ${c.buildMs.toFixed(0)}, first inference ${c.firstInferenceMs.toFixed(0)})`;
  if (stats.inference.count > 0) {
    $('p50').textContent = stats.inference.p50Ms.toFixed(1);
    $('p95').textContent = stats.inference.p95Ms.toFixed(1);
    $('p99').textContent = stats.inference.p99Ms.toFixed(1);
  }
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

worker.onmessage = ({ data }) => {
  if (teaching.handle(data) && data.type !== 'loaded') return;
  if (data.type === 'loaded') {
    loaded = true;
    loadedAt = performance.now();
    $('loaded-model').textContent = data.name;
    const { precision, int8Products, simd } = data.info;
    $('arithmetic').textContent = `${precision}${int8Products ? ` (${int8Products} products)` : ''}, ${simd}`;
    show(data.stats);
  } else if (data.type === 'result') {
    busy = false;
    const [top1] = data.top;
    $('top1').textContent = top1.label;
    $('top5').replaceChildren(...data.top.map((p) => {
      const li = document.createElement('li');
      const label = Object.assign(document.createElement('span'), { textContent: p.label });
      const pct = Object.assign(document.createElement('small'), { textContent: ` ${(p.probability * 100).toFixed(1)} %` });
      const bar = Object.assign(document.createElement('div'), { className: 'bar' });
      bar.style.width = `${(p.probability * 100).toFixed(1)}%`; // CSSOM: allowed under a strict CSP
      li.append(label, pct, bar);
      return li;
    }));
    show(data.stats);
    $('frames-classified').textContent = ++classified;
    sent.worker = data.worker;
    showSent();
    const now = performance.now();
    frames = frames.filter((t) => now - t < 1000).concat(now);
    $('fps').textContent = frames.length;
    sparkline(data.ms);
  } else if (data.type === 'error') {
    busy = false;
    $('camera-message').hidden = false;
    $('camera-message').textContent = `${data.code}: ${data.message}`;
  }
};

// Privacy: every request made after the model loaded is counted, the page's from its resource
// timing and the worker's as the worker reports them with each result.
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
  if (loaded && !(await teaching.capture()) && !busy && video.readyState >= 2) {
    busy = true;
    const bitmap = await createImageBitmap(video);
    worker.postMessage({ type: 'classify', image: bitmap, id: nextId++, custom: teaching.classifyOptions() }, [bitmap]);
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
  worker.postMessage({ type: 'classify', image: bytes, id: nextId++, custom: teaching.classifyOptions() }, [bytes.buffer]);
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
