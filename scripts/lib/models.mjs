// The models directory and what is in it, for every script, test and benchmark: the published
// TFLite files live outside the repository, in MOBILENET_MODELS_DIR (default ../shared/models),
// with the golden photos beside it. A model folder's files are listed in name order: the loader
// places a split model's backbone and head itself, in whatever order they come.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The models directory, resolved (a `..` in the variable would otherwise defeat path checks);
 * throws, naming the variable, when it is missing.
 */
export function modelsDir() {
  const dir = path.resolve(process.env.MOBILENET_MODELS_DIR ?? path.join(root, '../shared/models'));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`models directory ${dir} not found; set MOBILENET_MODELS_DIR to the folder holding the published .tflite files`);
  }
  return dir;
}

/** The golden photos beside the models directory. */
export function goldenDir() {
  return path.join(modelsDir(), '../golden/imagenet-samples');
}

/**
 * The user-style files (Keras / Teachable Machine exports) with TFLite's outputs in
 * `reference.json`: MOBILENET_BYOM_DIR, default `byom` beside the models directory.
 */
export function byomDir() {
  const dir = path.resolve(process.env.MOBILENET_BYOM_DIR ?? path.join(modelsDir(), '../byom'));
  if (!existsSync(path.join(dir, 'reference.json'))) {
    throw new Error(`${dir} holds no reference.json; set MOBILENET_BYOM_DIR (or MOBILENET_MODELS_DIR beside it)`);
  }
  return dir;
}

/** The ImageNet labels file of the models directory. */
export function labelsFile() {
  return path.join(modelsDir(), 'imagenet-labels.txt');
}

/** The `.tflite` files of one model folder, in name order. */
export function modelFiles(name) {
  return readdirSync(path.join(modelsDir(), name)).filter((f) => f.endsWith('.tflite')).sort();
}

/** Every model folder of the models directory that holds `.tflite` files, in name order. */
export function modelFolders() {
  return readdirSync(modelsDir(), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .filter((name) => modelFiles(name).length > 0);
}
