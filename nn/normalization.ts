/**
 * Normalisation layers: `batchNorm` (running statistics returned as new state) and
 * `layerNorm`.
 * @module
 */
import { type Array, np, stopGradient } from "../mod.ts";
import type { Layer } from "./layer.ts";

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
