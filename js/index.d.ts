// Types of the browser (and bundler) entry: DOM image sources are inputs, and videos stream.
import type { ClassifierOf, CustomClassifierOf, CustomClassifyOptions, CustomPrediction, LoadOptions, PortableInput, StreamOptions } from './api.js';

export type * from './api.js';

export type ImageInput =
  | PortableInput | ImageData | HTMLImageElement | HTMLVideoElement | HTMLCanvasElement
  | OffscreenCanvas | ImageBitmap | VideoFrame;

export interface BrowserLoadOptions extends LoadOptions {
  /**
   * Runs the classifier, and the CustomClassifiers made on it, in a dedicated Web Worker: the
   * same API over messages. DOM sources become an ImageBitmap; ImageBitmaps and VideoFrames are
   * transferred (the caller's copy is detached); bytes and pixels are copied. Default `false`.
   */
  worker?: boolean;
}

export interface Classifier extends ClassifierOf<ImageInput> {
  /** Classifies a playing video, one frame in flight (stale frames dropped); `stop()` or `signal` ends it. */
  classifyStream(video: HTMLVideoElement, options: StreamOptions): { stop(): void };
}

/** A Classifier in a Web Worker; `stats()` is as of its last finished call; `free()` ends the worker. */
export interface WorkerClassifier extends Omit<Classifier, 'worker'> {
  readonly worker: true;
}

export interface ClassifierStatic {
  load(options: BrowserLoadOptions & { worker: true }): Promise<WorkerClassifier>;
  load(options?: BrowserLoadOptions & { worker?: false }): Promise<Classifier>;
  load(options?: BrowserLoadOptions): Promise<Classifier | WorkerClassifier>;
}
export declare const Classifier: ClassifierStatic;
export type CustomClassifier = CustomClassifierOf<ImageInput>;

/**
 * A CustomClassifier on a worker-backed base: what answers synchronously in the page returns a
 * Promise; `classes`, `trained`, `vectorCount`, `memoryBytes`, `exampleCount` are as of the last
 * finished call.
 */
export interface WorkerCustomClassifier extends Omit<CustomClassifier, 'addEmbedding' | 'removeClass' | 'clear' | 'classifyEmbedding' | 'save'> {
  addEmbedding(embedding: Float32Array, label: string): Promise<void>;
  removeClass(label: string): Promise<boolean>;
  clear(): Promise<void>;
  classifyEmbedding(embedding: Float32Array, options?: CustomClassifyOptions): Promise<CustomPrediction[]>;
  save(): Promise<Uint8Array>;
}

export interface CustomClassifierStatic {
  create(base: WorkerClassifier): Promise<WorkerCustomClassifier>;
  create(base: Classifier): Promise<CustomClassifier>;
  /** What `save()` returned; `E_MODEL_MISMATCH` on another base, `E_MODEL_FORMAT` for other bytes. */
  load(base: WorkerClassifier, bytes: Uint8Array | ArrayBuffer): Promise<WorkerCustomClassifier>;
  load(base: Classifier, bytes: Uint8Array | ArrayBuffer): Promise<CustomClassifier>;
}
export declare const CustomClassifier: CustomClassifierStatic;
export default Classifier;
