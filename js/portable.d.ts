// Types of the Node and Cloudflare Workers entries: encoded bytes (or RGBA pixels) are the
// inputs (no DOM there); in Node `model` and `labels` may be file paths, in Workers pass the
// model bytes as `{ model }`.
import type { ClassifierOf, ClassifierStatic, CustomClassifierOf, CustomClassifierStatic, PortableInput } from './api.js';

export type * from './api.js';

export type ImageInput = PortableInput;
export type Classifier = ClassifierOf<ImageInput>;
export declare const Classifier: ClassifierStatic<Classifier>;
export type CustomClassifier = CustomClassifierOf<ImageInput>;
export declare const CustomClassifier: CustomClassifierStatic<Classifier, CustomClassifier>;
export default Classifier;
