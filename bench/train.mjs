// Training time of the custom-classes head in headless Chromium, side by side with TF.js in the
// same page and session: 5 coarse classes × 20 golden photos embedded by the default V2 base,
// 50 epochs, batch 16, Adam; the median of 5 trainings after a warm-up, and the time from
// "train" to the first custom prediction. Prints the CPU it ran on.
//
//   node bench/train.mjs [--epochs 50] [--reps 5] [--smoke]
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { coarsePhotos } from '../scripts/lib/coarse.mjs';
import { cpuInfo, cpuLine } from '../scripts/lib/cpu.mjs';
import { goldenDir, root } from '../scripts/lib/models.mjs';
import { serveStatic } from '../scripts/lib/static-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({ options: { epochs: { type: 'string', default: '50' }, reps: { type: 'string', default: '5' }, smoke: { type: 'boolean', default: false } } });
if (!existsSync(path.join(root, 'pkg/browser.js'))) throw new Error('pkg/ is not built: run `npm run build` first');
if (!existsSync(path.join(here, 'node_modules/@tensorflow/tfjs-layers'))) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
const per = args.smoke ? 2 : 20;
const groups = coarsePhotos(['dog', 'bird', 'vehicle', 'food', 'musical instrument']);
const classes = Object.fromEntries(Object.entries(groups).map(([c, photos]) => [c, photos.slice(0, per).map((p) => `/golden/${path.basename(p)}`)]));
const server = await serveStatic({
  mounts: [['/pkg/', path.join(root, 'pkg')], ['/node_modules/', path.join(here, 'node_modules')], ['/golden/', goldenDir()], ['/', path.join(here, 'pages')]],
  routes: { '/photos.json': () => ({ body: JSON.stringify({ classes }), type: 'application/json' }) },
});
const { launchChromium } = await import('../tests/browser/harness.js');
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const q = new URLSearchParams({ epochs: args.smoke ? '2' : args.epochs, reps: args.smoke ? '1' : args.reps });
  await page.goto(`${server.base}train.html?${q}`);
  await page.waitForFunction(() => window.__bench || window.__benchError, null, { timeout: 600000 });
  const out = await page.evaluate(() => window.__bench ?? { error: window.__benchError });
  if (out.error) throw new Error(out.error);
  out.cpu = cpuInfo();
  out.chromium = browser.version();
  const ours = out.runs['mobilenet-wasm'].trainMedianMs;
  console.log(`${cpuLine(out.cpu)}; Chromium ${out.chromium}`);
  console.log(`${out.classes} classes × ${out.examples / out.classes} examples of ${out.dim} values, ${out.epochs} epochs, batch ${out.batchSize}, median of ${out.reps}:`);
  for (const [name, r] of Object.entries(out.runs)) {
    console.log(`  ${name.padEnd(16)} train ${r.trainMedianMs.toFixed(1).padStart(8)} ms   train → first prediction ${r.toFirstPredictionMedianMs.toFixed(1).padStart(8)} ms   ratio ours/this ${(ours / r.trainMedianMs).toFixed(2)}`);
  }
  if (!args.smoke) writeFileSync(path.join(here, 'train-results.json'), JSON.stringify(out, null, 2));
} finally {
  await browser.close();
  server.stop();
}
