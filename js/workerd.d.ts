// Types of the workerd entry. Cloudflare Workers: encoded bytes (or RGBA pixels) are the inputs; pass the model bytes as `{ model }`.
import type { ClassifierOf, ClassifierStatic, CustomClassifierOf, CustomClassifierStatic, PortableInput } from './api.js';

export type * from './api.js';

export type ImageInput = PortableInput;
export type Classifier = ClassifierOf<ImageInput>;
export declare const Classifier: ClassifierStatic<Classifier>;
export type CustomClassifier = CustomClassifierOf<ImageInput>;
export declare const CustomClassifier: CustomClassifierStatic<Classifier, CustomClassifier>;
export default Classifier;
