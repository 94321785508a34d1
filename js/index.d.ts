// Types of the browser (and bundler) entry: DOM image sources are inputs, and videos stream.
import type { ClassifierOf, ClassifierStatic, CustomClassifierOf, CustomClassifierStatic, PortableInput, StreamOptions } from './api.js';

export type * from './api.js';

export type ImageInput =
  | PortableInput | ImageData | HTMLImageElement | HTMLVideoElement | HTMLCanvasElement
  | OffscreenCanvas | ImageBitmap | VideoFrame;

export interface Classifier extends ClassifierOf<ImageInput> {
  /** Classifies a playing video, one frame in flight (stale frames dropped); `stop()` or `signal` ends it. */
  classifyStream(video: HTMLVideoElement, options: StreamOptions): { stop(): void };
}
export declare const Classifier: ClassifierStatic<Classifier>;
export type CustomClassifier = CustomClassifierOf<ImageInput>;
export declare const CustomClassifier: CustomClassifierStatic<Classifier, CustomClassifier>;
export default Classifier;
