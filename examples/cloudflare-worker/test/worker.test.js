// The Worker in the real workerd runtime: same top-1 as the native CLI, 1,000 requests of valid
// and malformed bodies at concurrency 50, 4xx (never 5xx) for bad requests, and bundled models
// checked against the build-time manifest (a tampered bundle is refused).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { readdir, readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenDir, modelsDir as resolveModelsDir, root } from '../../../scripts/lib/models.mjs';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modelsDir = resolveModelsDir();
const golden = goldenDir();
const port = 20000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
let workerd;

// MOBILENET_WORKER_RUNTIME=wrangler runs the same suite under `wrangler dev` (local mode)
// instead of bare workerd.
const runtime = process.env.MOBILENET_WORKER_RUNTIME ?? 'workerd';

before(async () => {
  execFileSync(process.execPath, [path.join(here, 'build.mjs')], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  if (runtime === 'wrangler') {
    const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
    workerd = spawn(path.join(here, 'node_modules/.bin/wrangler'), ['dev', '--ip', '127.0.0.1', '--port', String(port), '--show-interactive-dev-session=false'],
      { cwd: here, env, detached: true, stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    workerd = spawn(path.join(root, 'node_modules/.bin/workerd'), ['serve', path.join(here, 'build/config.capnp')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${base}/health`)).ok) return; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${runtime} did not start`);
});
// wrangler runs workerd as a child: the whole process group goes.
after(() => {
  if (!workerd) return;
  if (runtime === 'wrangler') process.kill(-workerd.pid, 'SIGTERM');
  else workerd.kill();
});

// One connection per request: Node's fetch pool reuses keep-alive sockets that workerd may
// already have closed, which surfaces as ECONNRESET on the client, not as a server failure.
function request(method, pathname, body, type) {
  return new Promise((resolve, reject) => {
    const headers = type ? { 'Content-Type': type } : {};
    if (body) headers['Content-Length'] = body.length;
    // Large uploads ask first (as curl does), so a 413 arrives before the body is sent.
    // (wrangler dev's local proxy never answers `Expect: 100-continue`: there it is sent whole.)
    const large = body && body.length > 1 << 20 && runtime !== 'wrangler';
    if (large) headers.Expect = '100-continue';
    const req = http.request(`${base}${pathname}`, { method, agent: false, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        req.destroy(); // a refused upload was never sent; let its socket go
        resolve({ status: res.statusCode, headers: { get: (h) => res.headers[h.toLowerCase()] }, json: async () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.setTimeout(120000, () => req.destroy(new Error(`${method} ${pathname}: no answer in 120 s`)));
    if (large) {
      req.on('continue', () => req.end(body));
      req.flushHeaders();
    }
    else req.end(body);
  });
}
const classify = (body, type = 'image/jpeg', query = '') => request('POST', `/classify${query}`, body, type);

test('health reports the model, warmth and the manifest the models were checked against', async () => {
  const h = await (await fetch(`${base}/health`)).json();
  assert.equal(h.ok, true);
  assert.equal(h.model.version, 'MobileNetV2');
  assert.ok(h.models.includes('mobilenet_v3_small_1.0_224_uint8'));
  assert.equal(h.manifest.length, h.models.length);
  for (const m of h.manifest) {
    assert.ok(m.goldenTop1 > 40 && m.goldenTop1 < 100, `${m.name} accuracy ${m.goldenTop1}`);
    let bytes = 0;
    for (const [i, f] of m.files.entries()) {
      const data = await readFile(path.join(modelsDir, m.name, f));
      bytes += data.length;
      assert.equal(m.sha256[i], createHash('sha256').update(data).digest('hex'), `${m.name}/${f}`);
    }
    assert.equal(m.bytes, bytes);
  }
  assert.equal(h.model.sha256, h.manifest.find((m) => m.name === 'mobilenet_v2_1.0_224_quant').sha256[0], 'the classifier hashed what the manifest lists');
});

test('golden images: same top-1 as the native CLI, for each bundled model', async () => {
  const files = (await readdir(golden)).sort().slice(0, 10).map((f) => path.join(golden, f));
  const cli = process.env.MOBILENET_CLI ?? path.join(root, 'target/debug/mobilenet');
  for (const [model, file] of [['mobilenet_v2_1.0_224_quant', 'mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite'], ['mobilenet_v1_0.25_128_quant', 'mobilenet_v1_0.25_128_quant/mobilenet_v1_0.25_128_quant.tflite']]) {
    const native = JSON.parse(execFileSync(cli, ['classify', '--json', '--top', '1', '--model', path.join(modelsDir, file), ...files], { encoding: 'utf8' }));
    for (const [i, f] of files.entries()) {
      const res = await classify(await readFile(f), 'image/jpeg', `?model=${model}&top=3`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('Server-Timing'), /inference;dur=/);
      const out = await res.json();
      assert.equal(out.predictions.length, 3);
      assert.equal(out.predictions[0].index, native[i].predictions[0].index, `${model} ${path.basename(f)}`);
      assert.equal(out.model.name, model);
      assert.equal(typeof out.timings.coldStart, 'boolean');
    }
  }
});

test('1,000 requests at concurrency 50, valid and malformed mixed: valid ones right, the rest 4xx, never 5xx', async () => {
  const files = (await readdir(golden)).sort().slice(100, 104);
  const images = await Promise.all(files.map((f) => readFile(path.join(golden, f))));
  const jpeg = images[0];
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0f0000003010100c9fe92ef0000000049454e44ae426082', 'hex');
  const bomb = Buffer.from(png);
  bomb.writeUInt32BE(60000, 16);
  bomb.writeUInt32BE(60000, 20);
  bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
  const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
  const models = ['mobilenet_v1_0.25_128_quant', 'mobilenet_v1_0.25_128_quant', 'mobilenet_v1_0.25_128_quant', 'mobilenet_v3_small_1.0_224_uint8'];
  // Expected answers, one request at a time.
  const expected = new Map();
  for (const [i, img] of images.entries()) {
    for (const m of new Set(models)) expected.set(`${i}:${m}`, JSON.stringify((await (await classify(img, 'image/jpeg', `?model=${m}`)).json()).predictions));
  }
  const malformed = [
    () => [classify(noise), 400, 'E_IMAGE_DECODE'],
    () => [classify(jpeg.subarray(0, jpeg.length >> 1)), 400, 'E_IMAGE_DECODE'],
    () => [classify(bomb, 'image/png'), 413, 'E_IMAGE_TOO_LARGE'],
    () => [classify(new Uint8Array(0)), 400, 'E_IMAGE_DECODE'],
    () => [classify(jpeg, 'application/json'), 415, 'E_CONTENT_TYPE'],
    () => [classify(jpeg, 'image/jpeg', '?top=-1'), 400, 'E_ARGUMENT'],
    () => [classify(png.subarray(0, 40), 'image/png'), 400, 'E_IMAGE_DECODE'],
  ];
  const tally = { valid: 0, malformed: 0 };
  let next = 0;
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (next < 1000) {
      const i = next++;
      if (i % 5 < 3) { // 60 % valid
        const img = i % images.length;
        const model = models[i % models.length];
        const res = await classify(images[img], 'image/jpeg', `?model=${model}`);
        assert.equal(res.status, 200, `request ${i}`);
        assert.equal(JSON.stringify((await res.json()).predictions), expected.get(`${img}:${model}`), `request ${i}`);
        tally.valid += 1;
      } else {
        const [pending, status, code] = malformed[i % malformed.length]();
        const res = await pending;
        assert.equal(res.status, status, `request ${i} (${code})`);
        assert.equal((await res.json()).error.code, code, `request ${i}`);
        tally.malformed += 1;
      }
    }
  }));
  assert.deepEqual(tally, { valid: 600, malformed: 400 });
  const h = await (await request('GET', '/health')).json();
  assert.equal(h.ok, true, 'the isolate is still healthy');
  console.log(`after 1,000 mixed requests: served ${h.served}, wasm memory ${(h.memoryBytes / 2 ** 20).toFixed(1)} MiB`);
});

test('a bundle whose model does not match its manifest is refused before use', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'worker-tampered-'));
  const tamperedPort = port + 1;
  execFileSync(process.execPath, [path.join(here, 'build.mjs')], { env: { ...process.env, PORT: String(tamperedPort), MOBILENET_WORKER_OUT: out, MOBILENET_WORKER_MODELS: 'mobilenet_v1_0.25_128_quant' }, stdio: 'ignore' });
  const model = path.join(out, 'models', 'mobilenet_v1_0.25_128_quant--mobilenet_v1_0.25_128_quant.tflite');
  const data = await readFile(model);
  data[data.length >> 1] ^= 0x55; // one byte of one weight
  await writeFile(model, data);
  const tampered = spawn(path.join(root, 'node_modules/.bin/workerd'), ['serve', path.join(out, 'config.capnp')], { stdio: 'ignore' });
  try {
    let res;
    for (let i = 0; i < 100 && !res; i++) {
      res = await fetch(`http://127.0.0.1:${tamperedPort}/health`).catch(() => null);
      if (!res) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(res.status, 503);
    assert.equal((await res.json()).error.code, 'E_INTEGRITY');
    const jpeg = await readFile(path.join(golden, 'n01440764_tench.JPEG'));
    const r2 = await new Promise((resolve, reject) => {
      const req = http.request(`http://127.0.0.1:${tamperedPort}/classify`, { method: 'POST', agent: false, headers: { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length } }, (r) => {
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode, body: JSON.parse(Buffer.concat(chunks)) }));
      });
      req.on('error', reject);
      req.end(jpeg);
    });
    assert.equal(r2.status, 503);
    assert.equal(r2.body.error.code, 'E_INTEGRITY');
  } finally {
    tampered.kill();
  }
});

function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

test('bad requests get 4xx with a code, never 5xx', async () => {
  const jpeg = await readFile(path.join(golden, 'n01440764_tench.JPEG'));
  const cases = [
    [await classify(new TextEncoder().encode('not an image')), 400, 'E_IMAGE_DECODE'],
    [await classify(jpeg.subarray(0, jpeg.length / 2)), 400, 'E_IMAGE_DECODE'],
    [await classify(new Uint8Array(0)), 400, 'E_IMAGE_DECODE'],
    [await classify(jpeg, 'text/plain'), 415, 'E_CONTENT_TYPE'],
    [await classify(jpeg, 'image/gif'), 415, 'E_CONTENT_TYPE'],
    [await classify(new Uint8Array(11 * 1024 * 1024), 'image/png'), 413, 'E_BODY_SIZE'],
    [await classify(jpeg, 'image/jpeg', '?top=0'), 400, 'E_ARGUMENT'],
    [await classify(jpeg, 'image/jpeg', '?model=nope'), 400, 'E_ARGUMENT'],
    [await request('GET', '/classify'), 405, 'E_METHOD'],
    [await request('PUT', '/classify', jpeg, 'image/jpeg'), 405, 'E_METHOD'],
    // Inherited names are not models (`toString` was looked up on the prototype: a 500).
    [await classify(jpeg, 'image/jpeg', '?model=toString'), 400, 'E_ARGUMENT'],
    [await classify(jpeg, 'image/jpeg', '?model=__proto__'), 400, 'E_ARGUMENT'],
    [await classify(jpeg, 'image/jpeg', '?model=constructor'), 400, 'E_ARGUMENT'],
    [await chunked(new Uint8Array(11 * 1024 * 1024)), 413, 'E_BODY_SIZE'],
  ];
  for (const [res, status, code] of cases) {
    assert.equal(res.status, status, code);
    assert.equal((await res.json()).error.code, code);
  }
  assert.equal((await request('GET', '/classify')).headers.get('allow'), 'POST');
  assert.equal((await request('POST', '/health')).headers.get('allow'), 'GET');
  // A chunked upload under the limit is read whole and classified.
  assert.equal((await chunked(jpeg)).status, 200);
  assert.equal((await request('GET', '/health')).status, 200);
});

// A body sent in chunks without Content-Length (the Worker must count it as it streams).
function chunked(body, type = 'image/jpeg') {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/classify`, { method: 'POST', agent: false, headers: { 'Content-Type': type, 'Transfer-Encoding': 'chunked' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, json: async () => JSON.parse(text) });
      });
    });
    // A refused upload may be cut off after its answer: only an error before it fails.
    let answered = false;
    req.on('response', () => { answered = true; });
    req.on('error', (e) => { if (!answered) reject(e); });
    for (let at = 0; at < body.length; at += 1 << 16) req.write(body.subarray(at, at + (1 << 16)));
    req.end();
  });
}

test('a bad MAX_BODY_BYTES is refused with E_CONFIG, not silently unlimited', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'worker-config-'));
  const badPort = port + 2;
  execFileSync(process.execPath, [path.join(here, 'build.mjs')], { env: { ...process.env, PORT: String(badPort), MOBILENET_WORKER_OUT: out, MOBILENET_WORKER_MODELS: 'mobilenet_v1_0.25_128_quant', MAX_BODY_BYTES: '10MB' }, stdio: 'ignore' });
  const bad = spawn(path.join(root, 'node_modules/.bin/workerd'), ['serve', path.join(out, 'config.capnp')], { stdio: 'ignore' });
  try {
    let res;
    for (let i = 0; i < 100 && !res; i++) {
      res = await fetch(`http://127.0.0.1:${badPort}/health`).catch(() => null);
      if (!res) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.equal(body.error.code, 'E_CONFIG');
    assert.match(body.error.message, /MAX_BODY_BYTES/);
  } finally {
    bad.kill();
  }
});

