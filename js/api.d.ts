/** Stable error codes carried by every error this package throws (`err.code`). */
export type ErrorCode =
  | 'E_MODEL_FORMAT' | 'E_MODEL_UNSUPPORTED' | 'E_MODEL_INCOMPLETE' | 'E_MODEL_SIZE'
  | 'E_INTEGRITY' | 'E_IMAGE_DECODE' | 'E_INPUT_SIZE' | 'E_IMAGE_TOO_LARGE' | 'E_LABELS'
  | 'E_ARGUMENT' | 'E_IO' | 'E_INTERNAL' | 'E_FREED' | 'E_ABORTED' | 'E_MODEL_MISMATCH';

export interface MobileNetError extends Error { code: ErrorCode }

/** A URL (in Node also a file path or `file:` URL) or the file's bytes. */
export type ModelSource = string | URL | Uint8Array | ArrayBuffer;

export interface LoadOptions {
  /** URL or bytes of a `.tflite` file, or `[backbone, head]` for a split model. Default: bundled MobileNetV2 1.0/224. */
  model?: ModelSource | ModelSource[];
  /** One label per class (or per output), or the URL (Node: path) of a text file with one per line. */
  labels?: string[] | string | URL;
  /** `sha256-<base64>` of the model file (one per file for a split model); a mismatch throws `E_INTEGRITY`. */
  integrity?: string | string[];
  /**
   * The arithmetic: 'int8' runs the quantized file in 8-bit integers as TFLite does (its outputs
   * land on TFLite's own); 'float32' runs it on dequantized weights. Default: 'int8' for fully
   * quantized MobileNet V1 / V2 files, 'float32' otherwise (V3, float files). Asking for 'int8'
   * on a file without an integer form throws `E_MODEL_UNSUPPORTED`.
   */
  precision?: Precision;
  /**
   * Which wasm build to load, honoured by the first load only: 'relaxed-simd' (fused
   * multiply-add) or 'simd128'. Default: relaxed SIMD where the engine validates it.
   */
  simd?: SimdLevel;
  /**
   * Threads the convolutions are split across (each splits its output rows; the outputs are
   * bit-identical to one thread's), honoured by the first load only. More than 1 needs a
   * cross-origin isolated page (`Cross-Origin-Opener-Policy: same-origin`,
   * `Cross-Origin-Embedder-Policy: require-corp`): the threaded builds run on shared memory with
   * `threads − 1` Web Workers beside the calling thread. Default: `min(4,
   * navigator.hardwareConcurrency)` on such a page, else 1; Node and Workers run 1 (more is
   * `E_ARGUMENT`, as on a page that is not isolated).
   */
  threads?: number;
  /**
   * `false` runs this model's convolutions with burn's own tensor ops instead of the fused SIMD
   * kernels (for measuring them). Default `true`.
   */
  kernels?: boolean;
  /** Aborts the load (fetches included); it then rejects with `E_ABORTED`. */
  signal?: AbortSignal;
  /**
   * Most pixels an input may have once decoded (default and ceiling 89,478,485: 512 MiB at 6
   * bytes a pixel); larger is `E_IMAGE_TOO_LARGE`, decided from the header (or the given size)
   * before pixel memory is allocated. The Worker example sets it to fit 128 MB.
   */
  maxPixels?: number;
  /**
   * 'exact' (default): every JPEG decoded at full size, the reference pipeline's pixels.
   * 'reduced': a JPEG at least four times the side the resize needs is decoded at 1/2, 1/4 or 1/8 of
   * its size (libjpeg's DCT scaling, PIL's draft mode): a 12 MP photo takes 1/16 of the memory.
   */
  decode?: 'exact' | 'reduced';
}

export type SimdLevel = 'relaxed-simd' | 'simd128';

export type Precision = 'int8' | 'float32';

export interface ClassifyOptions { /** A whole number from 1 (beyond the class count: every class). Default 5. */ topK?: number }

export interface Prediction { index: number; label: string; probability: number }

export interface ModelInfo {
  version: 'MobileNetV1' | 'MobileNetV2' | 'MobileNetV3-Small' | 'MobileNetV3-Large';
  widthMultiplier: number;
  resolution: number;
  /** MobileNetV3's minimalistic variant. */
  minimalistic: boolean;
  /** What follows the backbone, e.g. 'GAP → Dense 100 ReLU → Dense 3 → softmax'. */
  head: string;
  numClasses: number;
  parameters: number;
  embeddingSize: number;
  /** How pixels are scaled into the model, e.g. '[0, 255] → [-1, 1]'. */
  inputScaling: string;
  /**
   * Where the labels came from: the load options, the file's metadata, ImageNet's names (for a
   * 1000- or 1001-class output), or 'class N'.
   */
  labelsSource: 'options' | 'metadata' | 'imagenet' | 'numbered';
  sha256: string;
  modelBytes: number;
  quantizationEmulated: boolean;
  /** The arithmetic the model runs in. */
  precision: Precision;
  /**
   * int8 only: 'relaxed-dot' where the products run on the relaxed-SIMD byte dot product (the
   * engine computes it exactly: x86 with AVX-VNNI), 'dot16' on 16-bit products. Same outputs.
   */
  int8Products: 'relaxed-dot' | 'dot16' | null;
  /** The wasm build running this model. */
  simd: SimdLevel;
  /** Threads its convolutions run on (the `threads` load option, or its default). */
  threads: number;
}

