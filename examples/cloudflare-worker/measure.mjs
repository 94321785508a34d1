// Cold first request, warm inference p50/p95 and wasm memory, one bundled model at a time, in
// workerd on 127.0.0.1:8798. Run after `npm run build`: node examples/cloudflare-worker/measure.mjs
import { readFile } from 'node:fs/promises';
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenDir } from '../../scripts/lib/models.mjs';
const here = path.dirname(fileURLToPath(import.meta.url));
const body = await readFile(path.join(goldenDir(), 'n01440764_tench.JPEG'));
const req = (method, p, b) => new Promise((res, rej) => { const t = performance.now(); const r = http.request('http://127.0.0.1:8798' + p, { method, agent: false, headers: b ? { 'Content-Type': 'image/jpeg' } : {} }, (s) => { let d = ''; s.on('data', (c) => d += c); s.on('end', () => res({ ms: performance.now() - t, json: JSON.parse(d) })); }); r.on('error', rej); r.end(b); });
for (const model of ['mobilenet_v2_1.0_224_quant', 'mobilenet_v3_small_1.0_224_uint8', 'mobilenet_v1_0.25_128_quant']) {
  execFileSync(process.execPath, [path.join(here, 'build.mjs')], { env: { ...process.env, PORT: '8798', MOBILENET_WORKER_MODELS: model } });
  const w = spawn(path.join(here, '../../node_modules/.bin/workerd'), ['serve', path.join(here, 'build/config.capnp')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500));
  const cold = await req('POST', '/classify', body);
  const inf = [];
  for (let i = 0; i < 50; i++) inf.push((await req('POST', '/classify', body)).json.timings.inferenceMs);
  inf.sort((a, b) => a - b);
  const health = await req('GET', '/health');
  console.log(model, `cold first request ${cold.ms.toFixed(0)} ms (coldStart=${cold.json.timings.coldStart}), warm inference p50 ${inf[25]} ms p95 ${inf[47]} ms, wasm memory ${(health.json.memoryBytes / 1048576).toFixed(1)} MiB`);
  w.kill();
  await new Promise((r) => setTimeout(r, 300));
}
