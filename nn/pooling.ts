/**
 * Pooling layers: `maxPool` and `avgPool` over the spatial axes of NCHW inputs.
 * @module
 */
import { type Array, lax } from "../mod.ts";
import { type Layer, shapeOf, type Size2 } from "./layer.ts";

const pair = (v: Size2): [number, number] => (typeof v === "number" ? [v, v] : v);

/** Options of `maxPool` and `avgPool`. */
export interface PoolOptions {
  /** Stride (default: the window, i.e. non-overlapping windows). */
  stride?: Size2;
  /** "VALID" (default) or "SAME". */
  padding?: "SAME" | "VALID";
}

function pool(op: "max" | "sum", window: Size2, opts: PoolOptions): Layer<null, null> {
  const [kh, kw] = pair(window);
  const [sh, sw] = pair(opts.stride ?? window);
  const run = (x: Array) => {
    const y = lax.reduceWindow(x, op, [1, 1, kh, kw], { strides: [1, 1, sh, sw], padding: opts.padding ?? "VALID" });
    return op === "sum" ? y.div(kh * kw) : y;
  };
  return {
    init: (_key, inputShape) => ({ params: null, state: null, outputShape: shapeOf(run, inputShape) }),
    apply: (_params, x) => run(x),
  };
}

/**
 * Max pooling over the spatial axes of NCHW inputs.
 *
 * @param window Window size, `k` or `[kh, kw]`.
 * @param opts `stride` (default the window), `padding` (default "VALID").
 * @returns The layer.
 *
 * @example 2×2 max pooling
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { maxPool } from "@wax/wax/nn";
 * const x = np.arange(16).astype("float32").reshape(1, 1, 4, 4);
 * const y = maxPool(2).apply(null, x);
 * assert(JSON.stringify(await y.reshape(-1).tolist()) === "[5,7,13,15]");
 * ```
 */
export function maxPool(window: Size2, opts: PoolOptions = {}): Layer<null, null> {
  return pool("max", window, opts);
}

/**
 * Average pooling over the spatial axes of NCHW inputs (padding counts as zeros).
 *
 * @param window Window size, `k` or `[kh, kw]`.
 * @param opts `stride` (default the window), `padding` (default "VALID").
 * @returns The layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np } from "@wax/wax";
 * import { avgPool } from "@wax/wax/nn";
 * const x = np.arange(16).astype("float32").reshape(1, 1, 4, 4);
 * const y = avgPool(2).apply(null, x);
 * assert(JSON.stringify(await y.reshape(-1).tolist()) === "[2.5,4.5,10.5,12.5]");
 * ```
 */
export function avgPool(window: Size2, opts: PoolOptions = {}): Layer<null, null> {
  return pool("sum", window, opts);
}
