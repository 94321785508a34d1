// `npm pack` of the built package, installed into a fresh project: imported from Node ESM, and
// bundled by webpack 5 and by Vite into pages that classify an image in Chromium (each
// bundler's output sizes printed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import webpack from 'webpack';
import { root, golden, launchChromium } from './harness.js';
import { serveStatic } from '../../scripts/lib/static-server.mjs';

const tench = path.join(golden, 'n01440764_tench.JPEG');

const project = mkdtempSync(path.join(tmpdir(), 'mobilenet-pack-'));
const tarball = execFileSync('npm', ['pack', path.join(root, 'pkg'), '--pack-destination', project, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(project, tarball)], { cwd: project, stdio: 'ignore' });

test('the packed package installs and classifies from Node ESM', () => {
  writeFileSync(path.join(project, 'main.js'), `
    import { readFile } from 'node:fs/promises';
    import { Classifier } from 'mobilenet-wasm';
    const clf = await Classifier.load();
    const [top] = await clf.classify(await readFile(process.argv[2]));
    console.log(JSON.stringify({ top, info: clf.info }));
  `);
  const out = JSON.parse(execFileSync(process.execPath, ['main.js', tench], { cwd: project, encoding: 'utf8' }));
  assert.equal(out.top.index, 0);
  assert.equal(out.info.version, 'MobileNetV2');
  const packed = JSON.parse(readFileSync(path.join(project, 'node_modules/mobilenet-wasm/package.json'), 'utf8'));
  assert.deepEqual(Object.keys(packed.exports['.']), ['workerd', 'node', 'browser', 'default']);
  assert.deepEqual(Object.values(packed.exports['.']).map((c) => c.types), ['./portable.d.ts', './portable.d.ts', './index.d.ts', './index.d.ts']);
});

test('webpack 5 bundles it into a page that classifies in Chromium', async () => {
  mkdirSync(path.join(project, 'src'), { recursive: true });
  writeFileSync(path.join(project, 'src/index.js'), `
    import { Classifier } from 'mobilenet-wasm';
    const bytes = new Uint8Array(await (await fetch('./tench.jpg')).arrayBuffer());
    const clf = await Classifier.load();
    const [top] = await clf.classify(bytes);
    // The worker-backed classifier: the bundler must have found and bundled its worker.
    const remote = await Classifier.load({ worker: true });
    const [inWorker] = await remote.classify(bytes);
    document.title = 'top1:' + top.index + ':' + top.label + '|worker:' + inWorker.index + ':' + inWorker.label;
  `);
  const dist = path.join(project, 'dist');
  const stats = await new Promise((resolve, reject) => webpack({
    mode: 'production',
    context: project,
    entry: './src/index.js',
    output: { path: dist, filename: 'main.js' },
    experiments: { topLevelAwait: true },
    resolve: { conditionNames: ['browser', 'import', 'default'] },
  }, (err, s) => (err ? reject(err) : resolve(s))));
  assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
  const emitted = execFileSync('find', [dist, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const bytes = (re) => emitted.filter((f) => re.test(f)).map((f) => readFileSync(f).length).reduce((a, b) => a + b, 0);
  console.log(`webpack: ${emitted.length} files; JS ${bytes(/\.js$/)} bytes, wasm ${bytes(/\.wasm$/)} bytes, model ${bytes(/\.tflite$/)} bytes: ${emitted.map((f) => path.relative(dist, f)).join(', ')}`);
  writeFileSync(path.join(dist, 'index.html'), '<!doctype html><script src="main.js"></script>');
  writeFileSync(path.join(dist, 'tench.jpg'), readFileSync(tench));
  const server = await serveStatic({ mounts: [['/', dist]] });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(server.base);
    await page.waitForFunction(() => document.title.startsWith('top1:'), null, { timeout: 30000 });
    assert.match(await page.title(), /^top1:0:tench.*\|worker:0:tench/);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('Vite builds it unchanged into a page that classifies in Chromium', async () => {
  const app = path.join(project, 'vite-app');
  mkdirSync(path.join(app, 'public'), { recursive: true });
  writeFileSync(path.join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
  writeFileSync(path.join(app, 'main.js'), `
    import { Classifier } from 'mobilenet-wasm';
    const bytes = new Uint8Array(await (await fetch('./tench.jpg')).arrayBuffer());
    const clf = await Classifier.load();
    const [top] = await clf.classify(bytes);
    // The worker-backed classifier: the bundler must have found and bundled its worker.
    const remote = await Classifier.load({ worker: true });
    const [inWorker] = await remote.classify(bytes);
    document.title = 'top1:' + top.index + ':' + top.label + '|worker:' + inWorker.index + ':' + inWorker.label;
  `);
  writeFileSync(path.join(app, 'public/tench.jpg'), readFileSync(tench));
  const { build } = await import('vite');
  const dist = path.join(app, 'dist');
  await build({ root: app, logLevel: 'warn', build: { outDir: dist, target: 'es2022' }, resolve: { preserveSymlinks: false } });
  // What Vite emitted: the wasm builds and the model found through new URL(…, import.meta.url).
  const assets = execFileSync('find', [dist, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => path.relative(dist, f));
  const size = (re) => assets.filter((f) => re.test(f)).map((f) => readFileSync(path.join(dist, f)).length).reduce((a, b) => a + b, 0);
  console.log(`vite: ${assets.length} files; JS ${size(/\.js$/)} bytes, wasm ${size(/\.wasm$/)} bytes, model ${size(/\.tflite$/)} bytes: ${assets.join(', ')}`);
  assert.ok(assets.some((f) => /mobilenet_wasm_relaxed_bg.*\.wasm$/.test(f)), assets.join(', '));
  assert.ok(assets.some((f) => /\.tflite$/.test(f)), 'the bundled model is an asset');
  const server = await serveStatic({ mounts: [['/', dist]] });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.base);
    await page.waitForFunction(() => document.title.startsWith('top1:'), null, { timeout: 30000 });
    assert.match(await page.title(), /^top1:0:tench.*\|worker:0:tench/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.stop();
  }
});