export interface ColdStart {
  fetchMs: number; compileMs: number; buildMs: number; firstInferenceMs: number; totalMs: number;
  /** Worker-backed classifiers: starting the worker (its script fetched and run), counted in `totalMs`. */
  workerStartMs?: number;
}
export interface InferenceStats { count: number; meanMs: number; p50Ms: number; p95Ms: number; p99Ms: number; lastMs: number }
export interface Stats {
  coldStart: ColdStart; inference: InferenceStats; memoryBytes: number;
  /** Worker-backed classifiers: requests the worker made since the model loaded (resource timing). */
  network?: { requests: number; bytes: number };
}

export interface RgbaPixels { data: Uint8Array | Uint8ClampedArray; width: number; height: number }

/** Encoded JPEG or PNG bytes, or RGBA pixels: the inputs every environment takes. */
export type PortableInput = RgbaPixels | Uint8Array | ArrayBuffer;

export interface StreamResult { top: Prediction[]; /** The frame's media time, ms. */ timestamp: number; ms: number }
export interface StreamOptions {
  onResult: (result: StreamResult) => void;
  onError?: (error: MobileNetError) => void;
  signal?: AbortSignal;
  topK?: number;
}

/** A loaded model taking inputs of type `I` (the environment's: see each entry's `ImageInput`). */
export interface ClassifierOf<I> {
  classify(input: I, options?: ClassifyOptions): Promise<Prediction[]>;
  embed(input: I): Promise<Float32Array>;
  readonly info: ModelInfo;
  /** Whether this classifier runs in a Web Worker (browser: `load({ worker: true })`). */
  readonly worker: false;
  stats(): Stats;
  /** Releases the wasm memory this classifier holds; later calls throw `E_FREED`. */
  free(): void;
  /** The same as `free()`. */
  close(): void;
  /** `using clf = await Classifier.load()` frees it at the end of the scope. */
  [Symbol.dispose](): void;
}

export interface ClassifierStatic<C> {
  load(options?: LoadOptions): Promise<C>;
}


export interface CustomClassifyOptions {
  /** Classes returned, a whole number from 1. Default: all. */
  topK?: number;
  /** From 0 to 1: below it for the best class, `'unknown'` comes first. Default: none. */
  threshold?: number;
  /** 'knn' (cosine similarity to each class's nearest example) or 'head' (the trained one). Default: the head once trained, else kNN. */
  method?: 'knn' | 'head';
}

export interface CustomPrediction {
  /** A class, or 'unknown' (probability: one minus the best class's). */
  label: string;
  probability: number;
}

export interface AddExampleOptions {
  /** Also keep the mirrored crop's embedding. */
  flip?: boolean;
  /** Also keep a tighter centre crop's embedding (the image 1.25× larger). */
  crop?: boolean;
}

export interface EpochReport { epoch: number; loss: number; accuracy: number }

export interface TrainOptions {
  /** Passes over the examples, 1 to 10000. Default 50. */
  epochs?: number;
  /** Adam's step size. Default 0.001. */
  learningRate?: number;
  /** Weight initialisation and shuffling: the same seed gives the same head. Default 0. */
  seed?: number;
  /** Examples per step. Default 16. */
  batchSize?: number;
  /** Units of one hidden ReLU layer; 0 for a single softmax layer. Default 0. */
  hiddenUnits?: number;
  /** L2 weight decay. Default 0.0001. */
  weightDecay?: number;
  /** Called after each epoch; the page gets turns while training runs. */
  onProgress?: (report: EpochReport) => void;
  /** Stops training between epochs; it then rejects with `E_ABORTED`. */
  signal?: AbortSignal;
}

export interface TrainReport { epochs: number; loss: number; accuracy: number; ms: number }

/** Classes taught on a base classifier from a few examples, on the device. */
export interface CustomClassifierOf<I> {
  /** The base embeds `input` once; the vector is kept under `label`. */
  addExample(input: I, label: string, options?: AddExampleOptions): Promise<void>;
  /** An example from a vector the base's `embed()` returned. */
  addEmbedding(embedding: Float32Array, label: string): void;
  readonly classes: string[];
  readonly trained: boolean;
  readonly vectorCount: number;
  /** Bytes the examples (and the trained head) hold in the wasm memory. */
  readonly memoryBytes: number;
  exampleCount(label: string): number;
  removeClass(label: string): boolean;
  clear(): void;
  classify(input: I, options?: CustomClassifyOptions): Promise<CustomPrediction[]>;
  /** `classify` on a vector the base's `embed()` returned. */
  classifyEmbedding(embedding: Float32Array, options?: CustomClassifyOptions): CustomPrediction[];
  train(options?: TrainOptions): Promise<TrainReport>;
  /** Versioned bytes: the base's sha256, labels, embeddings, trained weights. */
  save(): Uint8Array;
  /** A `.tflite` file: the base's backbone, the trained head, labels in its metadata. */
  exportTflite(): Promise<Uint8Array>;
  free(): void;
  close(): void;
  [Symbol.dispose](): void;
}

export interface CustomClassifierStatic<B, C> {
  create(base: B): Promise<C>;
  /** What `save()` returned; `E_MODEL_MISMATCH` on another base, `E_MODEL_FORMAT` for other bytes. */
  load(base: B, bytes: Uint8Array | ArrayBuffer): Promise<C>;
}
