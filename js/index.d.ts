/** Stable error codes carried by every error this package throws (`err.code`). */
export type ErrorCode =
  | 'E_MODEL_FORMAT' | 'E_MODEL_UNSUPPORTED' | 'E_MODEL_INCOMPLETE' | 'E_MODEL_SIZE'
  | 'E_INTEGRITY' | 'E_IMAGE_DECODE' | 'E_INPUT_SIZE' | 'E_IMAGE_TOO_LARGE' | 'E_LABELS'
  | 'E_ARGUMENT' | 'E_IO' | 'E_INTERNAL' | 'E_FREED' | 'E_ABORTED';

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
}

export interface ColdStart { fetchMs: number; compileMs: number; buildMs: number; firstInferenceMs: number; totalMs: number }
export interface InferenceStats { count: number; meanMs: number; p50Ms: number; p95Ms: number; p99Ms: number; lastMs: number }
export interface Stats { coldStart: ColdStart; inference: InferenceStats; memoryBytes: number }

export interface RgbaPixels { data: Uint8Array | Uint8ClampedArray; width: number; height: number }

export type ImageInput =
  | RgbaPixels | ImageData | HTMLImageElement | HTMLVideoElement | HTMLCanvasElement
  | OffscreenCanvas | ImageBitmap | VideoFrame
  /** Encoded JPEG or PNG bytes. */
  | Uint8Array | ArrayBuffer;

export declare class Classifier {
  static load(options?: LoadOptions): Promise<Classifier>;
  classify(input: ImageInput, options?: ClassifyOptions): Promise<Prediction[]>;
  embed(input: ImageInput): Promise<Float32Array>;
  readonly info: ModelInfo;
  stats(): Stats;
  /** Releases the wasm memory this classifier holds; later calls throw `E_FREED`. */
  free(): void;
  /** The same as `free()`. */
  close(): void;
  /** `using clf = await Classifier.load()` frees it at the end of the scope. */
  [Symbol.dispose](): void;
}
export default Classifier;
