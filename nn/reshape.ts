/**
 * Parameter-free shape layers: `flatten` and `reshape` (the batch axis stays first).
 * @module
 */
import { fromFunction, type Layer } from "./layer.ts";

/**
 * Flattens every axis after the batch axis: `[N, ...] -> [N, prod(...)]`.
 *
 * @returns The layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { flatten } from "@wax/wax/nn";
 * const f = flatten();
 * assert(f.init(random.key(0), [2, 3, 4, 4]).outputShape.join() === "2,48");
 * assert(f.apply(null, np.ones([2, 3, 4, 4])).shape.join() === "2,48");
 * ```
 */
export function flatten(): Layer<null, null> {
  return fromFunction((x) => x.reshape(x.shape[0], -1));
}

/**
 * Reshapes every sample: `[N, ...] -> [N, ...shape]` (one entry may be -1).
 *
 * @param shape The per-sample shape (batch axis excluded).
 * @returns The layer.
 *
 * @example The DCGAN generator's projection to feature maps
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { reshape } from "@wax/wax/nn";
 * assert(reshape([64, 7, 7]).apply(null, np.ones([2, 3136])).shape.join() === "2,64,7,7");
 * ```
 */
export function reshape(shape: number[]): Layer<null, null> {
  return fromFunction((x) => x.reshape([x.shape[0], ...shape]));
}
