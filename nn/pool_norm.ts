/**
 * Pooling (`maxPool`, `avgPool` over NCHW inputs) and normalisation (`batchNorm` with
 * running statistics returned as new state, `layerNorm`).
 * @module
 */
import { type Array, lax, np, stopGradient } from "../mod.ts";
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

/** Learned scale and offset of a normalisation layer. */
export type NormParams = {
  /** Multiplies the normalised value (initialised to ones). */
  scale: Array;
  /** Added afterwards (initialised to zeros). */
  bias: Array;
};

/** Running statistics of `batchNorm`, per channel. */
export type BatchNormState = {
  /** Running mean. */
  mean: Array;
  /** Running (biased) variance. */
  var: Array;
};

/** Options of `batchNorm`. */
export interface BatchNormOptions {
  /** Weight of the old running statistics in each update (default 0.9, as in Flax/Keras). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalisation over axis 1 (channels of NCHW, features of `[N, F]`). In training it
 * normalises with the batch statistics and returns the updated running statistics as new
 * state (`running = momentum · running + (1 − momentum) · batch`); in evaluation it uses the
 * running statistics and returns the state unchanged. `opts.state` is required.
 *
 * @param opts `momentum` (default 0.9), `eps` (default 1e-5).
 * @returns The layer; params `{ scale, bias }`, state `{ mean, var }`, each `[C]`.
 *
 * @example Train mode returns new running statistics
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { batchNorm } from "@wax/wax/nn";
 * const bn = batchNorm({ momentum: 0.5 });
 * const { params, state } = bn.init(random.key(0), [4, 2]);
 * const x = np.array([[1, 0], [3, 0], [5, 0], [7, 0]]);
 * const [y, next] = bn.apply(params, x, { training: true, state });
 * assert((await next.mean.tolist() as number[])[0] === 2);
 * assert(Math.abs(await y.mean().item()) < 1e-6);
 * ```
 */
export function batchNorm(opts: BatchNormOptions = {}): Layer<NormParams, BatchNormState> {
  const momentum = opts.momentum ?? 0.9;
  const eps = opts.eps ?? 1e-5;
  return {
    init(_key, inputShape) {
      const c = inputShape[1];
      return {
        params: { scale: np.ones([c]), bias: np.zeros([c]) },
        state: { mean: np.zeros([c]), var: np.ones([c]) },
        outputShape: [...inputShape],
      };
    },
    apply({ scale, bias }, x, o = {}) {
      if (!o.state) throw new Error("batchNorm: apply needs opts.state (the state init returned, then each new one)");
      if (x.ndim < 2) throw new Error(`batchNorm: input [${x.shape}] needs a channel axis 1`);
      const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
      const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
      let mean: Array, v: Array, state: BatchNormState;
      if (o.training) {
        mean = np.mean(x, { axis: axes });
        v = np.mean(np.square(x.sub(mean.reshape(bshape))), { axis: axes });
        state = {
          mean: o.state.mean.mul(momentum).add(stopGradient(mean).mul(1 - momentum)),
          var: o.state.var.mul(momentum).add(stopGradient(v).mul(1 - momentum)),
        };
      } else {
        [mean, v, state] = [o.state.mean, o.state.var, o.state];
      }
      const inv = np.rsqrt(v.add(eps)).mul(scale);
      const y = x.sub(mean.reshape(bshape)).mul(inv.reshape(bshape)).add(bias.reshape(bshape));
      return [y, state];
    },
  };
}

/** Options of `layerNorm`. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Layer normalisation over the last axis, with a learned per-feature scale and bias.
 *
 * @param opts `eps` (default 1e-5).
 * @returns The layer; params `{ scale, bias }`, each `[features]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { np, random } from "@wax/wax";
 * import { layerNorm } from "@wax/wax/nn";
 * const ln = layerNorm();
 * const { params } = ln.init(random.key(0), [2, 3]);
 * const y = ln.apply(params, np.array([[1, 2, 3], [10, 20, 30]]));
 * assert(Math.abs(await y.sum().item()) < 1e-5);
 * ```
 */
export function layerNorm(opts: LayerNormOptions = {}): Layer<NormParams, null> {
  const eps = opts.eps ?? 1e-5;
  return {
    init(_key, inputShape) {
      const f = inputShape[inputShape.length - 1];
      return { params: { scale: np.ones([f]), bias: np.zeros([f]) }, state: null, outputShape: [...inputShape] };
    },
    apply({ scale, bias }, x) {
      const mean = np.mean(x, { axis: -1, keepdims: true });
      const v = np.mean(np.square(x.sub(mean)), { axis: -1, keepdims: true });
      return x.sub(mean).mul(np.rsqrt(v.add(eps))).mul(scale).add(bias);
    },
  };
}
