// The Worker in the real workerd runtime: same top-1 as the native CLI, 200 requests at
// concurrency 20, and 4xx (never 5xx) for bad requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(here, '../..');
const modelsDir = process.env.MOBILENET_MODELS_DIR ?? path.join(root, '../shared/models');
const golden = path.join(modelsDir, '../golden/imagenet-samples');
const port = 20000 + (process.pid % 1000);
const base = `http://127.0.0.1:${port}`;
let workerd;

before(async () => {
  execFileSync(process.execPath, [path.join(here, 'build.mjs')], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  workerd = spawn(path.join(root, 'node_modules/.bin/workerd'), ['serve', path.join(here, 'build/config.capnp')], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/health`)).ok) return; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('workerd did not start');
});
after(() => workerd?.kill());

// One connection per request: Node's fetch pool reuses keep-alive sockets that workerd may
// already have closed, which surfaces as ECONNRESET on the client, not as a server failure.
function request(method, pathname, body, type) {
  return new Promise((resolve, reject) => {
    const headers = type ? { 'Content-Type': type } : {};
    if (body) headers['Content-Length'] = body.length;
    // Large uploads ask first (as curl does), so a 413 arrives before the body is sent.
    const large = body && body.length > 1 << 20;
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
    if (large) {
      req.on('continue', () => req.end(body));
      req.flushHeaders();
    }
    else req.end(body);
  });
}
const classify = (body, type = 'image/jpeg', query = '') => request('POST', `/classify${query}`, body, type);

test('health reports the model and warmth', async () => {
  const h = await (await fetch(`${base}/health`)).json();
  assert.equal(h.ok, true);
  assert.equal(h.model.version, 'MobileNetV2');
  assert.ok(h.models.includes('mobilenet_v3_small_1.0_224_uint8'));
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

test('200 requests at concurrency 20: all succeed, identical inputs give identical results', async () => {
  const files = (await readdir(golden)).sort().slice(100, 104);
  const bodies = await Promise.all(files.map((f) => readFile(path.join(golden, f))));
  const results = new Array(200);
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < 200) {
      const i = next++;
      const res = await classify(bodies[i % 4]);
      assert.equal(res.status, 200);
      results[i] = JSON.stringify((await res.json()).predictions);
    }
  }));
  for (let i = 4; i < 200; i++) assert.equal(results[i], results[i % 4], `request ${i}`);
  const h = await (await request('GET', '/health')).json();
  assert.equal(h.warm, true);
});

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
  ];
  for (const [res, status, code] of cases) {
    assert.equal(res.status, status, code);
    assert.equal((await res.json()).error.code, code);
  }
  assert.equal((await request('GET', '/health')).status, 200);
});
