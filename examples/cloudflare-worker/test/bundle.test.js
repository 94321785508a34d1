// The deployable bundle as `wrangler deploy --dry-run --outdir` builds it, for each choice of
// bundled models, against Workers' script size limits (after compression): 3 MB on the free
// plan, 10 MB on the paid one. Prints the table the README gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wrangler = path.join(here, 'node_modules/.bin/wrangler');
const MB = 1024 * 1024;
const CHOICES = [
  ['mobilenet_v1_0.25_128_quant'],
  ['mobilenet_v3_small_1.0_224_uint8'],
  ['mobilenet_v2_1.0_224_quant'],
  ['mobilenet_v2_1.0_224_quant', 'mobilenet_v3_small_1.0_224_uint8', 'mobilenet_v1_0.25_128_quant'],
];

/** Builds the Worker with `models` into a temporary folder and has wrangler bundle it. */
function bundle(models) {
  const dir = mkdtempSync(path.join(tmpdir(), 'worker-bundle-'));
  try {
    const out = path.join(dir, 'build');
    execFileSync(process.execPath, [path.join(here, 'build.mjs')], { env: { ...process.env, MOBILENET_WORKER_MODELS: models.join(','), MOBILENET_WORKER_OUT: out }, stdio: 'ignore' });
    const config = readFileSync(path.join(here, 'wrangler.toml'), 'utf8').replace('main = "build/src/worker.js"', `main = "${path.join(out, 'src/worker.js')}"`);
    writeFileSync(path.join(dir, 'wrangler.toml'), config);
    const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
    const log = execFileSync(wrangler, ['deploy', '--dry-run', '--config', path.join(dir, 'wrangler.toml'), '--outdir', path.join(dir, 'dist')], { cwd: dir, env, encoding: 'utf8' });
    const m = log.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
    assert.ok(m, `wrangler printed no upload size:\n${log}`);
    return { raw: Number(m[1]) * 1024, gzip: Number(m[2]) * 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the deployable bundle of each model choice, against the free and paid size limits', () => {
  const rows = CHOICES.map((models) => ({ models, ...bundle(models) }));
  console.log('| bundled models | upload | gzip | free (3 MB) | paid (10 MB) |\n|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.models.join(' + ')} | ${(r.raw / MB).toFixed(2)} MB | ${(r.gzip / MB).toFixed(2)} MB | ${r.gzip <= 3 * MB ? 'fits' : 'too large'} | ${r.gzip <= 10 * MB ? 'fits' : 'too large'} |`);
  }
  const [v1, , , all] = rows;
  assert.ok(v1.gzip <= 3 * MB, `V1 0.25/128 alone fits the free plan (${v1.gzip} bytes)`);
  assert.ok(all.gzip <= 10 * MB, `the three default models fit the paid plan (${all.gzip} bytes)`);
  for (const r of rows) assert.ok(r.gzip > 0.5 * MB && r.gzip < r.raw);
});
