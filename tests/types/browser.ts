// A browser consumer of the whole API, checked by `tsc --strict` (tests/node/types.test.js);
// each `@ts-expect-error` line is a wrong call that must not type-check.
import { Classifier, CustomClassifier } from 'mobilenet-wasm';
import type { ErrorCode, LoadOptions, MobileNetError, Prediction, TrainReport } from 'mobilenet-wasm';

export async function main(video: HTMLVideoElement, img: HTMLImageElement, bytes: Uint8Array): Promise<string> {
  const options: LoadOptions = { precision: 'int8', simd: 'relaxed-simd', maxPixels: 4_000_000, decode: 'reduced', signal: new AbortController().signal, threads: 2 };
  const clf = await Classifier.load(options);
  const top: Prediction[] = await clf.classify(img, { topK: 3 });
  const fromBytes = await clf.classify(bytes);
  const vec: Float32Array = await clf.embed(new ImageData(4, 4));
  const { stop } = clf.classifyStream(video, { onResult: (r) => console.log(r.top[0].label, r.timestamp), onError: (e) => console.log(e.code) });
  stop();
  const custom = await CustomClassifier.create(clf);
  await custom.addExample(img, 'cat', { flip: true });
  custom.addEmbedding(vec, 'dog');
  const answer = await custom.classify(video, { topK: 2, threshold: 0.6, method: 'knn' });
  const report: TrainReport = await custom.train({ epochs: 50, learningRate: 0.001, seed: 1, onProgress: (r) => console.log(r.epoch, r.loss) });
  const saved: Uint8Array = custom.save();
  const again = await CustomClassifier.load(clf, saved);
  const tflite: Uint8Array = await again.exportTflite();
  const n: number = custom.exampleCount('cat') + custom.classes.length + tflite.length + report.ms;
  try {
    await Classifier.load({ model: 'https://example.com/model.tflite', integrity: 'sha256-x' });
  } catch (e) {
    const code: ErrorCode = (e as MobileNetError).code;
    console.log(code);
  }
  const threads: number = clf.info.threads;
  void threads;
  // @ts-expect-error topK is a number
  await clf.classify(img, { topK: '5' });
  // @ts-expect-error an unknown precision
  await Classifier.load({ precision: 'int4' });
  // @ts-expect-error an unknown load option
  await Classifier.load({ backend: 'webgpu' });
  // @ts-expect-error threads is a number
  await Classifier.load({ threads: '2' });
  // @ts-expect-error a label is a string
  await custom.addExample(img, 7);
  // @ts-expect-error method is 'knn' or 'head'
  await custom.classify(img, { method: 'svm' });
  // @ts-expect-error onResult is required
  clf.classifyStream(video, {});
  // The same API in a Web Worker; what is synchronous in the page returns a Promise there.
  const remote = await Classifier.load({ worker: true, precision: 'int8' });
  const onWorker: true = remote.worker;
  const remoteTop: Prediction[] = await remote.classify(img);
  remote.classifyStream(video, { onResult: (r) => console.log(r.ms) }).stop();
  const workerStart: number | undefined = remote.stats().coldStart.workerStartMs;
  const theirs = await CustomClassifier.create(remote);
  await theirs.addEmbedding(vec, 'dog');
  const remoteSaved: Uint8Array = await theirs.save();
  const remoteAgain = await CustomClassifier.load(remote, remoteSaved);
  await remoteAgain.clear();
  // @ts-expect-error save() is a Promise on a worker-backed base
  const notBytes: Uint8Array = theirs.save();
  // @ts-expect-error worker is true or false
  await Classifier.load({ worker: 'yes' });
  const onPage: false = clf.worker;
  console.log(onWorker, onPage, remoteTop.length, workerStart, notBytes);
  remote.free();
  clf.free();
  return `${top[0].label} ${fromBytes.length} ${answer[0].label} ${n}`;
}
