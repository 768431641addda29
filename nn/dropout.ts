/**
 * Inverted dropout, the one layer that draws randomness (from `opts.key`).
 * @module
 */
import { np, random } from "../mod.ts";
import type { Layer } from "./layer.ts";

/**
 * Inverted dropout: in training, zeroes each element with probability `rate` and scales the
 * rest by `1 / (1 - rate)`; outside training it is the identity. Needs `opts.key` in training.
 *
 * @param rate The probability of dropping an element, in [0, 1).
 * @returns The layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { dropout } from "@wax/wax/nn";
 * const d = dropout(0.5);
 * const y = d.apply(null, np.ones([1000]), { training: true, key: random.key(0) });
 * const kept = await y.greater(0).astype("float32").mean().item();
 * assert(kept > 0.45 && kept < 0.55 && (await y.max().item()) === 2);
 * assert((await d.apply(null, np.ones([3])).sum().item()) === 3);
 * ```
 */
export function dropout(rate: number): Layer<null, null> {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
  return {
    init: (_key, inputShape) => ({ params: null, state: null, outputShape: [...inputShape] }),
    apply(_params, x, opts = {}) {
      if (!opts.training || rate === 0) return x;
      if (!opts.key) throw new Error("dropout: training needs a PRNG key; pass apply(params, x, { training, key })");
      const keep = random.uniform(opts.key, x.shape).greater(rate);
      return np.where(keep, x.div(1 - rate), 0);
    },
  };
}
