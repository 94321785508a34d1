// Agreement with TFLite on the user-style files, the rule the Rust suite applies too: our top-1
// agrees when TFLite gave its class the largest probability (ties included; when all five
// listed classes tie, a sixth tied class is not listed, and agrees when our probability for it
// is that same quantum, to the reference's 6 decimals).
export function agreement(predictions, want) {
  const { top5, probs } = want;
  const best = predictions[0];
  const listed = top5.some((c, i) => c === best.index && probs[i] === probs[0]);
  const tiedBeyond = probs.length === 5 && probs.every((p) => p === probs[0]) && !top5.includes(best.index)
    && Math.abs(best.probability - probs[0]) <= 5e-7;
  let largest = 0;
  for (const [i, c] of top5.entries()) {
    const ours = predictions.find((p) => p.index === c)?.probability ?? 0;
    largest = Math.max(largest, Math.abs(ours - probs[i]));
  }
  return { agrees: listed || tiedBeyond, largest };
}

/** Top-1 agreements needed of 50: 47 for dynamic-range files, 49 otherwise. */
export const needed = (spec) => (spec.quant === 'dynamic' ? 47 : 49);