// Large photos made by PIL (installed by scripts/setup.sh): a 12 MP JPEG (decoded at 1/8 by the
// Worker's reduced decode) and PNGs just under and just over the Worker's 4 MP budget.
function bigImages() {
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  const tench = path.join(golden, 'n01440764_tench.JPEG');
  execFileSync('python3', ['-c', `
import sys
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
photo = Image.open(src).convert('RGB')
photo.resize((4000, 3000)).save(out + '/12mp.jpg', quality=90)
photo.resize((1990, 1990)).save(out + '/under.png', compress_level=1)
photo.resize((2100, 2100)).save(out + '/over.png', compress_level=1)
`, tench, dir]);
  return { dir, tench };
}

// Peak resident memory of the workerd process (VmHWM), in MiB.
async function peakRss(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmHWM:\s+(\d+) kB/)[1]) / 1024;
}

test('bomb mix: PNG and JPEG bombs, thin images, chunked uploads and concurrent 12 MP photos: 0 5xx, memory within budget, the next good request right', async () => {
  const { dir, tench } = bigImages();
  const [big, under, over, photo] = await Promise.all(['12mp.jpg', 'under.png', 'over.png'].map((f) => readFile(path.join(dir, f))).concat([readFile(tench)]));
  const expected = (await (await classify(photo)).json()).predictions;
  const before = await (await request('GET', '/health')).json();
  const rssBefore = await peakRss(workerd.pid);
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0f0000003010100c9fe92ef0000000049454e44ae426082', 'hex');
  const declaring = (w, h) => {
    const b = Buffer.from(png);
    b.writeUInt32BE(w, 16);
    b.writeUInt32BE(h, 20);
    b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
    return b;
  };
  const jpegDeclaring = (w, h) => {
    const b = Buffer.from(photo);
    const sof = b.findIndex((x, i) => x === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2));
    b.writeUInt16BE(h, sof + 5);
    b.writeUInt16BE(w, sof + 7);
    return b;
  };
  const cases = [
    [() => classify(declaring(8700, 8700), 'image/png'), 413, 'E_IMAGE_TOO_LARGE'],
    [() => classify(declaring(1, 89_000_000), 'image/png'), 413, 'E_IMAGE_TOO_LARGE'],
    [() => classify(declaring(60000, 60000), 'image/png'), 413, 'E_IMAGE_TOO_LARGE'],
    [() => classify(jpegDeclaring(65000, 65000)), 413, 'E_IMAGE_TOO_LARGE'],
    // Sent in chunks: over 1 MB, `request` asks for 100-continue, which workerd does not send
    // while the Worker waits for the body.
    [() => chunked(over, 'image/png'), 413, 'E_IMAGE_TOO_LARGE'],
    [() => chunked(under, 'image/png'), 200, null],
    [() => classify(big), 200, null],
    [() => chunked(big), 200, null],
    [() => chunked(new Uint8Array(11 * 1024 * 1024)), 413, 'E_BODY_SIZE'],
  ];
  const statuses = [];
  // All nine at once, three rounds: concurrent big photos and bombs in one isolate.
  for (let round = 0; round < 3; round++) {
    await Promise.all(cases.map(async ([send, status, code], i) => {
      const res = await send();
      statuses.push(res.status);
      assert.equal(res.status, status, `case ${i}`);
      if (code) assert.equal((await res.json()).error.code, code, `case ${i}`);
    }));
  }
  assert.equal(statuses.filter((s) => s >= 500).length, 0);
  const after = await (await request('GET', '/health')).json();
  const rssAfter = await peakRss(workerd.pid);
  // Wasm memory never shrinks, so what it is now is its peak.
  const mib = (b) => b / 2 ** 20;
  console.log(`bomb mix: wasm memory ${mib(before.memoryBytes).toFixed(1)} → ${mib(after.memoryBytes).toFixed(1)} MiB; workerd peak RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB`);
  assert.ok(after.memoryBytes - before.memoryBytes <= 40 * 2 ** 20, `wasm memory grew ${mib(after.memoryBytes - before.memoryBytes).toFixed(1)} MiB`);
  assert.ok(after.memoryBytes <= 112 * 2 ** 20, `wasm memory ${mib(after.memoryBytes).toFixed(1)} MiB leaves too little of 128 MB`);
  assert.deepEqual((await (await classify(photo)).json()).predictions, expected);
});
