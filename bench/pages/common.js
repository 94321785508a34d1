// Shared by every benchmark page: the same 224×224 input, then the runtime is loaded (its
// scripts, wasm and model counted from here), one inference gives the cold start, then warm-up
// and timed single-image inferences. The page reports through window.__bench / __benchError.
const params = new URLSearchParams(location.search);
const runs = Number(params.get('runs') ?? 50);
const warmup = Number(params.get('warmup') ?? 5);

/** Resolves when a classic script has run (UMD builds that set globals). */
export function script(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

/** The benchmark input: the golden tench, centre-cropped to 224×224, as ImageData. */
async function input() {
  const bitmap = await createImageBitmap(await (await fetch('/input.jpg')).blob());
  const side = Math.min(bitmap.width, bitmap.height);
  const canvas = new OffscreenCanvas(224, 224);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, 224, 224);
  return ctx.getImageData(0, 0, 224, 224);
}

/** CHW float input normalised to [-1, 1], for runtimes given a float tensor. */
export function chwFloat(image) {
  const out = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < 224 * 224; i++) {
    for (let c = 0; c < 3; c++) out[c * 224 * 224 + i] = image.data[i * 4 + c] / 127.5 - 1;
  }
  return out;
}

/**
 * `setup(image)` loads the runtime and model and resolves to `infer()`, which runs one
 * inference to the output values and resolves to the index of the best class, or to
 * `{ top, modelMs }` when the runtime also reports the time of its model alone.
 */
export async function bench(setup) {
  try {
    const image = await input();
    const t0 = performance.now();
    const run = await setup(image, params);
    const modelTimes = [];
    const infer = async () => {
      const r = await run();
      if (typeof r === 'number') return r;
      modelTimes.push(r.modelMs);
      return r.top;
    };
    const top = await infer();
    const coldStartMs = performance.now() - t0;
    const downloadBytes = performance.getEntriesByType('resource')
      .filter((e) => e.startTime >= t0)
      .reduce((n, e) => n + e.transferSize, 0);
    for (let i = 0; i < warmup; i++) await infer();
    modelTimes.length = 0;
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await infer();
      times.push(performance.now() - t);
    }
    window.__bench = { coldStartMs, downloadBytes, times, top, modelTimes, note: window.__benchNote, buildMs: window.__benchBuildMs };
  } catch (e) {
    window.__benchError = `${e.message}\n${e.stack ?? ''}`;
  }
}
