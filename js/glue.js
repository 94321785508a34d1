// The wasm-bindgen glue of the build that was instantiated: the single-thread glue, or the
// threaded one (its memory shared with its worker threads) where a cross-origin isolated page
// asked for threads. Each glue's classes are bound to its own instance, so the API reaches them
// through here.
import * as single from './mobilenet_wasm.js';

let current = single;

/** The loaded glue module. */
export const glue = () => current;

/** Makes `module` (an instantiated glue) the one the API uses. */
export function useGlue(module) {
  current = module;
}
