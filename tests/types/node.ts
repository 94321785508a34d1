// A Node consumer: encoded bytes and RGBA pixels are the inputs; DOM sources are not offered
// (Node has no DOM: they would only fail at run time), nor is classifyStream.
import { Classifier, CustomClassifier } from 'mobilenet-wasm';
import { readFile } from 'node:fs/promises';

export async function main(): Promise<string> {
  const clf = await Classifier.load({ model: 'model.tflite', labels: 'labels.txt' });
  const bytes = await readFile('cat.jpg');
  const top = await clf.classify(bytes, { topK: 1 });
  const px = await clf.classify({ data: new Uint8Array(16), width: 2, height: 2 });
  const custom = await CustomClassifier.create(clf);
  await custom.addExample(bytes, 'cat');
  const mine = await custom.classify(bytes);
  // @ts-expect-error no DOM inputs in Node (an image element's shape)
  await clf.classify({ naturalWidth: 640, naturalHeight: 480, complete: true });
  // @ts-expect-error no classifyStream in Node
  clf.classifyStream;
  // @ts-expect-error worker-backed classifiers are browser-only
  await Classifier.load({ worker: true });
  return `${top[0].label} ${px[0].label} ${mine[0].label}`;
}
