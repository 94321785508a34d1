// Assembles the demo in www/dist: webpack 5 bundles the page script, its Web Worker and the built
// package (webpack.config.js); then the page, the style sheet and every classification model in
// the models directory with a manifest (name, files, bytes, gzip bytes, sha256, accuracy).
import { mkdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import webpack from 'webpack';
import config from '../webpack.config.js';
import { labelsFile, modelFiles, modelFolders, modelsDir as resolveModelsDir, root } from './lib/models.mjs';

const modelsDir = resolveModelsDir();
const dist = path.join(root, 'www/dist');
await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'models'), { recursive: true });
const stats = await new Promise((resolve, reject) => webpack(config, (err, s) => (err ? reject(err) : resolve(s))));
if (stats.hasErrors()) throw new Error(stats.toString('errors-only'));
for (const f of ['index.html', 'style.css', 'favicon.svg']) await copyFile(path.join(root, 'www', f), path.join(dist, f));
const accuracy = JSON.parse(await readFile(path.join(root, 'www/golden-accuracy.json'), 'utf8')).top1;

const models = [];
for (const name of modelFolders()) {
  if (!(name in accuracy)) continue; // only the classifiers we have measured
  const files = modelFiles(name);
  await mkdir(path.join(dist, 'models', name), { recursive: true });
  let bytes = 0, gzipBytes = 0;
  const integrity = [];
  for (const f of files) {
    const data = await readFile(path.join(modelsDir, name, f));
    await writeFile(path.join(dist, 'models', name, f), data);
    bytes += data.length;
    gzipBytes += gzipSync(data, { level: 9 }).length;
    integrity.push('sha256-' + createHash('sha256').update(data).digest('base64'));
  }
  models.push({ name, files: files.map((f) => `${name}/${f}`), bytes, gzipBytes, integrity, goldenTop1: accuracy[name] });
}
await copyFile(labelsFile(), path.join(dist, 'models/labels.txt'));
await writeFile(path.join(dist, 'models/manifest.json'), JSON.stringify({ default: 'mobilenet_v2_1.0_224_quant', labels: 'labels.txt', models }, null, 2));
console.log(`demo assembled in ${path.relative(root, dist)} with ${models.length} models`);
